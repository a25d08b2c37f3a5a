use crate::components::time::{DayRange, Time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{list_audit, AuditFilter};
use crate::{
    auth::Role,
    components::{
        layout::RequireRole,
        pager::{Href, Pager},
    },
};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit log"/>
        <RequireRole role=Role::Admin>
            <Audit/>
        </RequireRole>
    }
}

fn query_string(f: &AuditFilter) -> String {
    Href::new("/audit")
        .opt("actor", f.actor.as_deref())
        .opt("action", f.action.as_deref())
        .opt("from", f.from.as_deref())
        .opt("to", f.to.as_deref())
        .opt("tz", f.tz)
        .opt("tz_to", f.tz_to)
        .opt("before", f.before)
        .opt("after", f.after)
        .build()
}

#[component]
fn Audit() -> impl IntoView {
    let query = use_query_map();
    // The filter lives in the URL: a view can be shared and survives a reload.
    let filter = move || {
        let q = query.read();
        AuditFilter {
            actor: q.get("actor"),
            action: q.get("action"),
            from: q.get("from"),
            to: q.get("to"),
            tz: q.get("tz").and_then(|v| v.parse().ok()),
            tz_to: q.get("tz_to").and_then(|v| v.parse().ok()),
            before: q.get("before").and_then(|v| v.parse().ok()),
            after: q.get("after").and_then(|v| v.parse().ok()),
        }
    };
    let page = Resource::new(filter, list_audit);
    view! {
        <section class="page">
            <h1>"Audit log"</h1>
            // A plain GET form: the filter goes into the URL, and works without JavaScript too.
            <form class="toolbar filters" method="get" action="/audit" role="search" aria-label="Filter the audit log">
                <div class="field inline">
                    <label for="audit-actor">"User"</label>
                    <input id="audit-actor" name="actor" value=move || filter().actor/>
                </div>
                <div class="field inline">
                    <label for="audit-action">"Action"</label>
                    <input id="audit-action" name="action" list="audit-actions" value=move || filter().action/>
                </div>
                <DayRange id="audit" from=Signal::derive(move || filter().from) to=Signal::derive(move || filter().to)/>
                <button type="submit" class="btn">"Filter"</button>
                <a class="btn ghost" href="/audit">"Clear"</a>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(p) => {
                            let f = filter();
                            let newer = p.newer.map(|n| query_string(&AuditFilter { before: None, after: Some(n), ..f.clone() }));
                            let older = p.older.map(|o| query_string(&AuditFilter { before: Some(o), after: None, ..f.clone() }));
                            view! {
                                <datalist id="audit-actions">
                                    {p.actions.iter().map(|a| view! { <option value=a.clone()/> }).collect_view()}
                                </datalist>
                                {if p.entries.is_empty() {
                                    view! { <p class="empty">"No entries match."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="table-wrap">
                                            <table>
                                                <thead>
                                                    <tr>
                                                        <th scope="col">"When"</th>
                                                        <th scope="col">"User"</th>
                                                        <th scope="col">"Action"</th>
                                                        <th scope="col">"Target"</th>
                                                        <th scope="col">"Outcome"</th>
                                                        <th scope="col">"Detail"</th>
                                                    </tr>
                                                </thead>
                                                <tbody>
                                                    {p.entries.into_iter().map(|e| view! {
                                                        <tr>
                                                            <td class="nowrap"><Time ms=e.at relative=true/></td>
                                                            <td>{e.actor.unwrap_or_else(|| "—".into())}</td>
                                                            <td><code>{e.action}</code></td>
                                                            <td>{e.target.unwrap_or_default()}</td>
                                                            <td><span class=format!("badge outcome-{}", e.outcome)>{e.outcome.clone()}</span></td>
                                                            <td>{e.detail.unwrap_or_default()}</td>
                                                        </tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                        </div>
                                    }.into_any()
                                }}
                                <Pager newer older/>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

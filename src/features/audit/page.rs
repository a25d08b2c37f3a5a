use crate::components::time::{tz_field, Time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{list_audit, AuditFilter};
use crate::{
    auth::Role,
    components::{format::urlencode, layout::RequireRole},
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
    let mut parts = vec![];
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencode(&v)));
        }
    };
    push("actor", f.actor.clone());
    push("action", f.action.clone());
    push("from", f.from.clone());
    push("to", f.to.clone());
    push("tz", f.tz.map(|t| t.to_string()));
    push("before", f.before.map(|b| b.to_string()));
    push("after", f.after.map(|a| a.to_string()));
    format!("/audit?{}", parts.join("&"))
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
            before: q.get("before").and_then(|v| v.parse().ok()),
            after: q.get("after").and_then(|v| v.parse().ok()),
        }
    };
    let page = Resource::new(filter, list_audit);
    let tz = tz_field();
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
                <div class="field inline">
                    <label for="audit-from">"From"</label>
                    <input id="audit-from" name="from" type="date" value=move || filter().from/>
                </div>
                <div class="field inline">
                    <label for="audit-to">"To"</label>
                    <input id="audit-to" name="to" type="date" value=move || filter().to/>
                </div>
                <input type="hidden" name="tz" value=move || tz.get()/>
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
                                <nav class="pager" aria-label="Pages">
                                    {newer.map(|href| view! { <a class="btn" href=href>"← Newer"</a> })}
                                    {older.map(|href| view! { <a class="btn" href=href>"Older →"</a> })}
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

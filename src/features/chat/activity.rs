//! The Chat activity screen (operators): every chat turn from the ledger, filtered and paged,
//! a chart of turns and failures over time, and the persona blocks the journal still holds,
//! with "detach now".

use crate::components::time::{DayRange, Time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{chat_activity, ChatDetachNow};
use super::model::{ActivityFilter, JournalRow, LedgerEntry, OUTCOMES};
use crate::{
    auth::Role,
    components::{
        chart::BarChart,
        confirm::ConfirmButton,
        layout::RequireRole,
        pager::{Href, Pager},
        toast::toast_outcome,
    },
};

#[component]
pub fn ActivityPage() -> impl IntoView {
    view! {
        <Title text="Chat activity"/>
        <RequireRole role=Role::Operator>
            <Activity/>
        </RequireRole>
    }
}

fn query_string(f: &ActivityFilter) -> String {
    Href::new("/activity")
        .opt("agent", f.agent.as_deref())
        .opt("person", f.person)
        .opt("user", f.user.as_deref())
        .opt("outcome", f.outcome.as_deref())
        .opt("from", f.from.as_deref())
        .opt("to", f.to.as_deref())
        .opt("tz", f.tz)
        .opt("tz_to", f.tz_to)
        .opt("before", f.before)
        .opt("after", f.after)
        .build()
}

/// `850 ms`, `12.4 s`, `3 min 5 s`.
fn duration(ms: i64) -> String {
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

fn label(outcome: &str) -> &'static str {
    match outcome {
        "complete" => "Complete",
        "cancelled" => "Cancelled",
        "stopped" => "Stopped",
        "timed_out" => "Timed out",
        "failed" => "Failed",
        "interrupted" => "Interrupted",
        "running" => "Running",
        _ => "Other",
    }
}

fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "complete" => "badge outcome-ok",
        "failed" | "timed_out" | "interrupted" => "badge outcome-failed",
        "running" => "badge",
        _ => "badge outcome-denied",
    }
}

#[component]
fn Activity() -> impl IntoView {
    let query = use_query_map();
    // The filter lives in the URL: a view can be shared and survives a reload.
    let filter = move || {
        let q = query.read();
        ActivityFilter {
            agent: q.get("agent"),
            person: q.get("person").and_then(|v| v.parse().ok()),
            user: q.get("user"),
            outcome: q.get("outcome"),
            from: q.get("from"),
            to: q.get("to"),
            tz: q.get("tz").and_then(|v| v.parse().ok()),
            tz_to: q.get("tz_to").and_then(|v| v.parse().ok()),
            before: q.get("before").and_then(|v| v.parse().ok()),
            after: q.get("after").and_then(|v| v.parse().ok()),
        }
    };
    let detach = ServerAction::<ChatDetachNow>::new();
    toast_outcome(detach.value(), |done: &bool| {
        if *done {
            "The block is detached.".to_string()
        } else {
            "That block was already detached.".to_string()
        }
    });
    let page = Resource::new(
        move || (filter(), detach.version().get()),
        |(f, _)| chat_activity(f),
    );
    let selected = move |a: Option<String>, b: &str| a.as_deref() == Some(b);
    view! {
        <section class="page">
            <h1>"Chat activity"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading the chat activity…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(p) => {
                            let f = filter();
                            let newer = p.newer.map(|n| query_string(&ActivityFilter { before: None, after: Some(n), ..f.clone() }));
                            let older = p.older.map(|o| query_string(&ActivityFilter { before: Some(o), after: None, ..f.clone() }));
                            let (fa, fu, fo) = (f.agent.clone(), f.user.clone(), f.outcome.clone());
                            view! {
                                // A plain GET form: the filter goes into the URL, and works without JavaScript too.
                                <form class="toolbar filters" method="get" action="/activity" role="search" aria-label="Filter the chat activity">
                                    <div class="field inline">
                                        <label for="act-agent">"Agent"</label>
                                        <select id="act-agent" name="agent">
                                            <option value="">"Any"</option>
                                            {p.agents.iter().map(|a| view! { <option value=a.clone() selected=selected(fa.clone(), a)>{a.clone()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field inline">
                                        <label for="act-person">"Person"</label>
                                        <select id="act-person" name="person">
                                            <option value="">"Any"</option>
                                            {p.persons.iter().map(|(id, name)| view! { <option value=id.to_string() selected=f.person == Some(*id)>{name.clone()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field inline">
                                        <label for="act-user">"User"</label>
                                        <select id="act-user" name="user">
                                            <option value="">"Any"</option>
                                            {p.users.iter().map(|u| view! { <option value=u.clone() selected=selected(fu.clone(), u)>{u.clone()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field inline">
                                        <label for="act-outcome">"Outcome"</label>
                                        <select id="act-outcome" name="outcome">
                                            <option value="">"Any"</option>
                                            {OUTCOMES.iter().map(|o| view! { <option value=*o selected=selected(fo.clone(), o)>{label(o)}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <DayRange id="act" from=f.from.clone() to=f.to.clone()/>
                                    <button type="submit" class="btn">"Filter"</button>
                                    <a class="btn ghost" href="/activity">"Clear"</a>
                                </form>
                                <BarChart bars=p.chart what="turns"/>
                                <Journal rows=p.journal detach/>
                                <h2>"Turns"</h2>
                                {if p.entries.is_empty() {
                                    view! { <p class="empty">"No chat turns match."</p> }.into_any()
                                } else {
                                    view! { <Turns entries=p.entries/> }.into_any()
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

/// The journal: persona blocks attached right now, by a running turn or left by a failed
/// detach, with "detach now" for the stuck ones.
#[component]
fn Journal(rows: Vec<JournalRow>, detach: ServerAction<ChatDetachNow>) -> impl IntoView {
    view! {
        <h2>"Blocks attached now"</h2>
        {if rows.is_empty() {
            view! { <p class="empty">"No persona block is attached by the chat right now."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Since"</th>
                                <th scope="col">"Agent"</th>
                                <th scope="col">"Person"</th>
                                <th scope="col">"Block"</th>
                                <th scope="col">"State"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let who = r.person.clone().unwrap_or_else(|| "a deleted person".into());
                                let turn_id = r.turn_id.clone();
                                view! {
                                    <tr>
                                        <td class="nowrap"><Time ms=r.since relative=true/></td>
                                        <td><a href=format!("/agents/{}", r.agent_id)><code>{r.agent_id.clone()}</code></a></td>
                                        <td>{who.clone()}</td>
                                        <td><code>{r.block_id.clone()}</code></td>
                                        <td>{if r.running {
                                            view! { <span class="badge">"In a turn"</span> }.into_any()
                                        } else {
                                            view! { <span class="badge outcome-failed">"Stuck: the detach failed"</span> }.into_any()
                                        }}</td>
                                        <td>
                                            <ConfirmButton
                                                label="Detach now"
                                                aria_label=format!("Detach the persona block of {who} from {}", r.agent_id)
                                                title="Detach this persona block now?"
                                                message=format!("The dashboard waits for the agent to be free, detaches {who}'s block from it and clears the journal entry. The block itself stays.")
                                                confirm_label="Detach"
                                                disabled=Signal::derive(move || r.running || detach.pending().get())
                                                on_confirm=Callback::new(move |_| {
                                                    detach.dispatch(ChatDetachNow { turn_id: turn_id.clone() });
                                                })
                                            />
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn Turns(entries: Vec<LedgerEntry>) -> impl IntoView {
    let flag = |v: Option<String>| match v.as_deref() {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(s @ ("attached" | "detached")) => {
            view! { <span class="badge outcome-ok">{s.to_string()}</span> }.into_any()
        }
        Some("already") => view! { <span class="badge">"already attached"</span> }.into_any(),
        Some("skipped") => {
            view! { <span class="badge outcome-denied">"skipped (lease lost)"</span> }.into_any()
        }
        Some(s) => view! { <span class="badge outcome-failed">{s.to_string()}</span> }.into_any(),
    };
    view! {
        <div class="table-wrap">
            <table class="ledger">
                <thead>
                    <tr>
                        <th scope="col">"Queued"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Person"</th>
                        <th scope="col">"Agent"</th>
                        <th scope="col">"Waited"</th>
                        <th scope="col">"Took"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Attach"</th>
                        <th scope="col">"Detach"</th>
                        <th scope="col">"Tokens"</th>
                        <th scope="col">"Run"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|e| {
                        let outcome = e.outcome.clone().unwrap_or_else(|| "running".into());
                        view! {
                            <tr data-turn=e.turn_id.clone()>
                                <td class="nowrap"><Time ms=e.queued_at relative=true/></td>
                                <td>{e.user.clone()}</td>
                                <td><a href=format!("/persons/{}", e.person_id)>{e.person.clone()}</a></td>
                                <td><a href=format!("/agents/{}", e.agent_id)><code>{e.agent_id.clone()}</code></a></td>
                                <td class="nowrap">{e.wait_ms.map(duration).unwrap_or_else(|| "—".into())}</td>
                                <td class="nowrap">{e.run_ms.map(duration).unwrap_or_else(|| "—".into())}</td>
                                <td class="outcome">
                                    <span class=outcome_class(&outcome)>{label(&outcome)}</span>
                                    {e.background.then(|| view! { <span class="badge">"background"</span> })}
                                    {e.reason.clone().map(|r| view! { <div class="hint">{r}</div> })}
                                </td>
                                <td>{flag(e.attach.clone())}</td>
                                <td>{flag(e.detach.clone())}</td>
                                <td class="nowrap">{e.total_tokens.map(|t| t.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td>{e.run_id.clone().map(|r| view! { <code class="muted">{r}</code> })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_400), "12.4 s");
        assert_eq!(duration(185_000), "3 min 5 s");
    }

    #[test]
    fn the_filter_round_trips_through_the_url() {
        let f = ActivityFilter {
            agent: Some("agent-1".into()),
            person: Some(7),
            outcome: Some("timed_out".into()),
            before: Some(40),
            ..Default::default()
        };
        assert_eq!(
            query_string(&f),
            "/activity?agent=agent-1&person=7&outcome=timed_out&before=40"
        );
    }
}

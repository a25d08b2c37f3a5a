//! The Overview: the first screen after sign-in, where anything wrong shows first. One card per
//! source, each loading on its own: the Letta card is fetched by the browser after the page
//! arrives (a slow Letta never holds the page), the database cards come with the page.
//!
//! The one call into another feature: the operators' "Verify all" button starts the persons
//! feature's job through its server function.

use crate::components::time::Time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::api::*;
use crate::{
    auth::Role,
    components::{chart::BarChart, format::urlencode, layout::use_user, toast::toast_outcome},
    features::persons::api::StartVerifyAll,
};

#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_user();
    let operator = user.role >= Role::Operator;
    let admin = user.role >= Role::Admin;
    view! {
        <Title text="Overview"/>
        <section class="page overview">
            <h1>"Overview"</h1>
            <p class="muted">
                "Signed in as " <strong>{user.username.clone()}</strong> " (" {user.role.label()} ")."
            </p>
            <div class="cards">
                <LettaCardView/>
                <PersonsCardView operator/>
                <ChatCardView/>
                {operator.then(|| view! { <AuditCardView admin/> })}
            </div>
        </section>
    }
}

/// A card: its heading, and its content or its own loading and error states.
#[component]
fn Card(id: &'static str, #[prop(into)] title: String, children: Children) -> impl IntoView {
    let heading = format!("{id}-title");
    view! {
        <section class="card" id=id aria-labelledby=heading.clone()>
            <h2 id=heading.clone()>{title}</h2>
            {children()}
        </section>
    }
}

fn failed(e: crate::error::AppError) -> AnyView {
    view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()
}

/// A number that links to the screen that explains it.
fn stat(value: String, label: &'static str, href: Option<String>) -> impl IntoView {
    view! {
        <div class="stat">
            {match href {
                Some(href) => view! { <a class="stat-value" href=href aria-label=format!("{value} {label}")>{value.clone()}</a> }.into_any(),
                None => view! { <span class="stat-value">{value}</span> }.into_any(),
            }}
            <span class="stat-label">{label}</span>
        </div>
    }
}

#[component]
fn LettaCardView() -> impl IntoView {
    let operator = use_user().role >= Role::Operator;
    let card = LocalResource::new(overview_letta);
    view! {
        <Card id="card-letta" title="Letta server">
            <Suspense fallback=|| view! { <p class="loading">"Reading the Letta server…"</p> }>
                {move || Suspend::new(async move {
                    let settings = move || operator.then(|| view! { <p><A href="/settings">"Check the connection settings"</A></p> });
                    match card.await {
                        Err(e) => failed(e),
                        Ok(LettaCard::NotConfigured) => view! {
                            <p><span class="badge outcome-denied">"Not set up"</span>" The dashboard has no Letta server yet."</p>
                            {settings()}
                        }.into_any(),
                        Ok(LettaCard::Unreachable { message }) => view! {
                            <p><span class="badge outcome-failed">"Unreachable"</span></p>
                            <p class="form-error" role="alert">{message}</p>
                            {settings()}
                        }.into_any(),
                        Ok(LettaCard::Connected(c)) => view! {
                            <p>
                                <span class="badge outcome-ok">"Connected"</span>
                                " " <strong>{c.host.clone()}</strong>
                                {format!(" · Letta {} · {} ms", c.version, c.latency_ms)}
                            </p>
                            <div class="stats">
                                {stat(c.agents.to_string(), "agents", Some("/agents".into()))}
                                {c.identities.map(|n| stat(n.to_string(), "identities", Some("/identities".into())))}
                                {c.blocks.map(|n| stat(n.to_string(), "memory blocks", None))}
                            </div>
                            <p class="hint">"Read " <Time ms=c.read_at relative=true/></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </Card>
    }
}

#[component]
fn PersonsCardView(operator: bool) -> impl IntoView {
    let card = Resource::new(|| (), |_| overview_persons());
    let verify = ServerAction::<StartVerifyAll>::new();
    toast_outcome(
        verify.value(),
        |p: &crate::features::persons::api::VerifyProgress| {
            format!(
                "Verifying {} persons: the Persons page shows the progress.",
                p.total
            )
        },
    );
    view! {
        <Card id="card-persons" title="Persons">
            <Suspense fallback=|| view! { <p class="loading">"Counting persons…"</p> }>
                {move || Suspend::new(async move {
                    match card.await {
                        Err(e) => failed(e),
                        Ok(c) => view! {
                            <div class="stats">
                                {stat(c.total.to_string(), "persons", Some("/persons".into()))}
                                <div class="stat" class:bad={c.problems > 0}>
                                    <a class="stat-value" href="/persons?problems=1" aria-label=format!("{} with problems", c.problems)>{c.problems.to_string()}</a>
                                    <span class="stat-label">"with problems"</span>
                                </div>
                                {stat(c.unchecked.to_string(), "never checked", None)}
                            </div>
                            <p class="hint">{match c.last_checked {
                                Some(at) => view! { "Last checked " <Time ms=at relative=true/> }.into_any(),
                                None => "Never checked yet.".into_any(),
                            }}</p>
                            {(!c.problem_list.is_empty()).then(|| view! {
                                <ul class="plain">
                                    {c.problem_list.iter().map(|p| view! {
                                        <li>
                                            <a href=format!("/persons/{}", p.id)>{p.username.clone()}</a>
                                            " " <span class="badge outcome-failed">{p.health.clone()}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            })}
                        }.into_any(),
                    }
                })}
            </Suspense>
            {operator.then(|| view! {
                <div class="actions left">
                    <button type="button" class="btn" disabled=move || verify.pending().get()
                        on:click=move |_| { verify.dispatch(StartVerifyAll {}); }>
                        {move || if verify.pending().get() { "Starting…" } else { "Verify all" }}
                    </button>
                </div>
            })}
        </Card>
    }
}

#[component]
fn ChatCardView() -> impl IntoView {
    let card = Resource::new(|| (), |_| overview_chat());
    view! {
        <Card id="card-chat" title="Chat right now">
            <Suspense fallback=|| view! { <p class="loading">"Reading the chat queues…"</p> }>
                {move || Suspend::new(async move {
                    match card.await {
                        Err(e) => failed(e),
                        Ok(c) => view! {
                            {if c.queues.is_empty() {
                                view! { <p class="empty">"No chat turn is running."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="plain">
                                        {c.queues.iter().map(|q| view! {
                                            <li>
                                                <a href=format!("/agents/{}", q.agent_id)><code>{q.agent_id.clone()}</code></a>
                                                {format!(": {} running, {} waiting", q.running, q.waiting)}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                            {c.ops.map(|ops| view! { <ChatOpsView ops/> })}
                            <h3>"Your recent chats"</h3>
                            {if c.mine.is_empty() {
                                view! { <p class="empty">"You have not chatted yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="plain">
                                        {c.mine.iter().map(|m| view! {
                                            <li>
                                                <a href=format!("/chat?agent={}&person={}", urlencode(&m.agent_id), m.person_id)>
                                                    {format!("{} on {}", m.person, m.agent_id)}
                                                </a>
                                                " " <span class="muted"><Time ms=m.at relative=true/></span>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }.into_any(),
                    }
                })}
            </Suspense>
        </Card>
    }
}

#[component]
fn ChatOpsView(ops: ChatOps) -> impl IntoView {
    let (day_turns, day_failed) = ops.day.totals();
    let (week_turns, week_failed) = ops.week.totals();
    let since = |bars: &crate::components::chart::Bars| bars.when(0)[..10].to_string();
    let (day_from, week_from) = (since(&ops.day), since(&ops.week));
    view! {
        <div class="stats">
            {stat(ops.attached.to_string(), "blocks attached", Some("/activity".into()))}
            <div class="stat" class:bad={ops.stuck > 0}>
                <a class="stat-value" href="/activity" aria-label=format!("{} stuck detaches", ops.stuck)>{ops.stuck.to_string()}</a>
                <span class="stat-label">"stuck detaches"</span>
            </div>
            {stat(format!("{day_turns} / {day_failed}"), "turns / failed, 24 h", Some(format!("/activity?from={day_from}")))}
            {stat(format!("{week_turns} / {week_failed}"), "turns / failed, 7 days", Some(format!("/activity?from={week_from}")))}
        </div>
        <div class="chart-pair">
            <div>
                <h3 class="chart-title">"Last 24 hours"</h3>
                <BarChart bars=ops.day what="turns"/>
            </div>
            <div>
                <h3 class="chart-title">"Last 7 days"</h3>
                <BarChart bars=ops.week what="turns"/>
            </div>
        </div>
        <h3>"Last failed turns"</h3>
        {if ops.failures.is_empty() {
            view! { <p class="empty">"No failed turns."</p> }.into_any()
        } else {
            view! {
                <ul class="plain failures">
                    {ops.failures.into_iter().map(|f| view! {
                        <li>
                            <span class="muted"><Time ms=f.at relative=true/></span>
                            {format!(" {} as {} on {}: ", f.user, f.person, f.agent_id)}
                            <span class="badge outcome-failed">{f.outcome.clone()}</span>
                            " " {f.reason.clone().unwrap_or_default()}
                        </li>
                    }).collect_view()}
                </ul>
                <p><a href="/activity?outcome=failed">"All failed turns"</a></p>
            }.into_any()
        }}
    }
}

#[component]
fn AuditCardView(admin: bool) -> impl IntoView {
    let card = Resource::new(|| (), |_| overview_audit());
    view! {
        <Card id="card-audit" title="Recent activity">
            <Suspense fallback=|| view! { <p class="loading">"Reading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    match card.await {
                        Err(e) => failed(e),
                        Ok(lines) if lines.is_empty() => view! { <p class="empty">"Nothing recorded yet."</p> }.into_any(),
                        Ok(lines) => view! {
                            <ul class="plain audit-lines">
                                {lines.into_iter().map(|l| {
                                    let who = l.actor.clone().unwrap_or_else(|| "—".into());
                                    let text = format!("{who}: {}", l.action);
                                    view! {
                                        <li>
                                            <span class="muted"><Time ms=l.at relative=true/></span> " "
                                            {if admin {
                                                let href = format!(
                                                    "/audit?actor={}&action={}",
                                                    urlencode(l.actor.as_deref().unwrap_or("")),
                                                    urlencode(&l.action)
                                                );
                                                view! { <a href=href>{text}</a> }.into_any()
                                            } else {
                                                view! { <span>{text}</span> }.into_any()
                                            }}
                                            {l.target.clone().map(|t| view! { " " <code>{t}</code> })}
                                            " " <span class=format!("badge outcome-{}", l.outcome)>{l.outcome.clone()}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {admin.then(|| view! { <p><a href="/audit">"The whole audit log"</a></p> })}
                        }.into_any(),
                    }
                })}
            </Suspense>
        </Card>
    }
}

//! The scenarios list (`/chat/scenarios`) and one scenario (`/chat/scenarios/:id`, `new` for a
//! new one): its editor, Run (with an agent picker when it has no agent of its own), the runs,
//! a run's steps while it goes, and two runs side by side.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::api::*;
use super::model::*;
use crate::{
    auth::Role,
    components::{
        confirm::ConfirmButton,
        diff::{diff, Line},
        field::{error_of, FormAlert, FormCtl, TextField},
        format::urlencode,
        layout::RequireRole,
        time::Time,
        toast::use_toasts,
    },
    error::AppError,
    features::chat::api::{chat_agents, chat_persons},
};

#[component]
pub fn ScenariosPage() -> impl IntoView {
    view! {
        <Title text="Chat scenarios"/>
        <RequireRole role=Role::Staff>
            <ScenarioList/>
        </RequireRole>
    }
}

#[component]
pub fn ScenarioPage() -> impl IntoView {
    view! {
        <Title text="Chat scenario"/>
        <RequireRole role=Role::Staff>
            <ScenarioView/>
        </RequireRole>
    }
}

/// The badge class of a run or step status.
fn status_class(status: &str) -> &'static str {
    match status {
        "passed" => "badge ok",
        "failed" | "error" | "interrupted" => "badge bad",
        _ => "badge warn",
    }
}

fn download_href(json: &str) -> String {
    format!("data:application/json;charset=utf-8,{}", urlencode(json))
}

#[component]
fn ScenarioList() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let reload = RwSignal::new(0u32);
    let list = Resource::new(
        move || (search.get(), reload.get()),
        |(q, _)| list_scenarios(q),
    );
    let exported = RwSignal::new(None::<Result<String, AppError>>);
    let export_all = move |_| {
        spawn_local(async move { exported.set(Some(export_scenarios(None).await)) });
    };
    view! {
        <section class="page scenarios">
            <p><a href="/chat">"← Chat"</a></p>
            <div class="page-head">
                <h1>"Chat scenarios"</h1>
                <div class="row-actions">
                    <button type="button" class="btn" on:click=export_all>"Export all"</button>
                    <a class="btn primary" href="/chat/scenarios/new">"New scenario"</a>
                </div>
            </div>
            <p class="muted">
                "A scenario is a named list of steps, each a person and a message, sent to an agent as ordinary chat turns. Runs are kept, so the next run after a change to the agent shows what changed in its answers."
            </p>
            {move || exported.get().map(|r| match r {
                Ok(json) => view! { <ExportBox json/> }.into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
            <div class="toolbar" role="search">
                <div class="field inline">
                    <label for="scenario-search">"Name contains"</label>
                    <input id="scenario-search" type="search"
                        prop:value=move || search.get()
                        on:input=move |ev| search.set(event_target_value(&ev))/>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading scenarios…"</p> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="empty">"No scenarios yet. Create the first with “New scenario”, or import a file below."</p>
                    }.into_any(),
                    Ok(rows) => view! { <ScenarioTable rows/> }.into_any(),
                })}
            </Transition>
            <ImportCard on_done=Callback::new(move |_| reload.update(|n| *n += 1))/>
        </section>
    }
}

#[component]
fn ScenarioTable(rows: Vec<ScenarioSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="scenario-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Agent"</th>
                        <th scope="col" class="num">"Steps"</th>
                        <th scope="col">"Owner"</th>
                        <th scope="col">"Last run"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|s| view! {
                        <tr data-testid="scenario-row">
                            <td><a href=format!("/chat/scenarios/{}", s.id)>{s.name}</a></td>
                            <td>{match s.agent_id {
                                Some(a) => view! { <code>{a}</code> }.into_any(),
                                None => view! { <span class="muted">"picked at each run"</span> }.into_any(),
                            }}</td>
                            <td class="num">{s.steps}</td>
                            <td>{s.owner}</td>
                            <td>{match (s.last_status, s.last_run_at) {
                                (Some(st), Some(at)) => view! {
                                    <span class=status_class(&st)>{st.clone()}</span>" "
                                    <span class="muted"><Time ms=at relative=true/></span>
                                }.into_any(),
                                _ => view! { <span class="muted">"never"</span> }.into_any(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// An export's JSON, to copy or download.
#[component]
fn ExportBox(json: String) -> impl IntoView {
    let href = download_href(&json);
    view! {
        <section class="card export" aria-label="Export">
            <div class="card-head">
                <h2>"Export"</h2>
                <a class="btn" href=href download="scenarios.json">"Download scenarios.json"</a>
            </div>
            <label for="scenario-export" class="visually-hidden">"Exported scenarios (JSON)"</label>
            <textarea id="scenario-export" class="mono" rows="8" readonly prop:value=json></textarea>
        </section>
    }
}

#[component]
fn ImportCard(on_done: Callback<()>) -> impl IntoView {
    let json = RwSignal::new(String::new());
    let import = ServerAction::<ImportScenarios>::new();
    let toasts = use_toasts();
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| match import.value().get() {
        Some(Ok(report)) => {
            let names: Vec<String> = report.created.iter().map(|s| s.name.clone()).collect();
            toasts.success(format!(
                "Imported {} scenario(s): {}",
                names.len(),
                names.join(", ")
            ));
            json.set(String::new());
            error.set(None);
            on_done.run(());
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    view! {
        <details class="card import">
            <summary>"Import scenarios from JSON"</summary>
            <form on:submit=move |ev| {
                ev.prevent_default();
                import.dispatch(ImportScenarios { json: json.get_untracked() });
            }>
                <div class="field" class:invalid=move || error.get().is_some()>
                    <label for="scenario-import">"A file from “Export”: persons by username, the same as on this dashboard"</label>
                    <textarea id="scenario-import" class="mono" rows="8"
                        aria-describedby="scenario-import-err"
                        prop:value=move || json.get()
                        on:input=move |ev| json.set(event_target_value(&ev))></textarea>
                    <p class="field-error" id="scenario-import-err" role="alert">{move || error.get()}</p>
                </div>
                <div class="actions">
                    <button type="submit" class="btn primary" disabled=import.pending()>
                        {move || if import.pending().get() { "Importing…" } else { "Import" }}
                    </button>
                </div>
            </form>
        </details>
    }
}

// ---- one scenario ---------------------------------------------------------------------------

#[component]
fn ScenarioView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, |id| async move {
        match id.as_str() {
            "new" => Ok(None),
            other => match other.parse::<i64>() {
                Ok(n) => get_scenario(n).await.map(Some),
                Err(_) => Err(AppError::NotFound("No such scenario.".into())),
            },
        }
    });
    view! {
        <section class="page scenario">
            <p><a href="/chat/scenarios">"← All scenarios"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the scenario…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(e) => view! {
                            <h1>"Scenario"</h1>
                            <p class="form-error" role="alert">{e.to_string()}</p>
                        }.into_any(),
                        Ok(None) => view! {
                            <h1>"New scenario"</h1>
                            <Editor initial=None/>
                        }.into_any(),
                        Ok(Some(d)) => view! { <ScenarioScreen detail=d/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ScenarioScreen(detail: ScenarioDetail) -> impl IntoView {
    let id = detail.id;
    let fixed_agent = detail.agent_id.clone();
    let runs_tick = RwSignal::new(0u32);
    let selected = RwSignal::new(None::<i64>);
    let exported = RwSignal::new(None::<Result<String, AppError>>);
    let export = move |_| {
        spawn_local(async move { exported.set(Some(export_scenarios(Some(id)).await)) });
    };
    let can_edit = detail.can_edit;
    view! {
        <div class="page-head">
            <h1>{detail.name.clone()}</h1>
            <div class="row-actions">
                <button type="button" class="btn" on:click=export>"Export"</button>
            </div>
        </div>
        <p class="muted">
            {format!("By {} · ", detail.owner)}
            {match &detail.agent_id {
                Some(a) => format!("always on agent {a}"),
                None => "the agent is picked at each run".to_string(),
            }}
        </p>
        {move || exported.get().map(|r| match r {
            Ok(json) => view! { <ExportBox json/> }.into_any(),
            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
        <div class="scenario-grid">
            <RunCard id fixed_agent on_started=Callback::new(move |run: RunSummary| {
                selected.set(Some(run.id));
                runs_tick.update(|n| *n += 1);
            })/>
            <RunsCard id tick=runs_tick selected/>
        </div>
        {move || selected.get().map(|run_id| view! { <RunView run_id on_change=Callback::new(move |_| runs_tick.update(|n| *n += 1))/> })}
        <CompareCard id tick=runs_tick/>
        {if can_edit {
            view! {
                <section class="card" aria-labelledby="scenario-edit-h">
                    <h2 id="scenario-edit-h">"Edit"</h2>
                    <Editor initial=Some(detail.clone())/>
                </section>
            }.into_any()
        } else {
            view! { <StepsReadOnly steps=detail.steps.clone()/> }.into_any()
        }}
    }
}

#[component]
fn StepsReadOnly(steps: Vec<StepView>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="scenario-steps-h">
            <h2 id="scenario-steps-h">"Steps"</h2>
            <p class="muted">"Only its owner or an operator may change this scenario."</p>
            <ol class="scenario-steps">
                {steps.into_iter().map(|s| view! {
                    <li>
                        <strong>{s.person}</strong>
                        <div class="msg-text">{s.text}</div>
                        <ul class="checks">
                            {s.expect.into_iter().map(|e| view! { <li>{format!("{}: {}", e.kind.label(), e.text)}</li> }).collect_view()}
                        </ul>
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

/// Run, with the agent picker when the scenario has no agent of its own.
#[component]
fn RunCard(
    id: i64,
    fixed_agent: Option<String>,
    on_started: Callback<RunSummary>,
) -> impl IntoView {
    let agent = RwSignal::new(String::new());
    let agent_search = RwSignal::new(String::new());
    let needs_agent = fixed_agent.is_none();
    let agents = Resource::new(
        move || agent_search.get(),
        move |q| async move {
            if needs_agent {
                chat_agents(q, None).await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let run = ServerAction::<RunScenario>::new();
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| match run.value().get() {
        Some(Ok(r)) => {
            error.set(None);
            on_started.run(r);
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    let start = move |_| {
        if needs_agent && agent.get_untracked().is_empty() {
            error.set(Some("Pick the agent to run this scenario on.".into()));
            return;
        }
        run.dispatch(RunScenario {
            id,
            agent_id: agent.get_untracked(),
        });
    };
    view! {
        <section class="card" aria-labelledby="scenario-run-h">
            <h2 id="scenario-run-h">"Run"</h2>
            {match fixed_agent {
                Some(a) => view! { <p class="muted">{format!("Runs on agent {a}.")}</p> }.into_any(),
                None => view! {
                    <div class="field">
                        <label for="run-agent-search">"Search agents"</label>
                        <input id="run-agent-search" type="search"
                            prop:value=move || agent_search.get()
                            on:input=move |ev| agent_search.set(event_target_value(&ev))/>
                    </div>
                    <div class="field">
                        <label for="run-agent">"Agent to run on"</label>
                        <Transition fallback=|| view! { <p class="loading">"Loading agents…"</p> }>
                            {move || agents.get().map(|r| match r {
                                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                                Ok(list) => view! {
                                    <select id="run-agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                                        <option value="" selected=move || agent.get().is_empty()>"Pick an agent"</option>
                                        {list.into_iter().map(|a| {
                                            let label = match &a.model {
                                                Some(m) => format!("{} · {m}", a.name),
                                                None => a.name.clone(),
                                            };
                                            let v = a.id.clone();
                                            view! { <option value=a.id.clone() selected=move || agent.get() == v>{label}</option> }
                                        }).collect_view()}
                                    </select>
                                }.into_any(),
                            })}
                        </Transition>
                    </div>
                }.into_any(),
            }}
            <p class="form-error" role="alert">{move || error.get()}</p>
            <div class="actions">
                <button type="button" class="btn primary" on:click=start disabled=run.pending()>
                    {move || if run.pending().get() { "Starting…" } else { "Run scenario" }}
                </button>
            </div>
        </section>
    }
}

/// The scenario's runs, newest first; polled while one runs.
#[component]
fn RunsCard(id: i64, tick: RwSignal<u32>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let poll = RwSignal::new(0u32);
    let runs = Resource::new(move || (tick.get(), poll.get()), move |_| scenario_runs(id));
    Effect::new(move |_| {
        if let Some(Ok(list)) = runs.get() {
            if list.iter().any(RunSummary::running) {
                set_timeout(
                    move || poll.update(|n| *n += 1),
                    std::time::Duration::from_secs(1),
                );
            }
        }
    });
    view! {
        <section class="card" aria-labelledby="scenario-runs-h">
            <h2 id="scenario-runs-h">"Runs"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading runs…"</p> }>
                {move || runs.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Not run yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="run-list">
                            {list.into_iter().map(|r| {
                                let run_id = r.id;
                                view! {
                                    <li data-testid="scenario-run">
                                        <div class="run-head">
                                            <span class=status_class(&r.status) data-testid="run-status">{r.status.clone()}</span>
                                            <button type="button" class="btn small" on:click=move |_| selected.set(Some(run_id))
                                                aria-pressed=move || (selected.get() == Some(run_id)).to_string()>
                                                {format!("Run #{}", r.id)}
                                            </button>
                                            <span class="muted">{format!("{}/{} steps · by {} · ", r.steps_done, r.steps_total, r.by)}<Time ms=r.started_at relative=true/></span>
                                        </div>
                                        {r.reason.clone().map(|why| view! { <p class="muted">{why}</p> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn usage_text(s: &StepRecord) -> String {
    let tokens = s
        .usage
        .as_ref()
        .map(|u| {
            format!(
                "{} tokens ({} in, {} out)",
                u.total_tokens, u.prompt_tokens, u.completion_tokens
            )
        })
        .unwrap_or_else(|| "tokens not reported".into());
    match s.elapsed_ms {
        Some(ms) => format!("{tokens} · {:.1} s", ms as f64 / 1000.0),
        None => tokens,
    }
}

/// One run: its steps as they go (polled while it runs), Stop.
#[component]
fn RunView(run_id: i64, on_change: Callback<()>) -> impl IntoView {
    let poll = RwSignal::new(0u32);
    let detail = Resource::new(move || (run_id, poll.get()), |(id, _)| scenario_run(id));
    let was_running = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(d)) = detail.get() {
            if d.run.running() {
                was_running.set(true);
                set_timeout(
                    move || poll.update(|n| *n += 1),
                    std::time::Duration::from_millis(700),
                );
            } else if was_running.get_untracked() {
                // It just ended: the run list shows its outcome too.
                was_running.set(false);
                on_change.run(());
            }
        }
    });
    let stop = move |_| {
        spawn_local(async move {
            let _ = stop_scenario_run(run_id).await;
            poll.update(|n| *n += 1);
        });
    };
    view! {
        <section class="card run-detail" aria-label="Run" data-testid="run-detail">
            <Transition fallback=|| view! { <p class="loading">"Loading the run…"</p> }>
                {move || detail.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let running = d.run.running();
                        view! {
                            <div class="card-head">
                                <h2>{format!("Run #{}", d.run.id)}</h2>
                                <span class=status_class(&d.run.status) data-testid="run-detail-status">{d.run.status.clone()}</span>
                                {running.then(|| view! {
                                    <span class="turn-status" role="status"><span class="spinner" aria-hidden="true"></span>
                                        {if d.run.stopping { format!("Stopping… ({}/{} steps)", d.run.steps_done, d.run.steps_total) } else { format!("Running: {}/{} steps done", d.run.steps_done, d.run.steps_total) }}
                                    </span>
                                })}
                                {(running && d.can_stop).then(|| view! {
                                    <button type="button" class="btn danger" on:click=stop>"Stop"</button>
                                })}
                            </div>
                            <p class="muted">{format!("On agent {} · by {} · ", d.run.agent_id, d.run.by)}<Time ms=d.run.started_at/></p>
                            {d.run.reason.clone().map(|why| view! { <p class="notice" data-testid="run-reason">{why}</p> })}
                            <ol class="run-steps">
                                {d.steps.into_iter().map(step_view).collect_view()}
                            </ol>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

fn step_view(s: StepRecord) -> impl IntoView {
    let foot = usage_text(&s);
    view! {
        <li class="run-step" data-testid="run-step">
            <div class="run-head">
                <span class=status_class(&s.status) data-testid="step-status">{s.status.clone()}</span>
                <strong>{format!("Step {} · {}", s.index + 1, s.person)}</strong>
            </div>
            <div class="msg user"><div class="msg-text">{s.message.clone()}</div></div>
            {(!s.reply.is_empty()).then(|| view! {
                <div class="msg assistant"><div class="msg-meta"><span class="sender">"Agent"</span></div><div class="msg-text" data-testid="step-reply">{s.reply.clone()}</div></div>
            })}
            {(!s.tools.is_empty()).then(|| view! {
                <ul class="tools">
                    {s.tools.iter().cloned().map(|t| view! {
                        <li><details><summary>{format!("Tool call: {}", t.name)}</summary><pre class="mono">{t.arguments}</pre></details></li>
                    }).collect_view()}
                </ul>
            })}
            {(!s.checks.is_empty()).then(|| view! {
                <ul class="checks">
                    {s.checks.iter().cloned().map(|c| view! {
                        <li class=if c.passed { "check-pass" } else { "check-fail" } data-testid="check">
                            {if c.passed { "✓ " } else { "✗ " }}
                            {format!("{}: {}", c.kind.label(), c.text)}
                            {c.detail.map(|d| format!(" ({d})"))}
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {s.error.clone().map(|e| view! { <p class="form-error">{e}</p> })}
            {(s.detached == Some(false)).then(|| view! {
                <p class="notice">"The persona block could not be detached yet; the dashboard keeps retrying."</p>
            })}
            {(s.status != "running").then(|| view! { <p class="turn-foot muted">{foot}</p> })}
        </li>
    }
}

/// Two runs side by side: each step's replies, the differences marked.
#[component]
fn CompareCard(id: i64, tick: RwSignal<u32>) -> impl IntoView {
    let runs = Resource::new(move || tick.get(), move |_| scenario_runs(id));
    let left = RwSignal::new(String::new());
    let right = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<Comparison, AppError>>);
    let compare = move |_| {
        let (l, r) = (left.get_untracked(), right.get_untracked());
        let (Ok(l), Ok(r)) = (l.parse::<i64>(), r.parse::<i64>()) else {
            result.set(Some(Err(AppError::invalid("right", "Pick two runs."))));
            return;
        };
        spawn_local(async move { result.set(Some(compare_runs(l, r).await)) });
    };
    let picker = move |label: &'static str, elem: &'static str, value: RwSignal<String>| {
        view! {
            <div class="field inline">
                <label for=elem>{label}</label>
                <Transition fallback=|| ()>
                    {move || runs.get().map(|r| {
                        let list = r.unwrap_or_default();
                        view! {
                            <select id=elem on:change=move |ev| value.set(event_target_value(&ev))>
                                <option value="" selected=move || value.get().is_empty()>"Pick a run"</option>
                                {list.into_iter().map(|r| {
                                    let v = r.id.to_string();
                                    let v2 = v.clone();
                                    view! { <option value=v selected=move || value.get() == v2>{format!("Run #{} · {}", r.id, r.status)}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
            </div>
        }
    };
    view! {
        <section class="card compare" aria-labelledby="scenario-compare-h">
            <h2 id="scenario-compare-h">"Compare two runs"</h2>
            <div class="toolbar">
                {picker("Left run", "compare-left", left)}
                {picker("Right run", "compare-right", right)}
                <button type="button" class="btn" on:click=compare>"Compare"</button>
            </div>
            {move || result.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(c) => view! { <ComparisonView c/> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn ComparisonView(c: Comparison) -> impl IntoView {
    let changed = c.steps.iter().filter(|s| !s.same_reply()).count();
    let head = format!(
        "Run #{} ({}) against run #{} ({}): {} of {} steps replied differently.",
        c.left.id,
        c.left.status,
        c.right.id,
        c.right.status,
        changed,
        c.steps.len()
    );
    let (lh, rh) = (
        format!("Run #{}", c.left.id),
        format!("Run #{}", c.right.id),
    );
    view! {
        <p data-testid="compare-summary">{head}</p>
        {c.steps.into_iter().map(|s| {
            let same = s.same_reply();
            let status = |r: &Option<StepRecord>| r.as_ref().map(|r| r.status.clone()).unwrap_or_else(|| "not reached".into());
            let (ls, rs) = (status(&s.left), status(&s.right));
            let lt = s.left.as_ref().map(|r| r.reply.clone()).unwrap_or_default();
            let rt = s.right.as_ref().map(|r| r.reply.clone()).unwrap_or_default();
            let lines = diff(&lt, &rt);
            view! {
                <div class="compare-step" data-testid="compare-step">
                    <h3>{format!("Step {} · {}", s.index + 1, s.person)}</h3>
                    <div class="msg user"><div class="msg-text">{s.message}</div></div>
                    <p class="muted">{if same { "Same reply." } else { "The replies differ." }}</p>
                    <div class="diff">
                        <div class="diff-head">
                            <span>{format!("{lh} · ")}<span class=status_class(&ls)>{ls.clone()}</span></span>
                            <span>{format!("{rh} · ")}<span class=status_class(&rs)>{rs.clone()}</span></span>
                        </div>
                        {lines.into_iter().map(|l| match l {
                            Line::Same(t) => view! { <div class="d same"><span>{t.clone()}</span><span>{t}</span></div> }.into_any(),
                            Line::Removed(t) => view! { <div class="d removed"><span><del>{t}</del></span><span></span></div> }.into_any(),
                            Line::Added(t) => view! { <div class="d added"><span></span><span><ins>{t}</ins></span></div> }.into_any(),
                        }).collect_view()}
                    </div>
                </div>
            }
        }).collect_view()}
    }
}

// ---- the editor -----------------------------------------------------------------------------

/// One expectation row being edited.
#[derive(Clone, Copy)]
struct ExpectDraft {
    uid: u64,
    kind: RwSignal<String>,
    text: RwSignal<String>,
}

/// One step being edited; `uid` keys its row (and its element ids) across reorders.
#[derive(Clone, Copy)]
struct StepDraft {
    uid: u64,
    person: RwSignal<String>,
    text: RwSignal<String>,
    expect: RwSignal<Vec<ExpectDraft>>,
}

#[derive(Clone, Copy)]
struct Drafts {
    steps: RwSignal<Vec<StepDraft>>,
    next: StoredValue<u64>,
}

impl Drafts {
    fn uid(&self) -> u64 {
        let n = self.next.get_value();
        self.next.set_value(n + 1);
        n
    }

    fn expect(&self, e: &Expectation) -> ExpectDraft {
        ExpectDraft {
            uid: self.uid(),
            kind: RwSignal::new(e.kind.as_str().to_string()),
            text: RwSignal::new(e.text.clone()),
        }
    }

    fn step(&self, person_id: i64, text: &str, expect: &[Expectation]) -> StepDraft {
        StepDraft {
            uid: self.uid(),
            person: RwSignal::new(if person_id > 0 {
                person_id.to_string()
            } else {
                String::new()
            }),
            text: RwSignal::new(text.to_string()),
            expect: RwSignal::new(expect.iter().map(|e| self.expect(e)).collect()),
        }
    }

    fn input(&self) -> Vec<StepInput> {
        self.steps.with(|v| {
            v.iter()
                .map(|s| StepInput {
                    person_id: s.person.get().parse().unwrap_or(0),
                    text: s.text.get(),
                    expect: s.expect.with(|e| {
                        e.iter()
                            .map(|e| Expectation {
                                kind: ExpectKind::parse(&e.kind.get()).unwrap_or_default(),
                                text: e.text.get(),
                            })
                            .collect()
                    }),
                })
                .collect()
        })
    }

    fn index_of(&self, uid: u64) -> Option<usize> {
        self.steps.with(|v| v.iter().position(|s| s.uid == uid))
    }

    /// The element id of the control for a field name (for focusing the first invalid one).
    fn element_id(&self, field: &str) -> String {
        let parts: Vec<&str> = field.split('.').collect();
        let step = |i: &str| {
            i.parse::<usize>()
                .ok()
                .and_then(|i| self.steps.with_untracked(|v| v.get(i).copied()))
        };
        match parts.as_slice() {
            ["name"] => "scenario-name".into(),
            ["agent_id"] => "scenario-agent".into(),
            ["steps", i, "expect", j, ..] => match step(i) {
                Some(s) => {
                    let e = j
                        .parse::<usize>()
                        .ok()
                        .and_then(|j| s.expect.with_untracked(|v| v.get(j).map(|e| e.uid)));
                    match e {
                        Some(e) => format!("expect-{e}-text"),
                        None => format!("step-{}-text", s.uid),
                    }
                }
                None => "scenario-add-step".into(),
            },
            ["steps", i, part, ..] => match step(i) {
                Some(s) if *part == "person_id" => format!("step-{}-person", s.uid),
                Some(s) => format!("step-{}-text", s.uid),
                None => "scenario-add-step".into(),
            },
            _ => "scenario-add-step".into(),
        }
    }
}

#[component]
fn Editor(initial: Option<ScenarioDetail>) -> impl IntoView {
    let toasts = use_toasts();
    let navigate = use_navigate();
    let drafts = Drafts {
        steps: RwSignal::new(Vec::new()),
        next: StoredValue::new(1),
    };
    let id = initial.as_ref().map(|d| d.id);
    let name = RwSignal::new(initial.as_ref().map(|d| d.name.clone()).unwrap_or_default());
    let agent = RwSignal::new(
        initial
            .as_ref()
            .and_then(|d| d.agent_id.clone())
            .unwrap_or_default(),
    );
    // The persons the steps name, so a person beyond the picker's first page stays selectable.
    let known: Vec<(i64, String)> = initial
        .as_ref()
        .map(|d| {
            d.steps
                .iter()
                .map(|s| (s.person_id, s.person.clone()))
                .collect()
        })
        .unwrap_or_default();
    drafts.steps.set(match &initial {
        Some(d) => d
            .steps
            .iter()
            .map(|s| drafts.step(s.person_id, &s.text, &s.expect))
            .collect(),
        None => vec![drafts.step(0, "", &[])],
    });
    let input = move || ScenarioInput {
        name: name.get(),
        agent_id: agent.get(),
        steps: drafts.input(),
    };
    let form = FormCtl::new(move || problems(&input()), move |f| drafts.element_id(&f));
    let agent_search = RwSignal::new(String::new());
    let agents = Resource::new(move || agent_search.get(), move |q| chat_agents(q, None));
    let person_search = RwSignal::new(String::new());
    let persons = Resource::new(move || person_search.get(), |q| chat_persons(q, None));
    let create = ServerAction::<CreateScenario>::new();
    let update = ServerAction::<UpdateScenario>::new();
    let delete = ServerAction::<DeleteScenario>::new();
    {
        let navigate = navigate.clone();
        Effect::new(move |_| match create.value().get() {
            Some(Ok(d)) => {
                toasts.success(format!("Created the scenario {}", d.name));
                form.saved();
                navigate(&format!("/chat/scenarios/{}", d.id), Default::default());
            }
            Some(Err(e)) => form.refused(e),
            None => {}
        });
    }
    Effect::new(move |_| match update.value().get() {
        Some(Ok(d)) => {
            toasts.success(format!("Saved the scenario {}", d.name));
            form.saved();
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    {
        let navigate = navigate.clone();
        Effect::new(move |_| match delete.value().get() {
            Some(Ok(())) => {
                toasts.success("Deleted the scenario");
                navigate("/chat/scenarios", Default::default());
            }
            Some(Err(e)) => toasts.error(e.to_string()),
            None => {}
        });
    }
    let pending = move || create.pending().get() || update.pending().get();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.submit() {
            return;
        }
        let scenario = input();
        match id {
            Some(id) => {
                update.dispatch(UpdateScenario { id, scenario });
            }
            None => {
                create.dispatch(CreateScenario { scenario });
            }
        }
    };
    let add_step = move |_| {
        let step = drafts.step(0, "", &[]);
        drafts.steps.update(|v| v.push(step));
    };
    let errors = form.errors();
    let steps_error = form.error("steps");
    let known = RwSignal::new(known);
    view! {
        <form class="scenario-editor" on:submit=submit novalidate aria-label="Scenario">
            <TextField label="Name" id="scenario-name".into() value=name error=form.error("name") required=true/>
            <div class="field" class:invalid=move || form.error("agent_id").get().is_some()>
                <label for="scenario-agent">"Agent"</label>
                <input id="agent-search-edit" type="search" placeholder="Search agents by name" aria-label="Find agents for the scenario"
                    prop:value=move || agent_search.get()
                    on:input=move |ev| agent_search.set(event_target_value(&ev))/>
                <Transition fallback=|| view! { <p class="loading">"Loading agents…"</p> }>
                    {move || agents.get().map(|r| {
                        let list = r.unwrap_or_default();
                        let current = agent.get_untracked();
                        let missing = !current.is_empty() && !list.iter().any(|a| a.id == current);
                        view! {
                            <select id="scenario-agent" aria-describedby="scenario-agent-err"
                                on:change=move |ev| agent.set(event_target_value(&ev))>
                                <option value="" selected=move || agent.get().is_empty()>"Any agent, picked at each run"</option>
                                {missing.then(|| view! { <option value=current.clone() selected=true>{current.clone()}</option> })}
                                {list.into_iter().map(|a| {
                                    let v = a.id.clone();
                                    view! { <option value=a.id.clone() selected=move || agent.get() == v>{a.name}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
                <p class="field-error" id="scenario-agent-err">{move || form.error("agent_id").get()}</p>
            </div>
            <h3>"Steps"</h3>
            <p class="hint">"Each step is sent as the person, in order, as an ordinary chat turn. Texts of expectations are compared ignoring case; a step whose expectation fails ends the run."</p>
            <div class="field">
                <label for="scenario-person-search">"Find persons for the pickers"</label>
                <input id="scenario-person-search" type="search" placeholder="Username or name starts with"
                    prop:value=move || person_search.get()
                    on:input=move |ev| person_search.set(event_target_value(&ev))/>
            </div>
            <ol class="step-editor">
                <For each=move || drafts.steps.get() key=|s| s.uid let:step>
                    <StepRow step drafts errors persons known/>
                </For>
            </ol>
            <p class="field-error" role="alert">{move || steps_error.get()}</p>
            <button type="button" id="scenario-add-step" class="btn" on:click=add_step
                disabled=move || drafts.steps.with(|v| v.len() >= MAX_STEPS)>"Add step"</button>
            <FormAlert message=form.general()/>
            <div class="actions">
                {id.map(|id| view! {
                    <ConfirmButton label="Delete scenario" title="Delete this scenario?"
                        message=Signal::derive(move || format!("“{}” and all its runs will be deleted. This cannot be undone.", name.get()))
                        confirm_label="Delete" danger=true
                        on_confirm=Callback::new(move |_| { delete.dispatch(DeleteScenario { id }); })/>
                })}
                <button type="submit" class="btn primary" disabled=pending>
                    {move || match (pending(), id) {
                        (true, _) => "Saving…",
                        (false, Some(_)) => "Save scenario",
                        (false, None) => "Create scenario",
                    }}
                </button>
            </div>
        </form>
    }
}

#[component]
fn StepRow(
    step: StepDraft,
    drafts: Drafts,
    errors: Signal<Vec<(String, String)>>,
    persons: Resource<Result<Vec<crate::features::chat::model::PersonChoice>, AppError>>,
    known: RwSignal<Vec<(i64, String)>>,
) -> impl IntoView {
    let uid = step.uid;
    let index = move || drafts.index_of(uid).unwrap_or(0);
    let err = move |part: &'static str| {
        Signal::derive(move || errors.with(|e| error_of(e, &step_field(index(), part))))
    };
    let count = move || drafts.steps.with(Vec::len);
    let move_by = move |delta: isize| {
        drafts.steps.update(|v| {
            if let Some(i) = v.iter().position(|s| s.uid == uid) {
                let j = i as isize + delta;
                if j >= 0 && (j as usize) < v.len() {
                    v.swap(i, j as usize);
                }
            }
        })
    };
    let remove = move |_| drafts.steps.update(|v| v.retain(|s| s.uid != uid));
    let add_expect = move |_| {
        let e = drafts.expect(&Expectation::default());
        step.expect.update(|v| v.push(e));
    };
    let person_err = err("person_id");
    let text_err = err("text");
    view! {
        <li class="step-row card" data-testid="step-row">
            <div class="card-head">
                <h4>{move || format!("Step {}", index() + 1)}</h4>
                <div class="row-actions">
                    <button type="button" class="btn small" on:click=move |_| move_by(-1)
                        disabled=move || index() == 0 aria-label=move || format!("Move step {} up", index() + 1)>"↑"</button>
                    <button type="button" class="btn small" on:click=move |_| move_by(1)
                        disabled=move || { index() + 1 >= count() } aria-label=move || format!("Move step {} down", index() + 1)>"↓"</button>
                    <button type="button" class="btn small danger" on:click=remove
                        aria-label=move || format!("Remove step {}", index() + 1)>"Remove"</button>
                </div>
            </div>
            <div class="field" class:invalid=move || person_err.get().is_some()>
                <label for=format!("step-{uid}-person")>"Person"</label>
                <Transition fallback=|| view! { <p class="loading">"Loading persons…"</p> }>
                    {move || persons.get().map(|r| {
                        let list = r.unwrap_or_default();
                        let mut options: Vec<(String, String)> = list
                            .into_iter()
                            .map(|p| (p.id.to_string(), format!("{} (@{})", p.display_name, p.username)))
                            .collect();
                        for (id, label) in known.get_untracked() {
                            if !options.iter().any(|(v, _)| *v == id.to_string()) {
                                options.push((id.to_string(), label));
                            }
                        }
                        // A picked person stays pickable (and shown) when the search changes.
                        let labels = options.clone();
                        let pick = move |ev| {
                            let v = event_target_value(&ev);
                            if let (Ok(id), Some((_, label))) = (v.parse::<i64>(), labels.iter().find(|(o, _)| *o == v)) {
                                if !known.with_untracked(|k| k.iter().any(|(k, _)| *k == id)) {
                                    known.update(|k| k.push((id, label.clone())));
                                }
                            }
                            step.person.set(v);
                        };
                        view! {
                            <select id=format!("step-{uid}-person") aria-describedby=format!("step-{uid}-person-err")
                                on:change=pick>
                                <option value="" selected=move || step.person.get().is_empty()>"Pick a person"</option>
                                {options.into_iter().map(|(v, label)| {
                                    let v2 = v.clone();
                                    view! { <option value=v selected=move || step.person.get() == v2>{label}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
                <p class="field-error" id=format!("step-{uid}-person-err")>{move || person_err.get()}</p>
            </div>
            <div class="field" class:invalid=move || text_err.get().is_some()>
                <label for=format!("step-{uid}-text")>"Message"</label>
                <textarea id=format!("step-{uid}-text") rows="2" aria-describedby=format!("step-{uid}-text-err")
                    prop:value=move || step.text.get()
                    on:input=move |ev| step.text.set(event_target_value(&ev))></textarea>
                <p class="field-error" id=format!("step-{uid}-text-err")>{move || text_err.get()}</p>
            </div>
            <ul class="expect-editor">
                <For each=move || step.expect.get() key=|e| e.uid let:e>
                    <ExpectRow e step index=Signal::derive(index) errors/>
                </For>
            </ul>
            <button type="button" class="btn small" on:click=add_expect
                disabled=move || step.expect.with(|v| v.len() >= MAX_EXPECTATIONS)>"Add expectation"</button>
        </li>
    }
}

#[component]
fn ExpectRow(
    e: ExpectDraft,
    step: StepDraft,
    index: Signal<usize>,
    errors: Signal<Vec<(String, String)>>,
) -> impl IntoView {
    let uid = e.uid;
    let position = move || {
        step.expect
            .with(|v| v.iter().position(|x| x.uid == uid).unwrap_or(0))
    };
    let error = Signal::derive(move || {
        errors.with(|list| error_of(list, &expect_field(index.get(), position())))
    });
    let remove = move |_| step.expect.update(|v| v.retain(|x| x.uid != uid));
    view! {
        <li class="expect-row" class:invalid=move || error.get().is_some()>
            <label for=format!("expect-{uid}-kind") class="visually-hidden">"Expectation"</label>
            <select id=format!("expect-{uid}-kind") on:change=move |ev| e.kind.set(event_target_value(&ev))>
                {ExpectKind::ALL.into_iter().map(|k| view! {
                    <option value=k.as_str() selected=move || e.kind.get() == k.as_str()>{k.label()}</option>
                }).collect_view()}
            </select>
            <label for=format!("expect-{uid}-text") class="visually-hidden">"Expected text"</label>
            <input id=format!("expect-{uid}-text") type="text" placeholder="text, or the tool's name"
                aria-describedby=format!("expect-{uid}-err")
                prop:value=move || e.text.get()
                on:input=move |ev| e.text.set(event_target_value(&ev))/>
            <button type="button" class="btn small" on:click=remove aria-label="Remove expectation">"×"</button>
            <p class="field-error" id=format!("expect-{uid}-err")>{move || error.get()}</p>
        </li>
    }
}

use crate::components::time::{IsoTime, Time};
use futures::StreamExt;
use leptos::{html, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::api::*;
use super::model::*;
use crate::components::format::urlencode;

/// One part of a live reply (token deltas of one message appended together).
#[derive(Clone, Debug, PartialEq)]
struct LivePart {
    id: String,
    kind: PartKind,
    name: Option<String>,
    text: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Starting,
    Waiting(usize),
    Sending,
    Background(String),
    Done,
    Failed(String),
}

/// A turn sent from this page, as it streams.
#[derive(Clone, Debug, PartialEq)]
struct LiveTurn {
    person: String,
    text: String,
    turn_id: Option<String>,
    phase: Phase,
    parts: Vec<LivePart>,
    stop_reason: Option<String>,
    usage: Option<Usage>,
    elapsed_ms: Option<u64>,
    error: Option<String>,
    /// `Some(false)`: the detach failed (the sweeper retries).
    detached: Option<bool>,
}

impl LiveTurn {
    fn apply(&mut self, ev: TurnEvent) {
        match ev {
            TurnEvent::Started { turn_id } => self.turn_id = Some(turn_id),
            TurnEvent::Waiting { position } => self.phase = Phase::Waiting(position),
            TurnEvent::Sending { .. } => self.phase = Phase::Sending,
            TurnEvent::Part {
                id,
                kind,
                text,
                name,
            } => match self
                .parts
                .iter_mut()
                .rev()
                .find(|p| p.id == id && p.kind == kind)
            {
                Some(p) => {
                    p.text.push_str(&text);
                    if p.name.is_none() {
                        p.name = name;
                    }
                }
                None => self.parts.push(LivePart {
                    id,
                    kind,
                    name,
                    text,
                }),
            },
            TurnEvent::Ping => {}
            TurnEvent::Complete {
                stop_reason,
                usage,
                elapsed_ms,
                error,
            } => {
                self.phase = Phase::Done;
                self.stop_reason = Some(stop_reason);
                self.usage = usage;
                self.elapsed_ms = Some(elapsed_ms);
                self.error = error;
            }
            TurnEvent::Released { detached } => {
                self.detached = Some(detached);
                if matches!(
                    self.phase,
                    Phase::Starting | Phase::Sending | Phase::Waiting(_)
                ) {
                    self.phase = Phase::Done;
                }
            }
            TurnEvent::Failed { message } => self.phase = Phase::Failed(message),
            TurnEvent::Background { run_id } => self.phase = Phase::Background(run_id),
        }
    }

    fn running(&self) -> bool {
        self.detached.is_none() && !matches!(self.phase, Phase::Failed(_))
    }
}

fn sender_label(sender: &Option<Sender>) -> String {
    match sender {
        Some(Sender::Person {
            username,
            display_name,
            ..
        }) => format!("{display_name} (@{username})"),
        Some(Sender::Unknown { .. }) => "unknown sender".into(),
        Some(Sender::None) | None => "no sender".into(),
    }
}

/// A collapsible detail: reasoning, tool calls and returns.
#[component]
fn Detail(kind: String, name: Option<String>, text: String) -> impl IntoView {
    let title = match kind.as_str() {
        "reasoning" => "Reasoning".to_string(),
        "tool_call" => format!("Tool call: {}", name.clone().unwrap_or_default()),
        "tool_return" => "Tool result".to_string(),
        other => other.replace('_', " "),
    };
    // A kind the client does not model is the server's `message_type`, an outside value: it
    // is shown as text, never made a class.
    let class = match kind.as_str() {
        "reasoning" | "tool_call" | "tool_return" => format!("msg detail {kind}"),
        _ => "msg detail other".to_string(),
    };
    view! {
        <details class=class>
            <summary>{title}</summary>
            <pre class="mono">{text}</pre>
        </details>
    }
}

fn history_item(item: HistoryItem) -> AnyView {
    match item.kind.as_str() {
        "user" => {
            let label = sender_label(&item.sender);
            let unknown = !matches!(item.sender, Some(Sender::Person { .. }));
            view! {
                <div class="msg user">
                    <div class="msg-meta">
                        <span class="sender" class:muted=unknown data-testid="sender">{label}</span>
                        <span class="muted">{item.date.map(|d| view! { <IsoTime iso=d relative=true/> })}</span>
                    </div>
                    <div class="msg-text">{item.text}</div>
                </div>
            }
            .into_any()
        }
        "assistant" => view! {
            <div class="msg assistant">
                <div class="msg-meta"><span class="sender">"Agent"</span></div>
                <div class="msg-text">{item.text}</div>
            </div>
        }
        .into_any(),
        _ => view! { <Detail kind=item.kind name=item.name text=item.text/> }.into_any(),
    }
}

fn live_turn_view(t: LiveTurn, stop: impl Fn(String) + Clone + Send + Sync + 'static) -> AnyView {
    let status = match &t.phase {
        Phase::Starting => Some("Starting…".to_string()),
        Phase::Waiting(n) => Some(format!(
            "Waiting for another conversation on this agent (position {n})"
        )),
        Phase::Sending if t.parts.is_empty() => Some("The agent is thinking…".to_string()),
        Phase::Background(run) => Some(format!(
            "Sent in the background as run {run}; progress is shown below."
        )),
        _ => None,
    };
    let footer = t.stop_reason.as_ref().map(|reason| {
        let tokens = t
            .usage
            .as_ref()
            .map(|u| {
                format!(
                    "{} tokens ({} in, {} out)",
                    u.total_tokens, u.prompt_tokens, u.completion_tokens
                )
            })
            .unwrap_or_else(|| "tokens not reported".into());
        let secs = t.elapsed_ms.unwrap_or(0) as f64 / 1000.0;
        format!("{tokens} · {secs:.1} s · {}", reason.replace('_', " "))
    });
    let turn_id = t.turn_id.clone();
    let can_stop = t.running() && turn_id.is_some();
    view! {
        <div class="turn" data-testid="live-turn">
            <div class="msg user">
                <div class="msg-meta"><span class="sender" data-testid="sender">{t.person.clone()}</span></div>
                <div class="msg-text">{t.text.clone()}</div>
            </div>
            {t.parts.iter().cloned().map(|p| match p.kind {
                PartKind::Assistant => view! {
                    <div class="msg assistant">
                        <div class="msg-meta"><span class="sender">"Agent"</span></div>
                        <div class="msg-text" data-testid="reply">{p.text}</div>
                    </div>
                }.into_any(),
                PartKind::Reasoning => view! { <Detail kind="reasoning".into() name=None text=p.text/> }.into_any(),
                PartKind::ToolCall => view! { <Detail kind="tool_call".into() name=p.name text=p.text/> }.into_any(),
                PartKind::ToolReturn => view! { <Detail kind="tool_return".into() name=None text=p.text/> }.into_any(),
                PartKind::Other => view! { <Detail kind=p.name.unwrap_or_default() name=None text=String::new()/> }.into_any(),
            }).collect_view()}
            {status.map(|s| view! { <p class="turn-status" role="status"><span class="spinner" aria-hidden="true"></span>{s}</p> })}
            {match &t.phase {
                Phase::Failed(m) => Some(view! { <p class="form-error" role="alert">{m.clone()}</p> }),
                _ => None,
            }}
            {t.error.clone().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            {footer.map(|f| view! { <p class="turn-foot muted" data-testid="turn-foot">{f}</p> })}
            {(t.detached == Some(false)).then(|| view! {
                <p class="notice">"The persona block could not be detached yet; the dashboard keeps retrying."</p>
            })}
            {can_stop.then(|| {
                let id = turn_id.clone().unwrap_or_default();
                let stop = stop.clone();
                view! { <button type="button" class="btn danger" on:click=move |_| stop(id.clone())>"Stop"</button> }
            })}
        </div>
    }
    .into_any()
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let agent_id = Memo::new(move |_| query.read().get("agent").unwrap_or_default());
    let person_id = Memo::new(move |_| {
        query
            .read()
            .get("person")
            .and_then(|p| p.parse::<i64>().ok())
    });
    let set_query = {
        let navigate = navigate.clone();
        move |agent: String, person: Option<i64>| {
            let mut q = Vec::new();
            if !agent.is_empty() {
                q.push(format!("agent={}", urlencode(&agent)));
            }
            if let Some(p) = person {
                q.push(format!("person={p}"));
            }
            navigate(
                &format!("/chat?{}", q.join("&")),
                leptos_router::NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                },
            );
        }
    };

    let agent_search = RwSignal::new(String::new());
    let person_search = RwSignal::new(String::new());
    let agents = Resource::new(
        move || (agent_search.get(), agent_id.get()),
        |(q, sel)| chat_agents(q, (!sel.is_empty()).then_some(sel)),
    );
    let persons = Resource::new(
        move || (person_search.get(), person_id.get()),
        |(q, sel)| chat_persons(q, sel),
    );
    let only_mine = RwSignal::new(false);
    let history = Resource::new(
        move || (agent_id.get(), person_id.get(), only_mine.get()),
        |(agent, person, only)| async move {
            if agent.is_empty() {
                return Ok(None);
            }
            chat_history(agent, None, if only { person } else { None })
                .await
                .map(Some)
        },
    );
    let older_items = RwSignal::new(Vec::<HistoryItem>::new());
    let older_cursor = RwSignal::new(None::<String>);
    let loading_older = RwSignal::new(false);
    Effect::new(move |_| {
        // A new first page: start the "older" chain from it.
        if let Some(Ok(Some(page))) = history.get() {
            older_items.set(Vec::new());
            older_cursor.set(page.older.clone());
        }
    });
    let load_older = move || {
        let Some(before) = older_cursor.get_untracked() else {
            return;
        };
        if loading_older.get_untracked() {
            return;
        }
        loading_older.set(true);
        let agent = agent_id.get_untracked();
        let person = only_mine
            .get_untracked()
            .then(|| person_id.get_untracked())
            .flatten();
        spawn_local(async move {
            if let Ok(page) = chat_history(agent, Some(before), person).await {
                older_items.update(|items| {
                    let mut page_items = page.items;
                    page_items.append(items);
                    *items = page_items;
                });
                older_cursor.set(page.older);
            }
            loading_older.set(false);
        });
    };

    let runs_tick = RwSignal::new(0u32);
    let runs = Resource::new(
        move || (agent_id.get(), runs_tick.get()),
        |(agent, _)| async move {
            if agent.is_empty() {
                return Ok(Vec::new());
            }
            chat_runs(agent).await
        },
    );
    // Poll while a background run is unfinished (also after a reload).
    Effect::new(move |_| {
        if let Some(Ok(list)) = runs.get() {
            if list.iter().any(|r| !r.finished) {
                set_timeout(
                    move || runs_tick.update(|n| *n += 1),
                    std::time::Duration::from_secs(2),
                );
            }
        }
    });

    let live = RwSignal::new(Vec::<LiveTurn>::new());
    // Turns from this page are for the agent shown; a new agent starts a fresh transcript.
    Effect::new(move |_| {
        agent_id.track();
        live.set(Vec::new());
    });
    let text = RwSignal::new(String::new());
    let background = RwSignal::new(false);
    let input_error = RwSignal::new(None::<String>);
    let busy = Memo::new(move |_| live.with(|l| l.last().is_some_and(LiveTurn::running)));
    let log_ref = NodeRef::<html::Div>::new();
    let scroll_down = move || {
        if let Some(el) = log_ref.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };

    // The newest messages are at the bottom: show them when the history arrives.
    Effect::new(move |_| {
        if history.with(|h| matches!(h, Some(Ok(Some(_))))) {
            request_animation_frame(scroll_down);
        }
    });

    let person_label = move || {
        let pid = person_id.get()?;
        persons
            .get()
            .and_then(Result::ok)
            .and_then(|list| list.into_iter().find(|p| p.id == pid))
            .map(|p| format!("{} (@{})", p.display_name, p.username))
    };

    let send = move || {
        let message = text.get_untracked();
        if let Err(e) = validate_text(&message) {
            input_error.set(Some(e));
            return;
        }
        let agent = agent_id.get_untracked();
        let Some(person) = person_id.get_untracked() else {
            input_error.set(Some("Pick a person to speak as.".into()));
            return;
        };
        if agent.is_empty() {
            input_error.set(Some("Pick an agent.".into()));
            return;
        }
        if busy.get_untracked() {
            return;
        }
        input_error.set(None);
        text.set(String::new());
        let in_background = background.get_untracked();
        live.update(|l| {
            l.push(LiveTurn {
                person: person_label().unwrap_or_else(|| format!("person {person}")),
                text: message.clone(),
                turn_id: None,
                phase: Phase::Starting,
                parts: Vec::new(),
                stop_reason: None,
                usage: None,
                elapsed_ms: None,
                error: None,
                detached: None,
            })
        });
        scroll_down();
        let apply = move |ev: TurnEvent| {
            let bg = matches!(ev, TurnEvent::Background { .. });
            live.update(|l| {
                if let Some(t) = l.last_mut() {
                    t.apply(ev);
                }
            });
            if bg {
                runs_tick.update(|n| *n += 1);
            }
            scroll_down();
        };
        spawn_local(async move {
            let send = OutgoingMessage {
                agent_id: agent,
                person_id: person,
                text: message,
            };
            match chat_send(send, in_background).await {
                Ok(stream) => {
                    let mut stream = stream.into_inner();
                    let mut buf = LineBuffer::default();
                    while let Some(chunk) = stream.next().await {
                        match chunk {
                            Ok(chunk) => {
                                for ev in buf.feed(&chunk).into_iter().flatten() {
                                    apply(ev);
                                }
                            }
                            Err(e) => {
                                apply(TurnEvent::Failed {
                                    message: format!("The connection to the dashboard broke: {e}"),
                                });
                                break;
                            }
                        }
                    }
                    // A stream that ended without its last event: the server went away.
                    live.update(|l| {
                        if let Some(t) = l.last_mut() {
                            if t.running() {
                                t.phase = Phase::Failed(
                                    "The connection to the dashboard ended before the turn did."
                                        .into(),
                                );
                            }
                        }
                    });
                }
                Err(e) => apply(TurnEvent::Failed {
                    message: e.to_string(),
                }),
            }
        });
    };
    let stop = move |turn_id: String| {
        spawn_local(async move {
            let _ = chat_stop(turn_id).await;
        });
    };

    let pick_agent = {
        let set_query = set_query.clone();
        move |id: String| set_query(id, person_id.get_untracked())
    };
    let pick_person = move |id: Option<i64>| set_query(agent_id.get_untracked(), id);

    view! {
        <Title text="Chat"/>
        <section class="page">
        <div class="page-head">
            <h1>"Chat"</h1>
            <a class="btn" href="/chat/scenarios">"Scenarios"</a>
        </div>
        <div class="chat-pickers">
            <div class="card picker">
                <label for="agent-search">"Agent"</label>
                <input id="agent-search" type="search" placeholder="Search agents by name"
                    prop:value=move || agent_search.get()
                    on:input=move |ev| agent_search.set(event_target_value(&ev))/>
                <label for="agent-pick" class="visually-hidden">"Pick an agent"</label>
                <Transition fallback=|| view! { <p class="loading">"Loading agents…"</p> }>
                    {
                        let pick_agent = pick_agent.clone();
                        move || {
                            let pick_agent = pick_agent.clone();
                            agents.get().map(move |r| match r {
                                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <p class="muted">"No agents match."</p> }.into_any(),
                                Ok(list) => view! {
                                    <select id="agent-pick" size="5"
                                        on:change=move |ev| pick_agent(event_target_value(&ev))>
                                        {list.into_iter().map(|a| {
                                            let selected = a.id == agent_id.get_untracked();
                                            let label = match &a.model {
                                                Some(m) => format!("{} · {m}", a.name),
                                                None => a.name.clone(),
                                            };
                                            view! { <option value=a.id.clone() selected=selected>{label}</option> }
                                        }).collect_view()}
                                    </select>
                                }.into_any(),
                            })
                        }
                    }
                </Transition>
            </div>
            <div class="card picker">
                <label for="person-search">"Person"</label>
                <input id="person-search" type="search" placeholder="Search by username or name"
                    prop:value=move || person_search.get()
                    on:input=move |ev| person_search.set(event_target_value(&ev))/>
                <label for="person-pick" class="visually-hidden">"Pick a person"</label>
                <Transition fallback=|| view! { <p class="loading">"Loading persons…"</p> }>
                    {move || { let pick_person = pick_person.clone(); persons.get().map(move |r| match r {
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No persons match."</p> }.into_any(),
                        Ok(list) => view! {
                            <select id="person-pick" size="5"
                                on:change=move |ev| pick_person(event_target_value(&ev).parse().ok())>
                                {list.into_iter().map(|p| {
                                    let selected = Some(p.id) == person_id.get_untracked();
                                    view! {
                                        <option value=p.id.to_string() selected=selected>
                                            {format!("{} (@{})", p.display_name, p.username)}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                        }.into_any(),
                    })}}
                </Transition>
            </div>
        </div>

        <Show
            when=move || !agent_id.get().is_empty()
            fallback=|| view! { <p class="empty">"Pick an agent and a person to start."</p> }
        >
            <section class="card chat" aria-label="Conversation">
                <div class="chat-toolbar">
                    <label class="check">
                        <input type="checkbox" prop:checked=move || only_mine.get()
                            prop:disabled=move || person_id.get().is_none()
                            on:change=move |ev| only_mine.set(event_target_checked(&ev))/>
                        "Only this person's messages"
                    </label>
                    <span class="muted">"Messages are immutable on this Letta server: they cannot be edited."</span>
                </div>
                <div class="chat-log" node_ref=log_ref role="log" aria-live="polite" aria-label="Messages"
                    on:scroll=move |_| {
                        if let Some(el) = log_ref.get_untracked() {
                            if el.scroll_top() <= 0 {
                                load_older();
                            }
                        }
                    }>
                    <Show when=move || older_cursor.get().is_some()>
                        <button type="button" class="btn small older" on:click=move |_| load_older()
                            prop:disabled=move || loading_older.get()>
                            {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                        </button>
                    </Show>
                    {move || older_items.get().into_iter().map(history_item).collect_view()}
                    <Transition fallback=|| view! { <p class="loading">"Loading history…"</p> }>
                        {move || history.get().map(|r| match r {
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                            Ok(None) => ().into_any(),
                            Ok(Some(page)) if page.items.is_empty() && older_items.with(Vec::is_empty) && live.with(Vec::is_empty) => {
                                view! { <p class="muted">"No messages yet."</p> }.into_any()
                            }
                            Ok(Some(page)) => page.items.into_iter().map(history_item).collect_view().into_any(),
                        })}
                    </Transition>
                    {move || live.get().into_iter().map(|t| live_turn_view(t, stop)).collect_view()}
                </div>
                <form class="chat-input" on:submit=move |ev| { ev.prevent_default(); send(); }>
                    <label for="chat-text">
                        // In a Transition: the server waits for the persons, so the label it
                        // renders is the one the browser hydrates.
                        <Transition fallback=|| "Message">
                            {move || match person_label() {
                                Some(p) => format!("Message as {p}"),
                                None => "Message (pick a person first)".to_string(),
                            }}
                        </Transition>
                    </label>
                    <textarea id="chat-text" rows="3" placeholder="Enter sends, Shift+Enter starts a new line"
                        aria-describedby="chat-text-err"
                        prop:value=move || text.get()
                        on:input=move |ev| text.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                                ev.prevent_default();
                                send();
                            }
                        }></textarea>
                    <p id="chat-text-err" class="field-error" role="alert">{move || input_error.get()}</p>
                    <div class="chat-send">
                        <label class="check">
                            <input type="checkbox" prop:checked=move || background.get()
                                on:change=move |ev| background.set(event_target_checked(&ev))/>
                            "Send in the background (long tasks: the run is polled; you may leave the page)"
                        </label>
                        <button type="submit" class="btn primary"
                            prop:disabled=move || busy.get() || person_id.get().is_none()>
                            {move || if busy.get() { "Sending…" } else { "Send" }}
                        </button>
                    </div>
                </form>
            </section>
            <Transition fallback=|| ()>
                {move || runs.get().map(|r| match r {
                    Ok(list) if !list.is_empty() => view! {
                        <section class="card runs" aria-label="Background runs">
                            <h2>"Background runs"</h2>
                            <ul class="run-list">
                                {list.into_iter().map(|r| {
                                    let cls = match r.status.as_str() {
                                        "completed" => "badge ok",
                                        "failed" | "error" | "cancelled" | "interrupted" => "badge bad",
                                        _ => "badge warn",
                                    };
                                    view! {
                                        <li data-testid="run">
                                            <div class="run-head">
                                                <span class=cls>{r.status.clone()}</span>
                                                <strong>{format!("@{}", r.person)}</strong>
                                                <span class="muted"><Time ms=r.created_at relative=true/></span>
                                                {(!r.finished).then(|| {
                                                    let id = r.turn_id.clone();
                                                    view! {
                                                        <span class="spinner" aria-label="running"></span>
                                                        <button type="button" class="btn small danger" on:click=move |_| stop(id.clone())>"Stop"</button>
                                                    }
                                                })}
                                            </div>
                                            <div class="msg-text">{r.message}</div>
                                            {r.reply.filter(|t| !t.is_empty()).map(|t| view! { <div class="msg assistant"><div class="msg-text">{t}</div></div> })}
                                            {r.detail.map(|d| view! { <p class="muted">{d}</p> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    Ok(_) => ().into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> LiveTurn {
        LiveTurn {
            person: "Ada (@ada)".into(),
            text: "hi".into(),
            turn_id: None,
            phase: Phase::Starting,
            parts: Vec::new(),
            stop_reason: None,
            usage: None,
            elapsed_ms: None,
            error: None,
            detached: None,
        }
    }

    fn part(id: &str, kind: PartKind, text: &str, name: Option<&str>) -> TurnEvent {
        TurnEvent::Part {
            id: id.into(),
            kind,
            text: text.into(),
            name: name.map(Into::into),
        }
    }

    #[test]
    fn token_deltas_are_joined_per_message_and_kind() {
        let mut t = turn();
        for ev in [
            TurnEvent::Started {
                turn_id: "t1".into(),
            },
            TurnEvent::Waiting { position: 2 },
            TurnEvent::Waiting { position: 1 },
            TurnEvent::Sending {
                pre_attached: false,
            },
            part("r1", PartKind::Reasoning, "Let me ", None),
            part("r1", PartKind::Reasoning, "think.", None),
            part("c1", PartKind::ToolCall, "{\"q\":", Some("search")),
            part("c1", PartKind::ToolCall, "1}", None),
            part("a1", PartKind::Assistant, "Hel", None),
            part("a1", PartKind::Assistant, "lo", None),
        ] {
            t.apply(ev);
        }
        assert_eq!(t.turn_id.as_deref(), Some("t1"));
        assert_eq!(t.phase, Phase::Sending);
        let texts: Vec<(&str, &str)> = t
            .parts
            .iter()
            .map(|p| (p.id.as_str(), p.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("r1", "Let me think."),
                ("c1", "{\"q\":1}"),
                ("a1", "Hello")
            ]
        );
        assert_eq!(t.parts[1].name.as_deref(), Some("search"));
        assert!(t.running());
        t.apply(TurnEvent::Complete {
            stop_reason: "end_turn".into(),
            usage: None,
            elapsed_ms: 1200,
            error: None,
        });
        assert!(t.running(), "still running until the block is released");
        t.apply(TurnEvent::Released { detached: true });
        assert!(!t.running());
    }

    #[test]
    fn a_failed_turn_stops_running() {
        let mut t = turn();
        t.apply(TurnEvent::Failed {
            message: "busy".into(),
        });
        assert!(!t.running());
        assert_eq!(t.phase, Phase::Failed("busy".into()));
    }
}

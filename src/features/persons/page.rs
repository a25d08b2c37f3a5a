use crate::components::time::Time;
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use super::api::*;
use crate::{
    auth::Role,
    components::{
        confirm::ConfirmButton,
        field::{field_error, form_error, Field, FormAlert},
        layout::use_user,
        pager::{Href, Pager},
        textarea::TextArea,
        toast::{toast_outcome, use_toasts},
    },
};

pub fn health_label(h: &str) -> (&'static str, &'static str) {
    match h {
        "ok" => ("badge ok", "healthy"),
        "unknown" => ("badge", "not checked"),
        "identity_missing" => ("badge bad", "identity gone"),
        "block_missing" => ("badge bad", "block gone"),
        "unlinked" => ("badge warn", "unlinked"),
        "label_changed" => ("badge warn", "label changed"),
        "unreachable" => ("badge warn", "unreachable"),
        _ => ("badge", "unknown"),
    }
}

#[component]
fn HealthBadge(#[prop(into)] health: String) -> impl IntoView {
    let (class, text) = health_label(&health);
    view! { <span class=class>{text}</span> }
}

#[component]
pub fn PersonsPage() -> impl IntoView {
    let user = use_user();
    let can_edit = user.role >= Role::Operator;
    let query = use_query_map();
    let q = move || {
        let m = query.read();
        PersonQuery {
            search: m.get("q").unwrap_or_default(),
            sort: m.get("sort").unwrap_or_default(),
            after_key: m.get("after_key"),
            after_id: m.get("after_id").and_then(|v| v.parse().ok()),
            problems: m.get("problems").is_some_and(|v| v == "1"),
        }
    };
    let create = ServerAction::<CreatePerson>::new();
    let adopt = ServerAction::<AdoptPerson>::new();
    let import = ServerAction::<ImportPersons>::new();
    let page = Resource::new(
        move || {
            (
                q(),
                create.version().get(),
                adopt.version().get(),
                import.version().get(),
            )
        },
        |(q, ..)| list_persons(q),
    );
    view! {
        <Title text="Persons"/>
        <section class="page">
            <div class="page-head">
                <h1>"Persons"</h1>
                <div class="head-actions">
                    <a class="btn" href=EXPORT_PATH download="persons.csv">"Export CSV"</a>
                    {can_edit.then(|| view! {
                        <ImportDialog action=import/>
                        <NewPersonDialog create adopt/>
                    })}
                </div>
            </div>
            {can_edit.then(|| view! { <VerifyAll/> })}
            <form class="toolbar" role="search" method="get" action="/persons">
                <label for="person-search">"Search"</label>
                <input id="person-search" type="search" name="q" value=move || q().search placeholder="username or name starts with…"/>
                <label for="person-sort">"Sort"</label>
                <select id="person-sort" name="sort">
                    <option value="username" selected=move || q().sort.is_empty() || q().sort == "username">"Username"</option>
                    <option value="display_name" selected=move || q().sort == "display_name">"Display name"</option>
                    <option value="newest" selected=move || q().sort == "newest">"Newest first"</option>
                </select>
                <label class="check">
                    <input type="checkbox" name="problems" value="1" checked=move || q().problems/>
                    " Only with problems"
                </label>
                <button type="submit" class="btn">"Apply"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading persons…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => {
                            e.mark_page();
                            view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()
                        }
                        Ok(p) if p.persons.is_empty() => view! {
                            <p class="empty">{if q().problems { "No person has a problem at the last check." } else if q().search.is_empty() { "No persons yet." } else { "No person matches." }}</p>
                        }.into_any(),
                        Ok(p) => {
                            let cur = q();
                            let list = Href::new("/persons").param("q", &cur.search).param("sort", &cur.sort);
                            let with_problems = |h: Href| h.opt("problems", cur.problems.then_some(1)).build();
                            let next = p.next.clone().map(|(key, id)| {
                                with_problems(list.clone().param("after_key", &key).opt("after_id", Some(id)))
                            });
                            let first = cur.after_id.is_some().then(|| with_problems(list.clone()));
                            view! {
                                <p class="muted">{match (cur.problems, p.total) {
                                    (true, 1) => "1 person with a problem at the last check".to_string(),
                                    (true, n) => format!("{n} persons with problems at the last check"),
                                    (false, 1) => "1 person in all".to_string(),
                                    (false, n) => format!("{n} persons in all"),
                                }}</p>
                                <div class="table-wrap">
                                    <table>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Username"</th>
                                                <th scope="col">"Display name"</th>
                                                <th scope="col">"Health"</th>
                                                <th scope="col">"Created"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {p.persons.into_iter().map(|s| view! {
                                                <tr>
                                                    <td><A href=format!("/persons/{}", s.id)>{s.username.clone()}</A></td>
                                                    <td>{s.display_name.clone()}</td>
                                                    <td><HealthBadge health=s.health.clone()/></td>
                                                    <td class="nowrap"><Time ms=s.created_at day=true/></td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager first=first older=next older_label="Next page"/>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn NewPersonDialog(
    create: ServerAction<CreatePerson>,
    adopt: ServerAction<AdoptPerson>,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let value = create.value();
    let toasts = use_toasts();
    let username = RwSignal::new(String::new());
    let close = move || {
        if let Some(d) = dialog.get() {
            d.close();
        }
    };
    Effect::new(move |_| {
        if let Some(Ok(CreateOutcome::Created(p))) = value.get() {
            toasts.success(format!("Created {}", p.username));
            close();
        }
    });
    toast_outcome(adopt.value(), |p: &PersonSummary| {
        format!("Adopted {}", p.username)
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = adopt.value().get() {
            close();
        }
    });
    let adoptable = move || match value.get() {
        Some(Ok(CreateOutcome::Adoptable {
            name,
            identity_type,
            ..
        })) => Some((name, identity_type)),
        _ => None,
    };
    view! {
        <button type="button" class="btn primary" on:click=move |_| { if let Some(d) = dialog.get() { let _ = d.show_modal(); } }>
            "New person"
        </button>
        <dialog node_ref=dialog class="dialog" aria-label="New person">
            <ActionForm action=create>
                <h2>"New person"</h2>
                <p class="muted">"Creates a Letta identity (type user) and a Persona_ block linked to it."</p>
                <div class="field" class:invalid=move || field_error(value, "username").get().is_some()>
                    <label for="person-username">"Username"</label>
                    <input id="person-username" name="form[username]" required maxlength="42"
                        pattern="[a-z0-9_\\-]{1,42}" autocomplete="off"
                        on:input=move |ev| username.set(event_target_value(&ev))
                        aria-describedby="person-username-hint person-username-err"/>
                    <p class="hint" id="person-username-hint">"1–42 characters: a–z, 0–9, _ or -. Fixed once created."</p>
                    <p class="field-error" id="person-username-err">{field_error(value, "username")}</p>
                </div>
                <div class="field" class:invalid=move || field_error(value, "display_name").get().is_some()>
                    <label for="person-display">"Display name"</label>
                    <input id="person-display" name="form[display_name]" required maxlength="100" aria-describedby="person-display-err"/>
                    <p class="field-error" id="person-display-err">{field_error(value, "display_name")}</p>
                </div>
                <div class="field" class:invalid=move || field_error(value, "limit").get().is_some()>
                    <label for="person-limit">"Character limit of the block"</label>
                    <input id="person-limit" name="form[limit]" type="number" min="100" max="1000000" placeholder="default" aria-describedby="person-limit-err"/>
                    <p class="field-error" id="person-limit-err">{field_error(value, "limit")}</p>
                </div>
                <div class="field">
                    <label for="person-notes">"Notes"</label>
                    <textarea id="person-notes" name="form[notes]" rows="2"></textarea>
                </div>
                <FormAlert message=form_error(value)/>
                {move || adoptable().map(|(name, kind)| view! {
                    <div class="adopt" role="alert">
                        <p>{format!("Letta already has an identity with this key: \u{201c}{name}\u{201d} ({kind}). Adopt it instead of creating a duplicate?")}</p>
                        <button type="button" class="btn primary" disabled=move || adopt.pending().get()
                            on:click=move |_| { adopt.dispatch(AdoptPerson { username: username.get_untracked(), notes: String::new() }); }>
                            "Adopt the existing identity"
                        </button>
                        <FormAlert message=form_error(adopt.value())/>
                    </div>
                })}
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| close()>"Cancel"</button>
                    <button type="submit" class="btn primary" disabled=create.pending()>
                        {move || if create.pending().get() { "Creating…" } else { "Create person" }}
                    </button>
                </div>
            </ActionForm>
        </dialog>
    }
}

#[component]
fn ImportDialog(action: ServerAction<ImportPersons>) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let value = action.value();
    view! {
        <button type="button" class="btn" on:click=move |_| { if let Some(d) = dialog.get() { let _ = d.show_modal(); } }>
            "Import CSV"
        </button>
        <dialog node_ref=dialog class="dialog wide" aria-label="Import persons">
            <ActionForm action=action>
                <h2>"Import persons"</h2>
                <p class="muted">
                    "Paste CSV with the columns " <code>"username,display_name,notes"</code>
                    " (a header line is optional). Each row is created like the form does; existing persons are skipped and existing Letta identities adopted."
                </p>
                <div class="field">
                    <label for="import-csv">"CSV"</label>
                    <textarea id="import-csv" name="csv" rows="8" required></textarea>
                    <p class="field-error">{field_error(value, "csv")}</p>
                </div>
                <FormAlert message=form_error(value)/>
                {move || value.get().and_then(Result::ok).map(|rows| view! {
                    <div class="table-wrap">
                        <table aria-label="Import report">
                            <thead><tr><th scope="col">"Line"</th><th scope="col">"Username"</th><th scope="col">"Result"</th><th scope="col">"Message"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| view! {
                                    <tr>
                                        <td>{r.line}</td>
                                        <td>{r.username}</td>
                                        <td><span class=format!("badge outcome-{}", r.outcome)>{r.outcome.clone()}</span></td>
                                        <td>{r.message}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                })}
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| { if let Some(d) = dialog.get() { d.close(); } }>"Close"</button>
                    <button type="submit" class="btn primary" disabled=action.pending()>
                        {move || if action.pending().get() { "Importing…" } else { "Import" }}
                    </button>
                </div>
            </ActionForm>
        </dialog>
    }
}

/// "Verify all": runs on the server in the background; this polls its progress.
#[component]
fn VerifyAll() -> impl IntoView {
    let start = ServerAction::<StartVerifyAll>::new();
    let tick = RwSignal::new(0u32);
    let progress = Resource::new(
        move || (tick.get(), start.version().get()),
        |_| get_verify_progress(),
    );
    let running = move || {
        progress
            .get()
            .and_then(Result::ok)
            .map(|p| p.running)
            .unwrap_or(false)
    };
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if running() {
                    tick.update(|n| *n += 1)
                }
            },
            std::time::Duration::from_millis(700),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    toast_outcome(start.value(), |_| "Verification started".into());
    view! {
        <div class="verify card">
            <button type="button" class="btn" disabled=move || running() || start.pending().get()
                on:click=move |_| { start.dispatch(StartVerifyAll {}); }>
                "Verify all against Letta"
            </button>
            <Transition>
                {move || Suspend::new(async move {
                    let Ok(p) = progress.await else { return ().into_any() };
                    if p.total == 0 && !p.running {
                        return view! { <span class="muted">"Checks that every person's identity and block still exist and are linked."</span> }.into_any();
                    }
                    view! {
                        <div class="verify-status">
                            <label for="verify-progress">
                                {if p.running { format!("Verifying… {} of {}", p.done, p.total) } else { format!("Verified {} persons: {} with problems", p.done, p.problems.len()) }}
                            </label>
                            <progress id="verify-progress" max=p.total.max(1) value=p.done></progress>
                            {(!p.problems.is_empty()).then(|| view! {
                                <ul class="problems">
                                    {p.problems.into_iter().map(|(u, h, d)| view! {
                                        <li><strong>{u}</strong> " " <HealthBadge health=h/> " " {d}</li>
                                    }).collect_view()}
                                </ul>
                            })}
                        </div>
                    }.into_any()
                })}
            </Transition>
        </div>
    }
}

#[component]
pub fn PersonPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let user = use_user();
    let can_edit = user.role >= Role::Operator;
    let verify = ServerAction::<VerifyPerson>::new();
    let repair = ServerAction::<RepairPerson>::new();
    let update = ServerAction::<UpdatePerson>::new();
    let delete = ServerAction::<DeletePerson>::new();
    toast_outcome(verify.value(), |p: &PersonDetail| {
        format!("Checked: {}", health_label(&p.health).1)
    });
    toast_outcome(repair.value(), |p: &PersonDetail| {
        format!("Repaired: now {}", health_label(&p.health).1)
    });
    toast_outcome(update.value(), |_| "Saved".into());
    let navigate = use_navigate();
    let toasts = use_toasts();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            toasts.success("Person deleted");
            navigate("/persons", Default::default());
        }
    });
    let person = Resource::new(
        move || {
            (
                id(),
                verify.version().get(),
                repair.version().get(),
                update.version().get(),
            )
        },
        |(id, ..)| get_person(id),
    );
    let keep = RwSignal::new(false);
    view! {
        <Title text="Person"/>
        <section class="page narrow">
            <p><A href="/persons">"← Persons"</A></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = match person.await {
                        Ok(p) => p,
                        Err(e) => return view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    };
                    let pid = p.id;
                    let name = p.username.clone();
                    let health = p.health.clone();
                    view! {
                        <h1>{p.display_name.clone()} " " <small class="muted">{format!("@{}", p.username)}</small></h1>
                        <dl class="facts">
                            <dt>"Health"</dt>
                            <dd>
                                <HealthBadge health=p.health.clone()/>
                                " " {p.health_detail.clone().unwrap_or_default()}
                                {p.checked_at.map(|t| view! { <span class="muted">" (checked " <Time ms=t relative=true/> ")"</span> })}
                            </dd>
                            <dt>"Letta identity"</dt><dd><code>{p.identity_id.clone().unwrap_or_else(|| "—".into())}</code></dd>
                            <dt>"Persona block"</dt><dd><code data-testid="block-id">{p.block_id.clone().unwrap_or_else(|| "—".into())}</code> " " {p.block_label.clone()}</dd>
                            <dt>"Character limit"</dt><dd>{p.block_limit}</dd>
                            <dt>"Persona"</dt><dd><A href=format!("/persons/{}/persona", p.id)>"Open the persona editor"</A></dd>
                            <dt>"Created"</dt><dd><Time ms=p.created_at/></dd>
                        </dl>
                        {can_edit.then(|| view! {
                            <div class="actions left">
                                <button type="button" class="btn" disabled=move || verify.pending().get()
                                    on:click=move |_| { verify.dispatch(VerifyPerson { id: pid }); }>
                                    {move || if verify.pending().get() { "Checking…" } else { "Verify against Letta" }}
                                </button>
                                {(health == "unlinked" || health == "label_changed").then(|| view! {
                                    <button type="button" class="btn primary" on:click=move |_| { repair.dispatch(RepairPerson { id: pid, action: RepairAction::Relink }); }>"Relink block and identity"</button>
                                })}
                                {(health == "block_missing").then(|| view! {
                                    <button type="button" class="btn primary" on:click=move |_| { repair.dispatch(RepairPerson { id: pid, action: RepairAction::RecreateBlock }); }>"Recreate the block from the last known value"</button>
                                })}
                                {(health == "identity_missing").then(|| view! {
                                    <button type="button" class="btn primary" on:click=move |_| { repair.dispatch(RepairPerson { id: pid, action: RepairAction::RecreateIdentity }); }>"Recreate the identity"</button>
                                })}
                            </div>
                            <ActionForm action=update attr:class="card" attr:aria-label="Edit person">
                                <h2>"Details"</h2>
                                <input type="hidden" name="id" value=pid/>
                                <Field label="Display name" name="display_name" value=p.display_name.clone() required=true
                                    hint="The Letta identity's name follows it." error=field_error(update.value(), "display_name")/>
                                <div class="field">
                                    <label for="f-notes">"Notes"</label>
                                    <TextArea id="f-notes" name="notes" rows=3 value=p.notes.clone()/>
                                    <p class="field-error">{field_error(update.value(), "notes")}</p>
                                </div>
                                <FormAlert message=form_error(update.value())/>
                                <div class="actions">
                                    <button type="submit" class="btn primary" disabled=update.pending()>"Save"</button>
                                </div>
                            </ActionForm>
                            <div class="card danger-zone">
                                <h2>"Delete"</h2>
                                <label class="check">
                                    <input type="checkbox" prop:checked=keep on:change=move |ev| keep.set(event_target_checked(&ev))/>
                                    "Keep the identity and the block in Letta (only remove the person here)"
                                </label>
                                <FormAlert message=form_error(delete.value())/>
                                <ConfirmButton
                                    label="Delete person"
                                    title=format!("Delete {name}?")
                                    message=Signal::derive(move || if keep.get() {
                                        format!("{name} is removed from the dashboard. The identity and the Persona_{name} block stay in Letta.")
                                    } else {
                                        format!("{name} is removed from the dashboard, and the identity and the Persona_{name} block are deleted in Letta (the block is detached from every agent).")
                                    })
                                    confirm_label="Delete person"
                                    danger=true
                                    on_confirm=Callback::new(move |_| { delete.dispatch(DeletePerson { id: pid, keep_in_letta: keep.get_untracked() }); })
                                />
                            </div>
                        })}
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

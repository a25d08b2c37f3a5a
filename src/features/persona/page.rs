use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use super::{
    api::*,
    doc::{parse, render, PersonaDoc},
};
use crate::{
    auth::Role,
    components::{
        block_edit::{BlockDraft, BlockSettings, BlockUsage, ConflictChoice, VersionHistory},
        layout::use_user,
        toast::use_toasts,
    },
    error::AppError,
};

#[component]
pub fn PersonaPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let persona = Resource::new(id, get_persona);
    // Created here, at the page's top level, not inside the suspended editor: a resource made
    // while a streamed view resolves hydrates depending on timing.
    let history_version = RwSignal::new(0u32);
    let history = Resource::new(
        move || (id(), history_version.get()),
        |(id, _)| persona_history(id),
    );
    view! {
        <Title text="Persona"/>
        <section class="page">
            <p><A href=move || format!("/persons/{}", id())>"← Person"</A></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading the persona block…"</p> }>
                {move || Suspend::new(async move {
                    match persona.await {
                        Ok(p) => view! { <Editor initial=p history history_version/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Form,
    Raw,
}

/// One editable row, with a stable key for the list.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: u64,
    a: RwSignal<String>,
    b: RwSignal<String>,
}

#[component]
fn Editor(
    initial: PersonaState,
    history: Resource<Result<Vec<Version>, AppError>>,
    history_version: RwSignal<u32>,
) -> impl IntoView {
    let user = use_user();
    let can_edit = user.role >= Role::Operator && !initial.read_only;
    let toasts = use_toasts();
    let person_id = initial.person_id;
    // The value the editor loaded: a save only goes through if the block still has it.
    let draft = BlockDraft::new(
        initial.value.clone(),
        initial.limit,
        initial.description.clone(),
    );
    let BlockDraft { base, text, .. } = draft;
    let next_key = StoredValue::new(0u64);
    let fresh = move || {
        let k = next_key.get_value();
        next_key.set_value(k + 1);
        k
    };
    let name = RwSignal::new(String::new());
    let prefs = RwSignal::new(Vec::<Row>::new());
    let entries = RwSignal::new(Vec::<Row>::new());
    let why_raw = RwSignal::new(None::<String>);
    let mode = RwSignal::new(Mode::Raw);

    // Loads the form from the text; stays in raw mode (and says why) if it is not the document.
    let to_form = move || match parse(&text.get_untracked()) {
        Ok(doc) => {
            name.set(doc.name);
            prefs.set(
                doc.preferences
                    .into_iter()
                    .map(|(k, v)| Row {
                        key: fresh(),
                        a: RwSignal::new(k),
                        b: RwSignal::new(v),
                    })
                    .collect(),
            );
            entries.set(
                doc.conversation_history
                    .into_iter()
                    .map(|e| Row {
                        key: fresh(),
                        a: RwSignal::new(e),
                        b: RwSignal::new(String::new()),
                    })
                    .collect(),
            );
            why_raw.set(None);
            mode.set(Mode::Form);
        }
        Err(reason) => {
            why_raw.set(Some(reason));
            mode.set(Mode::Raw);
        }
    };
    to_form();
    // In form mode the text follows the form.
    Effect::new(move |_| {
        if mode.get() == Mode::Form {
            let doc = PersonaDoc {
                name: name.get(),
                preferences: prefs.get().iter().map(|r| (r.a.get(), r.b.get())).collect(),
                conversation_history: entries.get().iter().map(|r| r.a.get()).collect(),
            };
            text.set(render(&doc));
        }
    });

    let duplicate_key = move || {
        let keys: Vec<String> = prefs.get().iter().map(|r| r.a.get()).collect();
        keys.iter()
            .enumerate()
            .any(|(i, k)| k.trim().is_empty() || keys[..i].contains(k))
    };

    let save = ServerAction::<SavePersona>::new();
    let restore = ServerAction::<RestorePersona>::new();
    let conflict = RwSignal::new(None::<PersonaState>);

    let handle = move |r: Option<Result<SaveOutcome, AppError>>, what: &'static str| match r {
        Some(Ok(SaveOutcome::Saved(s))) => {
            history_version.update(|n| *n += 1);
            draft.saved(&s.value, s.limit);
            conflict.set(None);
            if what == "Restored" {
                text.set(s.value);
                to_form();
            }
            toasts.success(what);
        }
        Some(Ok(SaveOutcome::Conflict { server })) => {
            // The server's value was recorded as "observed" while checking.
            history_version.update(|n| *n += 1);
            conflict.set(Some(server))
        }
        Some(Err(e)) => toasts.error(e.to_string()),
        None => {}
    };
    Effect::new(move |_| handle(save.value().get(), "Saved"));
    Effect::new(move |_| handle(restore.value().get(), "Restored"));
    let field_err = move || {
        save.value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field("value").or(e.for_field("limit")))
    };
    let do_save = move |base_value: String| {
        save.dispatch(SavePersona {
            save: PersonaSave {
                person_id,
                base: base_value,
                value: text.get_untracked(),
                limit: draft.limit_input.get_untracked(),
                description: Some(draft.description.get_untracked()),
            },
        });
    };

    view! {
        <div class="page-head">
            <h1>{format!("Persona_{}", initial.username)}</h1>
            <div class="mode-switch" role="group" aria-label="Editing mode">
                <button type="button" class="btn" aria-pressed=move || (mode.get() == Mode::Form).to_string() on:click=move |_| to_form()>"Form"</button>
                <button type="button" class="btn" aria-pressed=move || (mode.get() == Mode::Raw).to_string() on:click=move |_| mode.set(Mode::Raw)>"Raw text"</button>
            </div>
        </div>
        {initial.read_only.then(|| view! { <p class="notice" role="note">"This block is read-only: the dashboard will not change it."</p> })}
        {move || why_raw.get().map(|w| view! { <p class="notice" role="note" data-testid="raw-reason">{format!("Raw mode: {w}")}</p> })}
        <div class="editor-grid">
            <div class="card">
                {move || if mode.get() == Mode::Raw {
                    view! {
                        <div class="field">
                            <label for="persona-raw">"Block value"</label>
                            <textarea id="persona-raw" rows="16" class="mono" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <div class="field">
                            <label for="persona-name">"Name"</label>
                            <input id="persona-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                        </div>
                        <fieldset class="rows">
                            <legend>"Preferences"</legend>
                            <For each=move || prefs.get() key=|r| r.key let:row>
                                <div class="kv">
                                    <input aria-label="Preference" placeholder="preference" prop:value=row.a on:input=move |ev| row.a.set(event_target_value(&ev))/>
                                    <input aria-label=move || format!("Value of {}", row.a.get()) placeholder="value" prop:value=row.b on:input=move |ev| row.b.set(event_target_value(&ev))/>
                                    <button type="button" class="btn ghost" aria-label=move || format!("Remove {}", row.a.get())
                                        on:click=move |_| prefs.update(|v| v.retain(|r| r.key != row.key))>"Remove"</button>
                                </div>
                            </For>
                            {move || duplicate_key().then(|| view! { <p class="field-error">"Each preference needs a name, and names must differ."</p> })}
                            <button type="button" class="btn" on:click=move |_| prefs.update(|v| v.push(Row { key: fresh(), a: RwSignal::new(String::new()), b: RwSignal::new(String::new()) }))>"Add preference"</button>
                        </fieldset>
                        <fieldset class="rows">
                            <legend>"Conversation history"</legend>
                            <ol class="entries">
                                <For each=move || entries.get() key=|r| r.key let:row>
                                    <li class="kv">
                                        <input aria-label="History entry" prop:value=row.a on:input=move |ev| row.a.set(event_target_value(&ev))/>
                                        <button type="button" class="btn ghost" aria-label="Move up" on:click=move |_| entries.update(|v| {
                                            if let Some(i) = v.iter().position(|r| r.key == row.key) { if i > 0 { v.swap(i, i - 1) } }
                                        })>"↑"</button>
                                        <button type="button" class="btn ghost" aria-label="Remove entry" on:click=move |_| entries.update(|v| v.retain(|r| r.key != row.key))>"Remove"</button>
                                    </li>
                                </For>
                            </ol>
                            <button type="button" class="btn" on:click=move |_| entries.update(|v| v.push(Row { key: fresh(), a: RwSignal::new(String::new()), b: RwSignal::new(String::new()) }))>"Add entry"</button>
                        </fieldset>
                    }.into_any()
                }}
                <BlockUsage draft id="persona-usage".to_string() error=Signal::derive(field_err)/>
                {(user.role >= Role::Operator).then(|| view! { <BlockSettings draft prefix="persona".to_string()/> })}
                <div class="actions">
                    <button type="button" class="btn primary" disabled=move || !can_edit || draft.over() || duplicate_key() || save.pending().get()
                        on:click=move |_| do_save(base.get_untracked())>
                        {move || if save.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                </div>
            </div>
            <History history text restore person_id base can_edit/>
        </div>
        {move || conflict.get().map(|server| view! {
            <ConflictChoice server=server.value text base
                keep_mine=Callback::new(do_save)
                on_take=Callback::new(move |_| {
                    conflict.set(None);
                    to_form();
                })
                on_merge=Callback::new(move |_| {
                    mode.set(Mode::Raw);
                    conflict.set(None);
                })/>
        })}
    }
}

#[component]
fn History(
    history: Resource<Result<Vec<Version>, AppError>>,
    text: RwSignal<String>,
    restore: ServerAction<RestorePersona>,
    person_id: i64,
    base: RwSignal<String>,
    can_edit: bool,
) -> impl IntoView {
    view! {
        <aside class="card history" aria-label="History">
            <h2>"History"</h2>
            <VersionHistory history text can_edit
                on_restore=Callback::new(move |version_id| {
                    restore.dispatch(RestorePersona { person_id, version_id, base: base.get_untracked() });
                })/>
        </aside>
    }
}

//! The one block editor's parts, shared by every screen that edits a memory block (a person's
//! persona, any block on an agent page): the draft (value, the value it is based on, limit,
//! description), the usage bar with the limit enforced, the limit and description fields, the
//! choice after a conflicting save, and the history with its diffs and restore. The save
//! itself is one sequence on the server (`crate::blocks::save`); a screen adds only what is
//! its own (the persona's form mode, the agent page's block list).

use leptos::prelude::*;

use super::{
    confirm::ConfirmButton,
    diff::{ConflictDiff, VersionDiff},
    time::Time,
};
use crate::{blocks::model::Version, error::AppError};

/// What a block editor holds: the text, the value it was loaded with (a save goes through only
/// if the block still has it), and the limit and description as typed.
#[derive(Clone, Copy)]
pub struct BlockDraft {
    pub base: RwSignal<String>,
    pub text: RwSignal<String>,
    /// The block's limit as last saved.
    pub limit: RwSignal<i64>,
    /// The limit field's text (what a save sends; the server checks it).
    pub limit_input: RwSignal<String>,
    pub description: RwSignal<String>,
}

impl BlockDraft {
    pub fn new(value: String, limit: i64, description: String) -> Self {
        BlockDraft {
            base: RwSignal::new(value.clone()),
            text: RwSignal::new(value),
            limit: RwSignal::new(limit),
            limit_input: RwSignal::new(limit.to_string()),
            description: RwSignal::new(description),
        }
    }

    /// The text's length as Letta counts it (characters, not bytes).
    pub fn chars(&self) -> i64 {
        self.text.with(|t| t.chars().count()) as i64
    }

    /// The limit typed in the field, or the saved one while the field does not parse.
    pub fn effective_limit(&self) -> i64 {
        self.limit_input
            .with(|l| l.trim().parse::<i64>().ok())
            .unwrap_or_else(|| self.limit.get())
    }

    /// Over the limit: the editor refuses to save (Letta would store it anyway).
    pub fn over(&self) -> bool {
        self.chars() > self.effective_limit()
    }

    /// A save (or restore) went through with this value and limit: the new base.
    pub fn saved(&self, value: &str, limit: i64) {
        self.base.set(value.to_owned());
        self.limit.set(limit);
    }
}

/// The draft's length against its limit, as a bar, and the refusal when it is over; `error`
/// is the server's message about the value or the limit.
#[component]
pub fn BlockUsage(
    draft: BlockDraft,
    /// The bar's element id (unique on the page).
    id: String,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="usage">
            <label for=id.clone()>{move || format!("{} / {} characters", draft.chars(), draft.effective_limit())}</label>
            <progress id=id class:over=move || draft.over() max=move || draft.effective_limit().max(1) value=move || draft.chars().min(draft.effective_limit())></progress>
            {move || draft.over().then(|| view! { <p class="field-error" role="alert">"Over the block's limit: Letta would store it anyway, so the dashboard refuses to save it."</p> })}
            <p class="field-error">{error}</p>
        </div>
    }
}

/// The limit and description fields of a block (for those who may change them). `prefix`
/// makes the ids unique on the page.
#[component]
pub fn BlockSettings(draft: BlockDraft, prefix: String) -> impl IntoView {
    let (limit_id, description_id) = (format!("{prefix}-limit"), format!("{prefix}-description"));
    view! {
        <div class="field-row">
            <div class="field">
                <label for=limit_id.clone()>"Character limit"</label>
                <input id=limit_id type="number" min="100" max="1000000" prop:value=draft.limit_input
                    on:input=move |ev| draft.limit_input.set(event_target_value(&ev))/>
            </div>
            <div class="field grow">
                <label for=description_id.clone()>"Description"</label>
                <input id=description_id prop:value=draft.description
                    on:input=move |ev| draft.description.set(event_target_value(&ev))/>
            </div>
        </div>
    }
}

/// After a save found the block changed on the server: the two values side by side and the
/// three ways on. `text` and `base` are the editor's value and the value it started from.
#[component]
pub fn ConflictChoice(
    /// The block's value on the server now.
    server: String,
    text: RwSignal<String>,
    base: RwSignal<String>,
    /// "Keep mine": save the editor's value over `server` (the new base).
    keep_mine: Callback<String>,
    /// After "Take the server's" (text and base are the server's value): close the choice.
    on_take: Callback<()>,
    /// After "Merge by hand" (the text stays, now based on the server's value): close it.
    on_merge: Callback<()>,
) -> impl IntoView {
    let mine = text.get_untracked();
    let (theirs, theirs2, theirs3) = (server.clone(), server.clone(), server.clone());
    view! {
        <section class="card conflict" role="alertdialog" aria-label="The block changed while you edited it">
            <h2>"The block changed while you edited it"</h2>
            <p>"Nothing was saved. The agent (or someone else) changed it since you opened it. Compare, then choose."</p>
            <ConflictDiff server mine/>
            <div class="actions left">
                <button type="button" class="btn primary" on:click=move |_| keep_mine.run(theirs.clone())>"Keep mine"</button>
                <button type="button" class="btn" on:click=move |_| {
                    text.set(theirs2.clone());
                    base.set(theirs2.clone());
                    on_take.run(());
                }>"Take the server's"</button>
                <button type="button" class="btn" on:click=move |_| {
                    base.set(theirs3.clone());
                    on_merge.run(());
                }>"Merge by hand"</button>
            </div>
        </section>
    }
}

/// A block's history, newest first: when, how and by whom each value came, a diff against
/// the editor's text, and (for editors) "Restore" behind a confirm dialog.
#[component]
pub fn VersionHistory(
    history: Resource<Result<Vec<Version>, AppError>>,
    /// The editor's text, the right side of every diff.
    text: RwSignal<String>,
    can_edit: bool,
    /// Restore the version with this id.
    on_restore: Callback<i64>,
) -> impl IntoView {
    let open = RwSignal::new(None::<i64>);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let versions = match history.await {
                    Ok(v) => v,
                    Err(e) => return view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                };
                if versions.is_empty() {
                    return view! { <p class="muted">"No history yet."</p> }.into_any();
                }
                view! {
                    <ol class="versions">
                        {versions.into_iter().map(|v| {
                            let id = v.id;
                            let value = v.value.clone();
                            view! {
                                <li>
                                    <div class="version-head">
                                        <span><Time ms=v.at/></span>
                                        <span class="badge">{v.source.clone()}</span>
                                        <span class="muted">{v.actor.clone().unwrap_or_else(|| "Letta".into())}</span>
                                    </div>
                                    <div class="actions left">
                                        <button type="button" class="btn ghost" aria-expanded=move || (open.get() == Some(id)).to_string()
                                            on:click=move |_| open.update(|o| *o = if *o == Some(id) { None } else { Some(id) })>"Diff with current"</button>
                                        {can_edit.then(|| view! {
                                            <ConfirmButton label="Restore" title="Restore this version?"
                                                message="The block gets this version's value (the current one stays in the history)."
                                                confirm_label="Restore"
                                                on_confirm=Callback::new(move |_| on_restore.run(id))/>
                                        })}
                                    </div>
                                    {move || (open.get() == Some(id)).then(|| view! { <VersionDiff old=value.clone() current=text.get()/> })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            })}
        </Transition>
    }
}

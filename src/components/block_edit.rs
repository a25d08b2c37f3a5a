//! The parts every memory-block editor shares (a person's persona, any block on an agent
//! page): the choice after a conflicting save, and the history with its diffs and restore.
//! The save itself is one sequence on the server (`crate::blocks::save`); each editor keeps
//! only its own fields.

use leptos::prelude::*;

use super::{
    confirm::ConfirmButton,
    diff::{ConflictDiff, VersionDiff},
    time::Time,
};
use crate::{blocks::model::Version, error::AppError};

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

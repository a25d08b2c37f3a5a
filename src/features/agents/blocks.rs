//! The agent's core memory blocks: a usage bar each (characters / limit), persona blocks
//! flagged (and detachable, behind a confirm, when no chat turn holds them), and an editor with
//! the persona editor's rules: the limit enforced, no silent overwrite (a conflict shows both
//! versions), history with restore.

use leptos::prelude::*;

use super::api::*;
use crate::{
    components::block_edit::{
        BlockDraft, BlockSettings, BlockUsage, ConflictChoice, VersionHistory,
    },
    components::{confirm::ConfirmButton, toast::use_toasts},
    error::AppError,
};

/// The block editor's page-level state: which block is open, and its history.
#[derive(Clone, Copy)]
pub struct BlocksRes {
    pub editing: RwSignal<Option<String>>,
    pub history_version: RwSignal<u32>,
    pub history: Resource<Result<Vec<Version>, AppError>>,
}

impl BlocksRes {
    pub fn new(id: impl Fn() -> String + Copy + Send + Sync + 'static) -> Self {
        let editing = RwSignal::new(None::<String>);
        let history_version = RwSignal::new(0u32);
        let history = Resource::new(
            move || (id(), editing.get(), history_version.get()),
            |(id, block, _)| async move {
                match block {
                    None => Ok(vec![]),
                    Some(b) => block_history(id, b).await,
                }
            },
        );
        BlocksRes {
            editing,
            history_version,
            history,
        }
    }
}

#[component]
pub fn BlocksCard(current: RwSignal<AgentDetail>, res: BlocksRes, operator: bool) -> impl IntoView {
    let detach = ServerAction::<DetachAgentBlock>::new();
    // The block being detached (an action's input is gone once it has finished).
    let detaching = RwSignal::new(None::<String>);
    let toasts = use_toasts();
    Effect::new(move |_| match detach.value().get() {
        Some(Ok(())) => {
            toasts.success("Block detached");
            if let Some(b) = detaching.get_untracked() {
                current.update(|d| d.blocks.retain(|x| x.id != b));
            }
        }
        Some(Err(e)) => toasts.error(e.to_string()),
        None => {}
    });
    let agent_id = current.with_untracked(|d| d.id.clone());
    view! {
        <section class="card wide-card" aria-labelledby="agent-memory-h">
            <h2 id="agent-memory-h">"Core memory"</h2>
            {move || {
                let blocks = current.with(|d| d.blocks.clone());
                if blocks.is_empty() {
                    return view! { <p class="muted">"This agent has no core memory blocks."</p> }.into_any();
                }
                let agent_id = agent_id.clone();
                view! {
                    <ul class="block-list">
                        {blocks.into_iter().map(|b| {
                            let chars = b.chars();
                            let over = chars > b.limit;
                            let bid = b.id.clone();
                            let bid2 = b.id.clone();
                            let bid3 = b.id.clone();
                            let aid = agent_id.clone();
                            let usage_id = format!("usage-{}", b.id);
                            let bid4 = b.id.clone();
                            let open = move || res.editing.get().as_deref() == Some(bid.as_str());
                            let open2 = move || res.editing.get().as_deref() == Some(bid4.as_str());
                            let label = b.label.clone();
                            let block = b.clone();
                            view! {
                                <li class="core-block" data-testid=format!("block-{label}")>
                                    <div class="block-head">
                                        <strong>{b.label.clone()}</strong>
                                        {b.read_only.then(|| view! { <span class="badge">"read-only"</span> })}
                                        {b.persona_of.clone().map(|p| view! {
                                            <span class="badge warn" title="A person's Persona_ block: normally attached only during a chat turn">
                                                {format!("persona of {} · attached now", p.username)}
                                            </span>
                                        })}
                                        <code class="muted">{b.id.clone()}</code>
                                    </div>
                                    <div class="usage">
                                        <label for=usage_id.clone()>{format!("{chars} / {} characters", b.limit)}</label>
                                        <progress id=usage_id class:over=over max=b.limit.max(1) value=chars.min(b.limit)></progress>
                                    </div>
                                    {(!b.description.is_empty()).then(|| view! { <p class="hint">{b.description.clone()}</p> })}
                                    <div class="actions left">
                                        <button type="button" class="btn" aria-expanded=move || open().to_string()
                                            on:click=move |_| res.editing.update(|e| *e = if e.as_deref() == Some(bid2.as_str()) { None } else { Some(bid2.clone()) })>
                                            {if operator && !b.read_only { "Edit" } else { "View" }}
                                        </button>
                                        {b.foreign_persona().then(|| view! {
                                            <span class="badge outcome-failed" title="A Persona_ block no dashboard person owns: every chat turn on this agent refuses to send while it is attached">
                                                "persona of no dashboard person · blocks chat"
                                            </span>
                                        })}
                                        {(operator && (b.persona_of.is_some() || b.foreign_persona())).then(|| {
                                            let who = b.persona_of.clone().map(|p| p.username).unwrap_or_else(|| b.label.trim_start_matches("Persona_").to_string());
                                            view! {
                                                <ConfirmButton
                                                    label="Detach"
                                                    aria_label=format!("Detach the persona block of {who}")
                                                    title=format!("Detach Persona_{who}?")
                                                    message=format!("The block stays (it is {who}'s persona); the agent just stops seeing it. A chat turn attaches it again when {who} next chats. If a turn is using it right now, nothing is detached.")
                                                    confirm_label="Detach"
                                                    disabled=detach.pending()
                                                    on_confirm=Callback::new(move |_| {
                                                        detaching.set(Some(bid3.clone()));
                                                        detach.dispatch(DetachAgentBlock { agent_id: aid.clone(), block_id: bid3.clone() });
                                                    })
                                                />
                                            }
                                        })}
                                    </div>
                                    {move || open2().then(|| view! { <BlockEditor block=block.clone() current res operator/> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn BlockEditor(
    block: CoreBlock,
    current: RwSignal<AgentDetail>,
    res: BlocksRes,
    operator: bool,
) -> impl IntoView {
    let can_edit = operator && !block.read_only;
    let toasts = use_toasts();
    let agent_id = current.with_untracked(|d| d.id.clone());
    let block_id = block.id.clone();
    let draft = BlockDraft::new(block.value.clone(), block.limit, block.description.clone());
    let BlockDraft { base, text, .. } = draft;
    let conflict = RwSignal::new(None::<CoreBlock>);
    let save = ServerAction::<SaveAgentBlock>::new();
    let restore = ServerAction::<RestoreAgentBlock>::new();
    let handle = move |r: Option<Result<BlockSaveOutcome, AppError>>, what: &'static str| match r {
        Some(Ok(BlockSaveOutcome::Saved(b))) => {
            res.history_version.update(|n| *n += 1);
            draft.saved(&b.value, b.limit);
            text.set(b.value.clone());
            conflict.set(None);
            current.update(|d| {
                if let Some(x) = d.blocks.iter_mut().find(|x| x.id == b.id) {
                    *x = b;
                }
            });
            toasts.success(what);
        }
        Some(Ok(BlockSaveOutcome::Conflict { server })) => {
            res.history_version.update(|n| *n += 1);
            conflict.set(Some(server));
        }
        Some(Err(e)) => toasts.error(e.to_string()),
        None => {}
    };
    Effect::new(move |_| handle(save.value().get(), "Block saved"));
    Effect::new(move |_| handle(restore.value().get(), "Block restored"));
    let field_err = move || {
        save.value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field("value").or(e.for_field("limit")))
    };
    let do_save = {
        let (agent_id, block_id) = (agent_id.clone(), block_id.clone());
        move |base_value: String| {
            save.dispatch(SaveAgentBlock {
                save: BlockSave {
                    agent_id: agent_id.clone(),
                    block_id: block_id.clone(),
                    base: base_value,
                    value: text.get_untracked(),
                    limit: draft.limit_input.get_untracked(),
                    description: Some(draft.description.get_untracked()),
                },
            });
        }
    };
    let do_save2 = do_save.clone();
    let ta_id = format!("block-value-{}", block.id);
    let usage_id = format!("block-usage-{}", block.id);
    let prefix = format!("block-{}", block.id);
    let (r_agent, r_block) = (agent_id.clone(), block_id.clone());
    view! {
        <div class="block-editor">
            {block.read_only.then(|| view! { <p class="notice" role="note">"This block is read-only: the dashboard will not change it."</p> })}
            {block.persona_of.clone().map(|p| view! { <p class="hint">{format!("Saved through {}'s persona editor: the same history and checks.", p.username)}</p> })}
            <div class="field">
                <label for=ta_id.clone()>{format!("Value of {}", block.label)}</label>
                <textarea id=ta_id rows="10" class="mono" readonly=!can_edit prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            </div>
            <BlockUsage draft id=usage_id error=Signal::derive(field_err)/>
            {can_edit.then(|| view! {
                <BlockSettings draft prefix/>
                <div class="actions left">
                    <button type="button" class="btn primary" disabled=move || draft.over() || save.pending().get()
                        on:click=move |_| do_save(base.get_untracked())>
                        {move || if save.pending().get() { "Saving…" } else { "Save block" }}
                    </button>
                    <button type="button" class="btn" on:click=move |_| text.set(base.get_untracked())>"Undo changes"</button>
                </div>
            })}
            {move || conflict.get().map(|server| {
                let do_save = do_save2.clone();
                view! {
                    <ConflictChoice server=server.value text base
                        keep_mine=Callback::new(do_save)
                        on_take=Callback::new(move |_| conflict.set(None))
                        on_merge=Callback::new(move |_| conflict.set(None))/>
                }
            })}
            <details class="history">
                <summary>"History"</summary>
                <VersionHistory history=res.history text can_edit
                    on_restore=Callback::new(move |version_id| {
                        restore.dispatch(RestoreAgentBlock {
                            agent_id: r_agent.clone(),
                            block_id: r_block.clone(),
                            version_id,
                            base: base.get_untracked(),
                        });
                    })/>
            </details>
        </div>
    }
}

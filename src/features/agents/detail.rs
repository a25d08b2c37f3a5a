//! One agent (`/agents/:id`): details (rename, description, tags), linked identities, the
//! persons who chatted with it, core memory, the context window, archival memory, delete.
//! Every resource is created here at the page's top level (never inside a suspended view).

use crate::components::time::iso_or;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{
    api::*,
    archival::{ArchivalCard, ArchivalRes},
    blocks::{BlocksCard, BlocksRes},
    context::ContextCard,
};
use crate::{
    auth::Role,
    components::{
        confirm::ConfirmButton,
        field::{AreaField, FormAlert, FormCtl, TextField},
        layout::{use_user, RequireRole},
        link_card::{after_link_change, LinkCard, LinkItem, LinkWords},
        toast::{toast_outcome, use_toasts},
    },
    error::AppError,
};

#[component]
pub fn AgentPage() -> impl IntoView {
    view! {
        <Title text="Agent"/>
        <RequireRole role=Role::Staff>
            <AgentView/>
        </RequireRole>
    }
}

#[component]
fn AgentView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Keyed on the id only: cards update their own state after a save.
    let detail = Resource::new(id, get_agent);
    let context_version = RwSignal::new(0u32);
    let context = Resource::new(
        move || (id(), context_version.get()),
        |(id, _)| agent_context(id),
    );
    let blocks = BlocksRes::new(id);
    let archival = ArchivalRes::new(id);
    let searched = RwSignal::new(None::<String>);
    let links = RwSignal::new(0u32);
    let choices = Resource::new(
        move || (id(), searched.get(), links.get()),
        |(id, s, _)| async move {
            match s {
                None => Ok(vec![]),
                Some(s) => agent_identity_choices(id, s).await.map(identity_choices),
            }
        },
    );
    view! {
        <section class="page agent">
            <p><a href="/agents">"← All agents"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the agent…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(e) => view! {
                            <h1>"Agent"</h1>
                            <p class="form-error" role="alert">{e.to_string()}</p>
                        }
                            .into_any(),
                        Ok(d) => view! {
                            <AgentScreen detail=d context context_version blocks archival searched links choices/>
                        }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[allow(clippy::too_many_arguments)]
#[component]
fn AgentScreen(
    detail: AgentDetail,
    context: Resource<Result<ContextView, AppError>>,
    context_version: RwSignal<u32>,
    blocks: BlocksRes,
    archival: ArchivalRes,
    searched: RwSignal<Option<String>>,
    links: RwSignal<u32>,
    choices: Resource<Result<Vec<LinkItem>, AppError>>,
) -> impl IntoView {
    let user = use_user();
    let operator = user.role >= Role::Operator;
    let current = RwSignal::new(detail.clone());
    view! {
        <div class="page-head">
            <h1>{move || current.with(|d| d.name.clone())}</h1>
            <nav class="row-actions" aria-label="Sections">
                <a class="btn ghost" href="#agent-memory-h">"Core memory"</a>
                <a class="btn ghost" href="#agent-context-h">"Context window"</a>
                <a class="btn ghost" href="#agent-archival-h">"Archival memory"</a>
            </nav>
        </div>
        <dl class="facts agent-facts">
            <dt>"Model"</dt>
            <dd><code data-testid="agent-model">{detail.model.clone().unwrap_or_else(|| "—".into())}</code></dd>
            <dt>"Embedding"</dt>
            <dd><code>{detail.embedding.clone().unwrap_or_else(|| "none (archival memory needs one)".into())}</code></dd>
            <dt>"Letta id"</dt>
            <dd><code>{detail.id.clone()}</code></dd>
            <dt>"Created"</dt>
            <dd>{iso_or(detail.created_at.clone(), "", false)}</dd>
            <dt>"Last run"</dt>
            <dd>{iso_or(detail.last_run.clone(), "never", true)}</dd>
            <dt>"Description"</dt>
            <dd>{move || current.with(|d| if d.description.is_empty() { "—".to_string() } else { d.description.clone() })}</dd>
            <dt>"Tags"</dt>
            <dd>{move || {
                let tags = current.with(|d| d.tags.clone());
                if tags.is_empty() {
                    view! { <span class="muted">"none"</span> }.into_any()
                } else {
                    tags.into_iter().map(|t| view! { <span class="badge tag">{t}</span>" " }).collect_view().into_any()
                }
            }}</dd>
        </dl>
        <div class="agent-grid">
            {operator.then(|| view! { <DetailsCard current/> })}
            <IdentitiesCard current operator searched links choices/>
            <ChattersCard current/>
            <BlocksCard current res=blocks operator/>
            <ContextCard context context_version/>
            <ArchivalCard agent_id=detail.id.clone() res=archival operator context_version/>
            {operator.then(|| view! { <DeleteCard current/> })}
        </div>
    }
}

#[component]
fn DetailsCard(current: RwSignal<AgentDetail>) -> impl IntoView {
    const P: &str = "agent-edit";
    let save = ServerAction::<EditAgent>::new();
    let start = current.get_untracked();
    let name = RwSignal::new(start.name.clone());
    let description = RwSignal::new(start.description.clone());
    let tags = RwSignal::new(start.tags.join(", "));
    let toasts = use_toasts();
    let input = move || AgentEditInput {
        name: name.get(),
        description: description.get(),
        tags: tags.get(),
    };
    let form = FormCtl::new(move || edit_problems(&input()), |f| format!("{P}-{f}"));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(s)) => {
            toasts.success(format!("Saved {}", s.name));
            let i = AgentEditInput {
                name: name.get_untracked(),
                description: description.get_untracked(),
                tags: tags.get_untracked(),
            };
            current.update(|d| {
                d.name = s.name.clone();
                d.description = i.description.trim().to_string();
                d.tags = parse_tags(&i.tags);
            });
            form.saved();
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    let id = start.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.submit() {
            save.dispatch(EditAgent {
                id: id.clone(),
                input: input(),
            });
        }
    };
    view! {
        <section class="card" aria-labelledby="agent-details-h">
            <h2 id="agent-details-h">"Name, description and tags"</h2>
            <form on:submit=submit novalidate aria-label="Agent details">
                <TextField label="Name" id=format!("{P}-name") value=name error=form.error("name") required=true/>
                <AreaField label="Description" id=format!("{P}-description") value=description error=form.error("description") rows=2/>
                <TextField label="Tags" id=format!("{P}-tags") value=tags error=form.error("tags") hint="Comma-separated."/>
                <FormAlert message=form.general()/>
                <div class="actions">
                    <button type="submit" class="btn primary" disabled=save.pending()>
                        {move || if save.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

const IDENTITY_LINKS: LinkWords = LinkWords {
    heading_id: "agent-identities-h",
    field_id: "agent-identity-search",
    title: "Linked identities",
    noun: "identity",
    empty: "No identity is linked to this agent.",
    search_aria: "Search identities to link",
    search_label: "Find an identity to link",
    placeholder: "Part of the name",
    search_button: "Find identities",
    looking: "Looking for identities…",
    no_match: "No identity matches.",
};

fn identity_item(i: LinkedIdentity) -> LinkItem {
    LinkItem {
        extra: i.person.map(|p| {
            (
                format!("/persons/{}", p.id),
                format!("person {}", p.username),
            )
        }),
        id: i.id,
        name: i.name,
        code: i.identifier_key,
        linked: true,
    }
}

/// The identities search's results as the link card lists them.
fn identity_choices(list: Vec<IdentityChoice>) -> Vec<LinkItem> {
    list.into_iter()
        .map(|c| LinkItem {
            id: c.id,
            name: c.name,
            code: c.identifier_key,
            extra: None,
            linked: c.linked,
        })
        .collect()
}

#[component]
fn IdentitiesCard(
    current: RwSignal<AgentDetail>,
    operator: bool,
    searched: RwSignal<Option<String>>,
    links: RwSignal<u32>,
    choices: Resource<Result<Vec<LinkItem>, AppError>>,
) -> impl IntoView {
    let link = ServerAction::<LinkAgentIdentity>::new();
    let unlink = ServerAction::<UnlinkAgentIdentity>::new();
    let id = current.with_untracked(|d| d.id.clone());
    toast_outcome(link.value(), |_| "Identity linked".into());
    toast_outcome(unlink.value(), |_| "Identity unlinked".into());
    {
        let id = id.clone();
        after_link_change(link.value(), unlink.value(), links, move || {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = get_agent(id).await {
                    current.update(|d| d.identities = fresh.identities);
                }
            });
        });
    }
    let (link_id, unlink_id) = (id.clone(), id);
    view! {
        <LinkCard
            words=IDENTITY_LINKS
            owner=Signal::derive(move || current.with(|d| d.name.clone()))
            linked=Signal::derive(move || current.with(|d| d.identities.iter().cloned().map(identity_item).collect()))
            can_edit=operator
            searched
            choices
            pending=link.pending()
            on_link=Callback::new(move |identity_id| {
                link.dispatch(LinkAgentIdentity { id: link_id.clone(), identity_id });
            })
            on_unlink=Callback::new(move |identity_id| {
                unlink.dispatch(UnlinkAgentIdentity { id: unlink_id.clone(), identity_id });
            })
        />
    }
}

#[component]
fn ChattersCard(current: RwSignal<AgentDetail>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="agent-chatters-h">
            <h2 id="agent-chatters-h">"Who chatted with it"</h2>
            <p class="hint">{format!("From the sender of each user message among the newest {CHATTER_SCAN} messages.")}</p>
            {move || {
                let list = current.with(|d| d.chatters.clone());
                if list.is_empty() {
                    return view! { <p class="muted">"No messages with a sender yet."</p> }.into_any();
                }
                view! {
                    <table class="compact">
                        <thead><tr><th scope="col">"Sender"</th><th scope="col" class="num">"Messages"</th><th scope="col">"Last"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|c| view! {
                                <tr>
                                    <td>{match c.person {
                                        Some(p) => view! { <a href=format!("/persons/{}", p.id)>{p.username}</a> }.into_any(),
                                        None => view! { <code title="Not a dashboard person">{c.sender_id}</code> }.into_any(),
                                    }}</td>
                                    <td class="num">{c.messages}</td>
                                    <td class="nowrap">{iso_or(c.last_at.clone(), "", true)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// What a delete takes with it, for the confirm dialog.
pub fn delete_message(d: &AgentDetail) -> String {
    let count = |n: Option<u64>, one: &str, many: &str| match n {
        Some(n) => format!("{n} {}", if n == 1 { one } else { many }),
        None => format!("all its {many}"),
    };
    let blocks = d.blocks.len();
    format!(
        "The agent {} is deleted from the Letta server for good, and with it {} and {} in archival memory. Its {} core memory {} stay{} on the server (shared blocks, like persons' Persona_ blocks, are not touched).",
        d.name,
        count(d.message_count, "message", "messages"),
        count(d.passage_count, "passage", "passages"),
        blocks,
        if blocks == 1 { "block" } else { "blocks" },
        if blocks == 1 { "s" } else { "" },
    )
}

#[component]
fn DeleteCard(current: RwSignal<AgentDetail>) -> impl IntoView {
    let delete = ServerAction::<DeleteAgent>::new();
    let navigate = use_navigate();
    let toasts = use_toasts();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            toasts.success(format!(
                "Deleted agent {}",
                current.with_untracked(|d| d.name.clone())
            ));
            navigate("/agents", Default::default());
        }
        Some(Err(e)) => toasts.error(e.to_string()),
        None => {}
    });
    let id = current.with_untracked(|d| d.id.clone());
    view! {
        <section class="card danger-zone" aria-labelledby="agent-delete-h">
            <h2 id="agent-delete-h">"Delete"</h2>
            <p class="muted">"Deletes the agent with its messages and archival memory. Its blocks stay."</p>
            <ConfirmButton
                label="Delete agent"
                title=format!("Delete {}?", current.with_untracked(|d| d.name.clone()))
                message=Signal::derive(move || current.with(delete_message))
                confirm_label="Delete agent"
                danger=true
                disabled=delete.pending()
                on_confirm=Callback::new(move |_| { delete.dispatch(DeleteAgent { id: id.clone() }); })
            />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_message_says_what_goes_and_what_stays() {
        let mut d = AgentDetail {
            id: "agent-1".into(),
            name: "Helper".into(),
            description: String::new(),
            tags: vec![],
            model: None,
            embedding: None,
            system: String::new(),
            created_at: None,
            last_run: None,
            identities: vec![],
            chatters: vec![],
            blocks: vec![],
            message_count: Some(12),
            passage_count: Some(1),
        };
        let m = delete_message(&d);
        assert!(
            m.contains("12 messages and 1 passage in archival memory"),
            "{m}"
        );
        assert!(m.contains("0 core memory blocks stay"), "{m}");
        d.message_count = None;
        assert!(delete_message(&d).contains("all its messages"));
    }
}

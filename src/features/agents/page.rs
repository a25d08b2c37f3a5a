//! The agents list (`/agents`): name search, tag and identity filters, pages; and the "New
//! agent" dialog (operators).

use crate::components::time::iso_or;
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::api::{
    agent_models, list_agents, AgentListQuery, AgentPage, AgentSaved, BlockInput, CreateAgent,
    ModelChoice, NewAgentInput,
};
use super::model::{new_agent_problems, DEFAULT_BLOCK_LIMIT};
use crate::{
    auth::Role,
    components::{
        field::{focus, AreaField, FormAlert, FormCtl, TextField},
        layout::{use_user, RequireRole},
        pager::{Href, ListError, PageSizeField, Pager},
        toast::use_toasts,
    },
    error::AppError,
};

#[component]
pub fn AgentsPage() -> impl IntoView {
    view! {
        <Title text="Agents"/>
        <RequireRole role=Role::Staff>
            <Agents/>
        </RequireRole>
    }
}

/// The list's URL for a query: filters, page size and cursor live in the URL.
pub fn list_href(q: &AgentListQuery) -> String {
    Href::new("/agents")
        .param("search", &q.search)
        .param("tag", &q.tag)
        .param("identity", &q.identity)
        .size(q.size)
        .opt("after", q.after.as_deref())
        .opt("before", q.before.as_deref())
        .build()
}

#[component]
fn Agents() -> impl IntoView {
    let user = use_user();
    let query = use_query_map();
    let list_query = move || {
        let q = query.read();
        AgentListQuery {
            search: q.get("search").unwrap_or_default(),
            tag: q.get("tag").unwrap_or_default(),
            identity: q.get("identity").unwrap_or_default(),
            after: q.get("after").filter(|a| !a.is_empty()),
            before: q.get("before").filter(|b| !b.is_empty()),
            size: q.get("size").and_then(|s| s.parse().ok()).unwrap_or(0),
        }
    };
    let page = Resource::new(list_query, list_agents);
    // The model lists are read when the dialog first opens (operators only).
    let opened = RwSignal::new(0u32);
    let models = Resource::new(
        move || opened.get() > 0,
        |open| async move {
            if open {
                agent_models().await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let dialog = NodeRef::<html::Dialog>::new();
    let open = move |_| {
        opened.update(|n| *n += 1);
        if let Some(d) = dialog.get() {
            let _ = d.show_modal();
        }
    };
    view! {
        <section class="page agents">
            <div class="page-head">
                <h1>"Agents"</h1>
                {(user.role >= Role::Operator).then(|| view! {
                    <div class="row-actions">
                        <button type="button" class="btn primary" on:click=open>"New agent"</button>
                    </div>
                })}
            </div>
            <p class="muted">"The agents on the Letta server. Open one for its memory, context window and archival memory."</p>
            {(user.role >= Role::Operator).then(|| view! { <NewAgentDialog dialog models/> })}
            <form class="toolbar filters" method="get" action="/agents" role="search" aria-label="Filter agents">
                <div class="field inline">
                    <label for="agent-filter-search">"Name contains"</label>
                    <input id="agent-filter-search" type="search" name="search" value=move || list_query().search/>
                </div>
                <div class="field inline">
                    <label for="agent-filter-tag">"Tag"</label>
                    <input id="agent-filter-tag" type="search" name="tag" value=move || list_query().tag/>
                </div>
                <div class="field inline">
                    <label for="agent-filter-identity">"Identity key"</label>
                    <input id="agent-filter-identity" type="search" name="identity" placeholder="e.g. a person's username" value=move || list_query().identity/>
                </div>
                <PageSizeField id="agent-filter-size" selected=Signal::derive(move || list_query().size)/>
                <button type="submit" class="btn">"Filter"</button>
                <a class="btn ghost" href="/agents">"Clear"</a>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading agents…"</p> }>
                {move || Suspend::new(async move {
                    let q = list_query();
                    match page.await {
                        Err(error) => view! {
                            <ListError error first=list_href(&AgentListQuery { after: None, before: None, ..q })/>
                        }
                            .into_any(),
                        Ok(p) => view! { <AgentTable page=p query=q/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AgentTable(page: AgentPage, query: AgentListQuery) -> impl IntoView {
    let paging = query.after.is_some() || query.before.is_some();
    let at = |after: Option<String>, before: Option<String>| {
        list_href(&AgentListQuery {
            after,
            before,
            ..query.clone()
        })
    };
    let newer = page.newer.clone().map(|n| at(None, Some(n)));
    let older = page.older.clone().map(|o| at(Some(o), None));
    let first = paging.then(|| at(None, None));
    let n = page.matching;
    let summary = format!(
        "{n} {}{}",
        if n == 1 { "agent" } else { "agents" },
        if query.is_filtered() { " match" } else { "" }
    );
    let body = if page.rows.is_empty() {
        let text = if paging {
            "Nothing on this page."
        } else if query.is_filtered() {
            "No agents match these filters."
        } else {
            "No agents yet."
        };
        view! { <p class="empty">{text}</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="agent-table">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Model"</th>
                            <th scope="col">"Tags"</th>
                            <th scope="col" class="num">"Blocks"</th>
                            <th scope="col">"Last run"</th>
                            <th scope="col">"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page
                            .rows
                            .into_iter()
                            .map(|r| view! {
                                <tr>
                                    <td><a href=format!("/agents/{}", r.id)>{r.name}</a></td>
                                    <td><code>{r.model.unwrap_or_else(|| "—".into())}</code></td>
                                    <td>{r.tags.into_iter().map(|t| view! { <span class="badge tag">{t}</span>" " }).collect_view()}</td>
                                    <td class="num">{r.block_count}</td>
                                    <td class="nowrap">{iso_or(r.last_run.clone(), "never", true)}</td>
                                    <td class="nowrap">{iso_or(r.created_at.clone(), "", false)}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
            .into_any()
    };
    view! {
        <p class="muted" data-testid="agent-count">{summary}</p>
        {body}
        <Pager first newer older/>
    }
}

/// A labelled select over the server's model handles.
#[component]
fn ModelField(
    label: &'static str,
    id: String,
    value: RwSignal<String>,
    choices: Signal<Vec<ModelChoice>>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let err_id = format!("{id}-err");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <select id=id on:change=move |ev| value.set(event_target_value(&ev)) aria-describedby=err_id.clone()
                aria-invalid=move || error.get().map(|_| "true")>
                <option value="" selected=move || value.get().is_empty()>"Choose…"</option>
                {move || choices
                    .get()
                    .into_iter()
                    .map(|m| {
                        let h = m.handle.clone();
                        view! { <option value=m.handle.clone() selected=move || value.get() == h>{m.label}</option> }
                    })
                    .collect_view()}
            </select>
            <p class="field-error" id=err_id>{move || error.get()}</p>
        </div>
    }
}

#[derive(Clone, Copy)]
struct BlockRow {
    uid: u64,
    label: RwSignal<String>,
    value: RwSignal<String>,
    limit: RwSignal<String>,
}

fn field_id(f: &str, rows: &[BlockRow]) -> String {
    const P: &str = "new-agent";
    match f.split('.').collect::<Vec<_>>().as_slice() {
        ["blocks", n, part] => n
            .parse::<usize>()
            .ok()
            .and_then(|n| rows.get(n))
            .map(|r| format!("{P}-block-{}-{part}", r.uid))
            .unwrap_or_else(|| format!("{P}-name")),
        [f] => format!("{P}-{f}"),
        _ => format!("{P}-name"),
    }
}

#[component]
fn NewAgentDialog(
    dialog: NodeRef<html::Dialog>,
    models: Resource<Result<Option<super::api::ModelChoices>, AppError>>,
) -> impl IntoView {
    const P: &str = "new-agent";
    let create = ServerAction::<CreateAgent>::new();
    let name = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let embedding = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let system = RwSignal::new(String::new());
    let blocks = RwSignal::new(Vec::<BlockRow>::new());
    let next = StoredValue::new(0u64);
    let navigate = use_navigate();
    let toasts = use_toasts();

    let loaded = move || models.get().and_then(|r| r.ok()).flatten();
    let llm = Signal::derive(move || loaded().map(|m| m.llm).unwrap_or_default());
    let emb = Signal::derive(move || loaded().map(|m| m.embedding).unwrap_or_default());
    let models_error = move || models.get().and_then(|r| r.err()).map(|e| e.to_string());
    // One offered model: pre-chosen.
    Effect::new(move |_| {
        if let Some(m) = loaded() {
            if model.get_untracked().is_empty() && m.llm.len() == 1 {
                model.set(m.llm[0].handle.clone());
            }
            if embedding.get_untracked().is_empty() && m.embedding.len() == 1 {
                embedding.set(m.embedding[0].handle.clone());
            }
        }
    });

    let input = move || NewAgentInput {
        name: name.get(),
        model: model.get(),
        embedding: embedding.get(),
        description: description.get(),
        tags: tags.get(),
        system: system.get(),
        blocks: blocks
            .get()
            .iter()
            .map(|b| BlockInput {
                label: b.label.get(),
                value: b.value.get(),
                limit: b.limit.get(),
            })
            .collect(),
    };
    let form = FormCtl::new(
        move || new_agent_problems(&input()),
        move |f| field_id(&f, &blocks.get_untracked()),
    );
    let err = move |f: String| form.error(f);
    let close = move || {
        if let Some(d) = dialog.get() {
            d.close();
        }
    };
    Effect::new(move |_| match create.value().get() {
        Some(Ok(AgentSaved { id, name: n })) => {
            toasts.success(format!("Created agent {n}"));
            close();
            navigate(&format!("/agents/{id}"), Default::default());
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.submit() {
            create.dispatch(CreateAgent { input: input() });
        }
    };
    let add_block = move |_| {
        let uid = next.get_value();
        next.set_value(uid + 1);
        blocks.update(|b| {
            b.push(BlockRow {
                uid,
                label: RwSignal::new(if b.is_empty() {
                    "human".into()
                } else {
                    String::new()
                }),
                value: RwSignal::new(String::new()),
                limit: RwSignal::new(String::new()),
            })
        });
        focus(format!("{P}-block-{uid}-label"));
    };
    let indexed_blocks = move || blocks.get().into_iter().enumerate().collect::<Vec<_>>();
    view! {
        <dialog node_ref=dialog class="dialog agent-dialog" aria-label="New agent">
            <form on:submit=submit novalidate>
                <h2>"New agent"</h2>
                <TextField label="Name" id=format!("{P}-name") value=name error=err("name".into()) required=true
                    hint="Letters, digits, spaces, - _ and ' (the Letta server refuses other characters)."/>
                {move || models_error().map(|e| view! { <p class="form-error" role="alert">{format!("Could not read the server's models: {e}")}</p> })}
                {move || (models.get().is_none()).then(|| view! { <p class="loading">"Reading the server's models…"</p> })}
                <div class="field-row">
                    <ModelField label="Model" id=format!("{P}-model") value=model choices=llm error=err("model".into())/>
                    <ModelField label="Embedding model" id=format!("{P}-embedding") value=embedding choices=emb error=err("embedding".into())/>
                </div>
                <AreaField label="Description" id=format!("{P}-description") value=description error=err("description".into()) rows=2/>
                <TextField label="Tags" id=format!("{P}-tags") value=tags error=err("tags".into()) hint="Comma-separated, e.g. support, beta."/>
                <AreaField label="System prompt" id=format!("{P}-system") value=system error=err("system".into()) rows=4
                    hint="Leave empty for the server's default system prompt."/>
                <fieldset class="rows">
                    <legend>"Starting memory blocks"</legend>
                    <p class="hint">{format!("Optional. Without any, the agent has no core memory blocks. An empty limit is {DEFAULT_BLOCK_LIMIT} characters.")}</p>
                    <For each=indexed_blocks key=|(n, b)| (*n, b.uid) let:item>
                        {
                            let (n, b) = item;
                            view! {
                                <div class="block-input">
                                    <TextField label="Label" id=format!("{P}-block-{}-label", b.uid) value=b.label error=err(format!("blocks.{n}.label"))/>
                                    <TextField label="Limit (characters)" id=format!("{P}-block-{}-limit", b.uid) value=b.limit error=err(format!("blocks.{n}.limit")) kind="number"/>
                                    <AreaField label="Value" id=format!("{P}-block-{}-value", b.uid) value=b.value error=err(format!("blocks.{n}.value")) rows=3/>
                                    <button type="button" class="btn ghost" aria-label=move || format!("Remove block {}", b.label.get())
                                        on:click=move |_| blocks.update(|v| v.retain(|r| r.uid != b.uid))>"Remove block"</button>
                                </div>
                            }
                        }
                    </For>
                    <button type="button" class="btn" on:click=add_block>"Add a block"</button>
                </fieldset>
                <FormAlert message=form.general()/>
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| close()>"Cancel"</button>
                    <button type="submit" class="btn primary" disabled=create.pending()>
                        {move || if create.pending().get() { "Creating…" } else { "Create agent" }}
                    </button>
                </div>
            </form>
        </dialog>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_urls_keep_filters_and_drop_defaults() {
        assert_eq!(list_href(&AgentListQuery::default()), "/agents");
        let q = AgentListQuery {
            search: "help desk".into(),
            tag: "a&b".into(),
            identity: "ada".into(),
            after: Some("agent-1".into()),
            before: None,
            size: 50,
        };
        assert_eq!(
            list_href(&q),
            "/agents?search=help%20desk&tag=a%26b&identity=ada&size=50&after=agent-1"
        );
    }
}

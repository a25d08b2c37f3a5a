//! The identities list (`/identities`) and one identity (`/identities/:id`).

use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::{
    api::{
        get_identity, identity_agent_choices, list_identities, AgentChoice, CreateIdentity,
        DeleteIdentity, IdentityDetail, IdentityList, IdentitySaved, LinkIdentityAgent,
        LinkedAgent, ListQuery, SetIdentityProperties, UnlinkIdentityAgent, UpdateIdentity,
        UpsertIdentity,
    },
    editor::{KindField, PropRows, PropertiesEditor},
    model::{
        details_problems, property_problems, IdentityDetailsInput, IdentityInput, IdentityKind,
        PropertiesInput,
    },
};
use crate::{
    auth::Role,
    components::{
        confirm::ConfirmButton,
        field::{FormAlert, FormCtl, TextField},
        layout::RequireRole,
        link_card::{after_link_change, LinkCard, LinkItem, LinkWords},
        pager::{Href, ListError, PageSizeField, Pager},
        toast::toast_outcome,
        toast::use_toasts,
    },
    error::AppError,
};

#[component]
pub fn IdentitiesPage() -> impl IntoView {
    view! {
        <Title text="Identities"/>
        <RequireRole role=Role::Operator>
            <Identities/>
        </RequireRole>
    }
}

#[component]
pub fn IdentityPage() -> impl IntoView {
    view! {
        <Title text="Identity"/>
        <RequireRole role=Role::Operator>
            <IdentityView/>
        </RequireRole>
    }
}

/// The list's URL for a query: filters, page size and cursor live in the URL.
fn list_href(q: &ListQuery) -> String {
    Href::new("/identities")
        .param("name", &q.name)
        .param("key", &q.key)
        .opt("type", q.identity_type.map(IdentityKind::as_str))
        .size(q.size)
        .opt("after", q.after.as_deref())
        .opt("before", q.before.as_deref())
        .build()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "3 identities" or "2 matching · 40 identities in total".
fn summary(p: &IdentityList) -> String {
    let total = plural(p.total, "identity", "identities");
    match p.matching {
        None => total,
        Some(m) if p.matching_capped => format!("More than {m} matching · {total} in total"),
        Some(m) => format!("{m} matching · {total} in total"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Upsert,
}

#[component]
fn Identities() -> impl IntoView {
    let query = use_query_map();
    let list_query = move || {
        let q = query.read();
        ListQuery {
            name: q.get("name").unwrap_or_default(),
            key: q.get("key").unwrap_or_default(),
            identity_type: q.get("type").and_then(|t| IdentityKind::parse(&t)),
            after: q.get("after").filter(|a| !a.is_empty()),
            before: q.get("before").filter(|b| !b.is_empty()),
            size: q.get("size").and_then(|s| s.parse().ok()).unwrap_or(0),
        }
    };
    let saved = RwSignal::new(0u32);
    let page = Resource::new(
        move || (list_query(), saved.get()),
        |(q, _)| list_identities(q),
    );
    let dialog = NodeRef::<html::Dialog>::new();
    let mode = RwSignal::new(Mode::Create);
    let open = move |m: Mode| {
        mode.set(m);
        if let Some(d) = dialog.get() {
            let _ = d.show_modal();
        }
    };
    let current = move || list_query();
    let type_now = move || {
        current()
            .identity_type
            .map(IdentityKind::as_str)
            .unwrap_or("")
    };

    view! {
        <section class="page identities">
            <div class="page-head">
                <h1>"Identities"</h1>
                <div class="row-actions">
                    <button type="button" class="btn" on:click=move |_| open(Mode::Upsert)>
                        "Create or update by key"
                    </button>
                    <button type="button" class="btn primary" on:click=move |_| open(Mode::Create)>
                        "New identity"
                    </button>
                </div>
            </div>
            <p class="muted">
                "Identities are Letta's record of who someone is: a unique key, a name, a type and typed properties. Agents and blocks can be linked to them."
            </p>
            <IdentityDialog dialog mode on_saved=Callback::new(move |_| saved.update(|n| *n += 1))/>
            // A plain GET form: the filter goes into the URL (shareable, survives a reload).
            <form class="toolbar filters" method="get" action="/identities" role="search" aria-label="Filter identities">
                <div class="field inline">
                    <label for="identity-filter-name">"Name contains"</label>
                    <input id="identity-filter-name" type="search" name="name" value=move || current().name/>
                </div>
                <div class="field inline">
                    <label for="identity-filter-key">"Identifier key (exact)"</label>
                    <input id="identity-filter-key" type="search" name="key" value=move || current().key/>
                </div>
                <div class="field inline">
                    <label for="identity-filter-type">"Type"</label>
                    <select id="identity-filter-type" name="type">
                        <option value="" selected=move || type_now().is_empty()>"Any"</option>
                        {IdentityKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.as_str() selected=move || type_now() == k.as_str()>{k.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <PageSizeField id="identity-filter-size" selected=Signal::derive(move || current().size)/>
                <button type="submit" class="btn">"Filter"</button>
                <a class="btn ghost" href="/identities">"Clear"</a>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading identities…"</p> }>
                {move || Suspend::new(async move {
                    let q = current();
                    match page.await {
                        Err(error) => view! {
                            <ListError error first=list_href(&ListQuery { after: None, before: None, ..q })/>
                        }
                            .into_any(),
                        Ok(p) => view! { <IdentityTable page=p query=q/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn IdentityTable(page: IdentityList, query: ListQuery) -> impl IntoView {
    let filtered = query.is_filtered();
    let paging = query.after.is_some() || query.before.is_some();
    let at = |after: Option<String>, before: Option<String>| {
        list_href(&ListQuery {
            after,
            before,
            ..query.clone()
        })
    };
    let newer = page.newer.clone().map(|n| at(None, Some(n)));
    let older = page.older.clone().map(|o| at(Some(o), None));
    let first = paging.then(|| at(None, None));
    let summary_text = summary(&page);
    let body = if page.rows.is_empty() {
        let text = if paging {
            "Nothing on this page."
        } else if filtered {
            "No identities match these filters."
        } else {
            "No identities yet. Create the first with “New identity”."
        };
        view! { <p class="empty">{text}</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="identity-table">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Identifier key"</th>
                            <th scope="col">"Type"</th>
                            <th scope="col" class="num props-col">"Properties"</th>
                            <th scope="col" class="id-col">"Letta id"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page
                            .rows
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <tr>
                                        <td><a href=format!("/identities/{}", r.id)>{r.name}</a></td>
                                        <td><code>{r.identifier_key}</code></td>
                                        <td><span class=format!("badge kind-{}", r.identity_type.as_str())>{r.identity_type.label()}</span></td>
                                        <td class="num props-col">{r.property_count}</td>
                                        <td class="id-col"><code class="muted">{r.id}</code></td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
            .into_any()
    };
    view! {
        <p class="muted identity-count" data-testid="identity-count">{summary_text}</p>
        {body}
        <Pager first newer older/>
    }
}

/// New identity / create-or-update by key, in one modal dialog.
#[component]
fn IdentityDialog(
    dialog: NodeRef<html::Dialog>,
    mode: RwSignal<Mode>,
    on_saved: Callback<()>,
) -> impl IntoView {
    const P: &str = "new-identity";
    let create = ServerAction::<CreateIdentity>::new();
    let upsert = ServerAction::<UpsertIdentity>::new();
    let key = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("user".to_string());
    let props = PropRows::new(&[]);
    let toasts = use_toasts();

    let input = move || IdentityInput {
        identifier_key: key.get(),
        name: name.get(),
        identity_type: kind.get(),
        properties: props.inputs(),
    };
    let problems = move || {
        let i = input();
        let mut p = details_problems(&i.identifier_key, &i.name, &i.identity_type);
        p.extend(property_problems(&i.properties));
        p
    };
    let form = FormCtl::new(problems, move |f| field_id(P, &f, props));
    let err = move |f: &'static str| form.error(f);
    let close = move || {
        if let Some(d) = dialog.get() {
            d.close();
        }
    };
    let done = move |r: Result<IdentitySaved, AppError>| match r {
        Ok(s) => {
            toasts.success(if s.created {
                format!("Created identity {} ({})", s.name, s.identifier_key)
            } else {
                format!(
                    "Updated the existing identity {} ({})",
                    s.name, s.identifier_key
                )
            });
            key.set(String::new());
            name.set(String::new());
            kind.set("user".into());
            props.reset(&[]);
            form.saved();
            close();
            on_saved.run(());
        }
        Err(e) => form.refused(e),
    };
    Effect::new(move |_| {
        if let Some(r) = create.value().get() {
            done(r);
        }
    });
    Effect::new(move |_| {
        if let Some(r) = upsert.value().get() {
            done(r);
        }
    });
    let pending = move || create.pending().get() || upsert.pending().get();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.submit() {
            return;
        }
        let input = input();
        match mode.get_untracked() {
            Mode::Create => {
                create.dispatch(CreateIdentity { input });
            }
            Mode::Upsert => {
                upsert.dispatch(UpsertIdentity { input });
            }
        }
    };
    let title = move || match mode.get() {
        Mode::Create => "New identity",
        Mode::Upsert => "Create or update by key",
    };
    view! {
        <dialog node_ref=dialog class="dialog identity-dialog" aria-label=title>
            <form on:submit=submit novalidate>
                <h2>{title}</h2>
                {move || {
                    (mode.get() == Mode::Upsert)
                        .then(|| {
                            view! {
                                <p class="hint upsert-hint">
                                    "If an identity with this key exists, its name, type and properties are replaced by these; otherwise it is created. You are told which happened."
                                </p>
                            }
                        })
                }}
                <div class="identity-fields">
                    <TextField label="Identifier key" id=format!("{P}-key") value=key error=err("identifier_key") required=true hint="Unique, e.g. an e-mail address or a user id."/>
                    <TextField label="Name" id=format!("{P}-name") value=name error=err("name") required=true/>
                    <KindField id=format!("{P}-type") value=kind error=err("identity_type")/>
                </div>
                <PropertiesEditor prefix=P state=props errors=form.errors() server_error=form.server()/>
                <FormAlert message=form.general()/>
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| close()>"Cancel"</button>
                    <button type="submit" class="btn primary" disabled=pending>
                        {move || match (pending(), mode.get()) {
                            (true, _) => "Saving…",
                            (false, Mode::Create) => "Create identity",
                            (false, Mode::Upsert) => "Create or update",
                        }}
                    </button>
                </div>
            </form>
        </dialog>
    }
}

/// The element id of the control for a field name (for focusing the first invalid one).
fn field_id(prefix: &str, field: &str, props: PropRows) -> String {
    match field {
        "identifier_key" => format!("{prefix}-key"),
        "name" => format!("{prefix}-name"),
        "identity_type" => format!("{prefix}-type"),
        f => props
            .element_id(prefix, f)
            .unwrap_or_else(|| format!("{prefix}-key")),
    }
}

#[component]
fn IdentityView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Keyed on the id only: after a save the cards update their own state in place, so nothing
    // a user is typing in another card is thrown away by a refetch.
    let detail = Resource::new(id, get_identity);
    view! {
        <section class="page identity">
            <p><a href="/identities">"← All identities"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the identity…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(e) => view! {
                            <h1>"Identity"</h1>
                            <p class="form-error" role="alert">{e.to_string()}</p>
                        }
                            .into_any(),
                        Ok(d) => view! { <IdentityScreen detail=d/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn IdentityScreen(detail: IdentityDetail) -> impl IntoView {
    let current = RwSignal::new(detail.clone());
    let kind = move || current.with(|d| d.identity_type);
    view! {
        <div class="identity-title">
            <h1>{move || current.with(|d| d.name.clone())}</h1>
            <span class=move || format!("badge kind-{}", kind().as_str())>{move || kind().label()}</span>
        </div>
        <dl class="identity-meta">
            <dt>"Identifier key"</dt>
            <dd><code data-testid="identity-key">{move || current.with(|d| d.identifier_key.clone())}</code></dd>
            <dt>"Letta id"</dt>
            <dd><code>{detail.id.clone()}</code></dd>
            {move || current.with(|d| d.linked_person.clone()).map(|p| view! {
                <dt>"Dashboard person"</dt>
                <dd>{p}</dd>
            })}
        </dl>
        <div class="identity-grid">
            <DetailsCard current/>
            <AgentsCard current/>
            <PropertiesCard current/>
            <BlocksCard current/>
            <DeleteCard current/>
        </div>
    }
}

#[component]
fn DetailsCard(current: RwSignal<IdentityDetail>) -> impl IntoView {
    const P: &str = "identity";
    let update = ServerAction::<UpdateIdentity>::new();
    let start = current.get_untracked();
    let key = RwSignal::new(start.identifier_key.clone());
    let name = RwSignal::new(start.name.clone());
    let kind = RwSignal::new(start.identity_type.as_str().to_string());
    let toasts = use_toasts();
    let form = FormCtl::new(
        move || details_problems(&key.get(), &name.get(), &kind.get()),
        |f| format!("{P}-{}", short(&f)),
    );
    let err = move |f: &'static str| form.error(f);
    Effect::new(move |_| match update.value().get() {
        Some(Ok(s)) => {
            toasts.success(format!("Saved {} ({})", s.name, s.identifier_key));
            let saved_kind = IdentityKind::parse(&kind.get_untracked());
            current.update(|d| {
                d.identifier_key = s.identifier_key.clone();
                d.name = s.name.clone();
                if let Some(k) = saved_kind {
                    d.identity_type = k;
                }
            });
            key.set(s.identifier_key);
            name.set(s.name);
            form.saved();
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    let id = start.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.submit() {
            return;
        }
        update.dispatch(UpdateIdentity {
            id: id.clone(),
            details: IdentityDetailsInput {
                identifier_key: key.get_untracked(),
                name: name.get_untracked(),
                identity_type: kind.get_untracked(),
            },
        });
    };
    view! {
        <section class="card" aria-labelledby="identity-details-h">
            <h2 id="identity-details-h">"Details"</h2>
            <form on:submit=submit novalidate aria-label="Identity details">
                <TextField label="Identifier key" id=format!("{P}-key") value=key error=err("identifier_key") required=true/>
                <TextField label="Name" id=format!("{P}-name") value=name error=err("name") required=true/>
                <KindField id=format!("{P}-type") value=kind error=err("identity_type")/>
                <FormAlert message=form.general()/>
                <div class="actions">
                    <button type="submit" class="btn primary" disabled=update.pending()>
                        {move || if update.pending().get() { "Saving…" } else { "Save details" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

/// `identifier_key` → `key`, the element id suffix of the details fields.
fn short(field: &str) -> &str {
    match field {
        "identifier_key" => "key",
        "identity_type" => "type",
        other => other,
    }
}

#[component]
fn PropertiesCard(current: RwSignal<IdentityDetail>) -> impl IntoView {
    const P: &str = "identity-prop";
    let save = ServerAction::<SetIdentityProperties>::new();
    let start = current.get_untracked();
    let props = PropRows::new(&start.properties);
    let toasts = use_toasts();
    let form = FormCtl::new(
        move || property_problems(&props.inputs()),
        move |f| field_id(P, &f, props),
    );
    let dirty = move || current.with(|d| props.inputs() != d.properties);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(p)) => {
            toasts.success(format!(
                "Properties saved ({})",
                plural(p.len() as u64, "property", "properties")
            ));
            props.reset(&p);
            current.update(|d| d.properties = p);
            form.saved();
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    let id = start.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.submit() {
            return;
        }
        save.dispatch(SetIdentityProperties {
            input: PropertiesInput {
                id: id.clone(),
                properties: props.inputs(),
            },
        });
    };
    let undo = move |_| {
        current.with_untracked(|d| props.reset(&d.properties));
        form.saved();
    };
    view! {
        <section class="card wide-card" aria-labelledby="identity-props-h">
            <h2 id="identity-props-h">"Properties"</h2>
            <form on:submit=submit novalidate aria-label="Identity properties">
                <PropertiesEditor prefix=P state=props errors=form.errors() server_error=form.server()/>
                <FormAlert message=form.general()/>
                <div class="actions">
                    {move || dirty().then(|| view! { <span class="muted unsaved">"Unsaved changes"</span> })}
                    <button type="button" class="btn" on:click=undo disabled=move || !dirty()>"Undo changes"</button>
                    <button type="submit" class="btn primary" disabled=save.pending()>
                        {move || if save.pending().get() { "Saving…" } else { "Save properties" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

const AGENT_LINKS: LinkWords = LinkWords {
    heading_id: "identity-agents-h",
    field_id: "identity-agent-search",
    title: "Linked agents",
    noun: "agent",
    empty: "No agent is linked to this identity.",
    search_aria: "Search agents to link",
    search_label: "Find an agent to link",
    placeholder: "Part of the agent's name",
    search_button: "Find agents",
    looking: "Looking for agents…",
    no_match: "No agent matches.",
};

fn agent_item(a: LinkedAgent) -> LinkItem {
    LinkItem {
        code: a.id.clone(),
        id: a.id,
        name: a.name,
        extra: None,
        linked: true,
    }
}

/// The agents search's results as the link card lists them.
fn agent_choices(list: Vec<AgentChoice>) -> Vec<LinkItem> {
    list.into_iter()
        .map(|c| LinkItem {
            code: c.id.clone(),
            id: c.id,
            name: c.name,
            extra: None,
            linked: c.linked,
        })
        .collect()
}

#[component]
fn AgentsCard(current: RwSignal<IdentityDetail>) -> impl IntoView {
    let link = ServerAction::<LinkIdentityAgent>::new();
    let unlink = ServerAction::<UnlinkIdentityAgent>::new();
    let searched = RwSignal::new(None::<String>);
    let id = current.with_untracked(|d| d.id.clone());
    // Bumped after a link change: the links and the search results are read again.
    let links = RwSignal::new(0u32);
    let choices = {
        let id = id.clone();
        Resource::new(
            move || (searched.get(), links.get()),
            move |(s, _)| {
                let id = id.clone();
                async move {
                    match s {
                        None => Ok(vec![]),
                        Some(s) => identity_agent_choices(id, s).await.map(agent_choices),
                    }
                }
            },
        )
    };
    toast_outcome(link.value(), |_| "Agent linked".into());
    toast_outcome(unlink.value(), |_| "Agent unlinked".into());
    {
        let id = id.clone();
        after_link_change(link.value(), unlink.value(), links, move || {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = get_identity(id).await {
                    current.update(|d| {
                        d.agents = fresh.agents;
                        d.blocks = fresh.blocks;
                    });
                }
            });
        });
    }
    let (link_id, unlink_id) = (id.clone(), id);
    view! {
        <LinkCard
            words=AGENT_LINKS
            owner=Signal::derive(move || current.with(|d| d.name.clone()))
            linked=Signal::derive(move || current.with(|d| d.agents.iter().cloned().map(agent_item).collect()))
            can_edit=true
            searched
            choices
            pending=link.pending()
            on_link=Callback::new(move |agent_id| {
                link.dispatch(LinkIdentityAgent { id: link_id.clone(), agent_id });
            })
            on_unlink=Callback::new(move |agent_id| {
                unlink.dispatch(UnlinkIdentityAgent { id: unlink_id.clone(), agent_id });
            })
        />
    }
}

#[component]
fn BlocksCard(current: RwSignal<IdentityDetail>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="identity-blocks-h">
            <h2 id="identity-blocks-h">"Linked blocks"</h2>
            {move || {
                let blocks = current.with(|d| d.blocks.clone());
                if blocks.is_empty() {
                    return view! { <p class="muted">"No memory block is linked to this identity."</p> }.into_any();
                }
                view! {
                    <ul class="link-list blocks">
                        {blocks
                            .into_iter()
                            .map(|b| view! {
                                <li>
                                    <span class="link-name">{if b.label.is_empty() { "(no label)".to_string() } else { b.label }}</span>
                                    <code class="muted">{b.id}</code>
                                    <span class="block-preview">{b.preview}</span>
                                </li>
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}

/// What a delete takes with it, for the confirm dialog.
fn delete_message(d: &IdentityDetail) -> String {
    let names = |items: Vec<&str>| {
        let shown: Vec<&str> = items.iter().take(5).copied().collect();
        let more = items.len().saturating_sub(shown.len());
        let mut s = shown.join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    };
    let mut linked = vec![];
    if !d.agents.is_empty() {
        linked.push(format!(
            "{} ({})",
            plural(d.agents.len() as u64, "agent", "agents"),
            names(d.agents.iter().map(|a| a.name.as_str()).collect())
        ));
    }
    if !d.blocks.is_empty() {
        linked.push(format!(
            "{} ({})",
            plural(d.blocks.len() as u64, "block", "blocks"),
            names(d.blocks.iter().map(|b| b.label.as_str()).collect())
        ));
    }
    let links = if linked.is_empty() {
        "Nothing is linked to it.".to_string()
    } else {
        format!(
            "It is linked to {}. Those stay; only their links to this identity go.",
            linked.join(" and ")
        )
    };
    let person = d
        .linked_person
        .as_ref()
        .map(|p| format!(" The dashboard person {p} uses it and will be flagged \u{201c}identity gone\u{201d}."))
        .unwrap_or_default();
    format!(
        "The identity {} (key {}) is deleted from the Letta server for good. {links}{person}",
        d.name, d.identifier_key
    )
}

#[component]
fn DeleteCard(current: RwSignal<IdentityDetail>) -> impl IntoView {
    let delete = ServerAction::<DeleteIdentity>::new();
    let navigate = use_navigate();
    let toasts = use_toasts();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            toasts.success(format!(
                "Deleted identity {}",
                current.with_untracked(|d| d.name.clone())
            ));
            navigate("/identities", Default::default());
        }
        Some(Err(e)) => toasts.error(e.to_string()),
        None => {}
    });
    let id = current.with_untracked(|d| d.id.clone());
    // The dialog's words follow the page: a rename or a new link shows up in them.
    let name = Memo::new(move |_| current.with(|d| d.name.clone()));
    let person = Memo::new(move |_| current.with(|d| d.linked_person.clone()));
    // Deleting an identity a person uses takes a second, explicit confirmation.
    let person_ok = RwSignal::new(false);
    view! {
        <section class="card identity-delete" aria-labelledby="identity-delete-h">
            <h2 id="identity-delete-h">"Delete"</h2>
            <p class="muted">"Removes the identity from the Letta server. Linked agents and blocks are kept."</p>
            {move || person.get().map(|p| view! {
                <label class="check">
                    <input type="checkbox" prop:checked=person_ok on:change=move |ev| person_ok.set(event_target_checked(&ev))/>
                    {format!("The dashboard person {p} uses this identity. Delete it anyway (the person stays, flagged \u{201c}identity gone\u{201d})")}
                </label>
            })}
            {move || {
                let id = id.clone();
                view! {
                    <ConfirmButton
                        label="Delete identity"
                        title=format!("Delete {}?", name.get())
                        message=Signal::derive(move || current.with(delete_message))
                        confirm_label="Delete identity"
                        danger=true
                        disabled=Signal::derive(move || delete.pending().get() || (person.get().is_some() && !person_ok.get()))
                        on_confirm=Callback::new(move |_| {
                            delete.dispatch(DeleteIdentity { id: id.clone(), confirm_person: person_ok.get_untracked() });
                        })
                    />
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::super::api::{LinkedAgent, LinkedBlock};
    use super::*;

    #[test]
    fn list_urls_keep_filters_and_drop_defaults() {
        assert_eq!(list_href(&ListQuery::default()), "/identities");
        let q = ListQuery {
            name: "Ada L".into(),
            key: "a&b".into(),
            identity_type: Some(IdentityKind::Org),
            after: Some("identity-1".into()),
            before: None,
            size: 50,
        };
        assert_eq!(
            list_href(&q),
            "/identities?name=Ada%20L&key=a%26b&type=org&size=50&after=identity-1"
        );
        // An unknown size is the default, and is left out.
        let q = ListQuery {
            size: 7,
            ..ListQuery::default()
        };
        assert_eq!(list_href(&q), "/identities");
    }

    #[test]
    fn summary_says_what_the_count_is() {
        let mut p = IdentityList {
            rows: vec![],
            total: 40,
            matching: None,
            matching_capped: false,
            newer: None,
            older: None,
        };
        assert_eq!(summary(&p), "40 identities");
        p.matching = Some(1);
        assert_eq!(summary(&p), "1 matching · 40 identities in total");
        p.matching = Some(1000);
        p.matching_capped = true;
        assert!(summary(&p).starts_with("More than 1000 matching"));
    }

    #[test]
    fn delete_message_names_what_is_linked() {
        let mut d = IdentityDetail {
            id: "identity-1".into(),
            identifier_key: "ada".into(),
            name: "Ada".into(),
            identity_type: IdentityKind::User,
            properties: vec![],
            agents: vec![],
            blocks: vec![],
            linked_person: None,
        };
        assert!(delete_message(&d).contains("Nothing is linked"));
        d.agents = vec![LinkedAgent {
            id: "agent-1".into(),
            name: "Helper".into(),
        }];
        d.blocks = vec![LinkedBlock {
            id: "block-1".into(),
            label: "human".into(),
            preview: String::new(),
        }];
        let m = delete_message(&d);
        assert!(m.contains("Ada (key ada)"), "{m}");
        assert!(m.contains("1 agent (Helper) and 1 block (human)"), "{m}");
    }
}

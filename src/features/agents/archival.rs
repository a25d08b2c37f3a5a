//! Archival memory: passages newest first with a text filter and pages, semantic search
//! (query, top_k, tags any/all, date range), add with tags, replace (add + delete: this server
//! cannot update a passage, and the page says so) and delete behind a confirm.

use crate::components::time::iso_or;
use leptos::prelude::*;

use super::api::*;
use crate::{
    components::{
        confirm::ConfirmButton,
        field::{AreaField, FormAlert, FormCtl, TextField},
        toast::use_toasts,
    },
    error::AppError,
};

/// Archival memory's page-level state: the list query and the submitted search.
#[derive(Clone, Copy)]
pub struct ArchivalRes {
    pub query: RwSignal<PassageQuery>,
    pub version: RwSignal<u32>,
    pub page: Resource<Result<PassagePage, AppError>>,
    pub search: RwSignal<Option<SearchInput>>,
    pub search_version: RwSignal<u32>,
    pub results: Resource<Result<Option<Vec<SearchHit>>, AppError>>,
}

impl ArchivalRes {
    pub fn new(id: impl Fn() -> String + Copy + Send + Sync + 'static) -> Self {
        let query = RwSignal::new(PassageQuery::default());
        let version = RwSignal::new(0u32);
        let page = Resource::new(
            move || (id(), query.get(), version.get()),
            |(id, q, _)| list_passages(id, q),
        );
        let search = RwSignal::new(None::<SearchInput>);
        let search_version = RwSignal::new(0u32);
        let results = Resource::new(
            move || (id(), search.get(), search_version.get()),
            |(id, s, _)| async move {
                match s {
                    None => Ok(None),
                    Some(s) => search_passages(id, s).await.map(Some),
                }
            },
        );
        ArchivalRes {
            query,
            version,
            page,
            search,
            search_version,
            results,
        }
    }

    fn changed(&self) {
        self.version.update(|n| *n += 1);
        if self.search.get_untracked().is_some() {
            self.search_version.update(|n| *n += 1);
        }
    }
}

fn tag_badges(tags: Vec<String>) -> impl IntoView {
    tags.into_iter()
        .map(|t| view! { <span class="badge tag">{t}</span>" " })
        .collect_view()
}

#[component]
pub fn ArchivalCard(
    agent_id: String,
    res: ArchivalRes,
    operator: bool,
    context_version: RwSignal<u32>,
) -> impl IntoView {
    let delete = ServerAction::<DeletePassage>::new();
    let toasts = use_toasts();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            toasts.success("Passage deleted");
            res.changed();
            context_version.update(|n| *n += 1);
        }
        Some(Err(e)) => toasts.error(e.to_string()),
        None => {}
    });
    let filter_text = RwSignal::new(String::new());
    let size_now = move || page_size(res.query.with(|q| q.size));
    let aid = agent_id.clone();
    let aid2 = agent_id.clone();
    view! {
        <section class="card wide-card archival" aria-labelledby="agent-archival-h">
            <h2 id="agent-archival-h">"Archival memory"</h2>
            <p class="hint">"Long-term memory the agent searches when it needs to. Letta cannot change a passage: “Replace” adds the new text as a new passage and deletes the old one."</p>
            {operator.then(|| view! { <AddPassage agent_id=agent_id.clone() res context_version/> })}
            <SearchForm res/>
            <h3>"All passages, newest first"</h3>
            <form class="toolbar" role="search" aria-label="Filter passages"
                on:submit=move |ev| {
                    ev.prevent_default();
                    res.query.update(|q| { q.search = filter_text.get_untracked(); q.older_than = None; q.newer_than = None; });
                }>
                <div class="field inline">
                    <label for="passage-filter">"Text contains"</label>
                    <input id="passage-filter" type="search" prop:value=filter_text on:input=move |ev| filter_text.set(event_target_value(&ev))/>
                </div>
                <div class="field inline">
                    <label for="passage-size">"Per page"</label>
                    <select id="passage-size" on:change=move |ev| {
                        let n = event_target_value(&ev).parse().unwrap_or(DEFAULT_PAGE_SIZE);
                        res.query.update(|q| { q.size = n; q.older_than = None; q.newer_than = None; });
                    }>
                        {PAGE_SIZES.into_iter().map(|n| view! { <option value=n.to_string() selected=move || size_now() == n>{n.to_string()}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="btn">"Filter"</button>
                <button type="button" class="btn ghost" on:click=move |_| { filter_text.set(String::new()); res.query.set(PassageQuery { size: res.query.get_untracked().size, ..Default::default() }); }>"Clear"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading passages…"</p> }>
                {move || {
                    let aid = aid.clone();
                    Suspend::new(async move {
                        let q = res.query.get_untracked();
                        match res.page.await {
                            Err(e) => view! {
                                <p class="form-error" role="alert">{e.to_string()}</p>
                                <button type="button" class="btn" on:click=move |_| res.query.update(|q| { q.older_than = None; q.newer_than = None; })>"First page"</button>
                            }.into_any(),
                            Ok(p) => {
                                let paging = q.older_than.is_some() || q.newer_than.is_some();
                                let empty = if paging { "Nothing on this page." } else if !q.search.trim().is_empty() { "No passage contains this text." } else { "No passages yet." };
                                let (newer, older) = (p.newer.clone(), p.older.clone());
                                view! {
                                    {if p.rows.is_empty() {
                                        view! { <p class="empty">{empty}</p> }.into_any()
                                    } else {
                                        view! {
                                            <ul class="passages" data-testid="passages">
                                                {p.rows.into_iter().map(|r| view! { <PassageItem row=r agent_id=aid.clone() operator delete res context_version/> }).collect_view()}
                                            </ul>
                                        }.into_any()
                                    }}
                                    <nav class="pager" aria-label="Passage pages">
                                        {paging.then(|| view! { <button type="button" class="btn ghost" on:click=move |_| res.query.update(|q| { q.older_than = None; q.newer_than = None; })>"First page"</button> })}
                                        {newer.map(|n| view! { <button type="button" class="btn" on:click=move |_| res.query.update(|q| { q.newer_than = Some(n.clone()); q.older_than = None; })>"← Newer"</button> })}
                                        {older.map(|o| view! { <button type="button" class="btn" on:click=move |_| res.query.update(|q| { q.older_than = Some(o.clone()); q.newer_than = None; })>"Older →"</button> })}
                                    </nav>
                                }.into_any()
                            }
                        }
                    })
                }}
            </Transition>
            <SearchResults res agent_id=aid2 operator delete context_version/>
        </section>
    }
}

#[component]
fn PassageItem(
    row: PassageRow,
    agent_id: String,
    operator: bool,
    delete: ServerAction<DeletePassage>,
    res: ArchivalRes,
    context_version: RwSignal<u32>,
) -> impl IntoView {
    let replacing = RwSignal::new(false);
    let (pid, aid) = (row.id.clone(), agent_id.clone());
    let preview: String = row.text.chars().take(80).collect();
    view! {
        <li class="passage" data-testid="passage">
            <p class="passage-text">{row.text.clone()}</p>
            <div class="passage-meta">
                {tag_badges(row.tags.clone())}
                <span class="muted nowrap">{iso_or(row.created_at.clone(), "", false)}</span>
                {operator.then(|| view! {
                    <button type="button" class="btn ghost" aria-expanded=move || replacing.get().to_string()
                        on:click=move |_| replacing.update(|r| *r = !*r)>"Replace"</button>
                    <ConfirmButton
                        label="Delete"
                        aria_label=format!("Delete passage “{preview}”")
                        title="Delete this passage?"
                        message=format!("“{preview}” is deleted from the agent's archival memory for good.")
                        confirm_label="Delete passage"
                        danger=true
                        disabled=delete.pending()
                        on_confirm=Callback::new(move |_| { delete.dispatch(DeletePassage { id: aid.clone(), passage_id: pid.clone() }); })
                    />
                })}
            </div>
            {move || replacing.get().then(|| view! {
                <ReplacePassage row=row.clone() agent_id=agent_id.clone() res context_version done=Callback::new(move |_| replacing.set(false))/>
            })}
        </li>
    }
}

#[component]
fn ReplacePassage(
    row: PassageRow,
    agent_id: String,
    res: ArchivalRes,
    context_version: RwSignal<u32>,
    done: Callback<()>,
) -> impl IntoView {
    let p = format!("replace-{}", row.id);
    let replace = ServerAction::<ReplacePassage>::new();
    let text = RwSignal::new(row.text.clone());
    let tags = RwSignal::new(row.tags.join(", "));
    let toasts = use_toasts();
    let input = move || PassageInput {
        text: text.get(),
        tags: tags.get(),
    };
    let form = {
        let p = p.clone();
        FormCtl::new(
            move || passage_problems(&input()),
            move |f| format!("{p}-{f}"),
        )
    };
    Effect::new(move |_| match replace.value().get() {
        Some(Ok(_)) => {
            toasts.success("Passage replaced (new passage added, old one deleted)");
            res.changed();
            context_version.update(|n| *n += 1);
            done.run(());
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    let (pid, aid) = (row.id.clone(), agent_id.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.submit() {
            replace.dispatch(ReplacePassage {
                id: aid.clone(),
                passage_id: pid.clone(),
                input: input(),
            });
        }
    };
    view! {
        <form class="replace-form" on:submit=submit novalidate aria-label="Replace passage">
            <AreaField label="New text" id=format!("{p}-text") value=text error=form.error("text")/>
            <TextField label="Tags" id=format!("{p}-tags") value=tags error=form.error("tags") hint="Comma-separated."/>
            <p class="hint">"Replacing adds this text as a new passage (with a new date) and then deletes the old one."</p>
            <FormAlert message=form.general()/>
            <div class="actions left">
                <button type="submit" class="btn primary" disabled=replace.pending()>{move || if replace.pending().get() { "Replacing…" } else { "Replace passage" }}</button>
                <button type="button" class="btn" on:click=move |_| done.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
fn AddPassage(agent_id: String, res: ArchivalRes, context_version: RwSignal<u32>) -> impl IntoView {
    const P: &str = "passage-add";
    let add = ServerAction::<AddPassage>::new();
    let text = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let toasts = use_toasts();
    let input = move || PassageInput {
        text: text.get(),
        tags: tags.get(),
    };
    let form = FormCtl::new(move || passage_problems(&input()), |f| format!("{P}-{f}"));
    Effect::new(move |_| match add.value().get() {
        Some(Ok(rows)) => {
            toasts.success(if rows.len() == 1 {
                "Passage added".to_string()
            } else {
                format!("Added as {} passages (Letta split the text)", rows.len())
            });
            text.set(String::new());
            form.saved();
            res.query.update(|q| {
                q.older_than = None;
                q.newer_than = None;
            });
            res.changed();
            context_version.update(|n| *n += 1);
        }
        Some(Err(e)) => form.refused(e),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.submit() {
            add.dispatch(AddPassage {
                id: agent_id.clone(),
                input: input(),
            });
        }
    };
    view! {
        <form class="add-passage" on:submit=submit novalidate aria-label="Add a passage">
            <h3>"Add a passage"</h3>
            <AreaField label="Text" id=format!("{P}-text") value=text error=form.error("text")/>
            <TextField label="Tags" id=format!("{P}-tags") value=tags error=form.error("tags") hint="Comma-separated, e.g. preferences, billing."/>
            <FormAlert message=form.general()/>
            <div class="actions left">
                <button type="submit" class="btn primary" disabled=add.pending()>{move || if add.pending().get() { "Adding… (embedding the text)" } else { "Add passage" }}</button>
            </div>
        </form>
    }
}

#[component]
fn SearchForm(res: ArchivalRes) -> impl IntoView {
    const P: &str = "passage-search";
    let query = RwSignal::new(String::new());
    let top_k = RwSignal::new(DEFAULT_TOP_K.to_string());
    let tags = RwSignal::new(String::new());
    let match_all = RwSignal::new(false);
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let input = move || SearchInput {
        query: query.get(),
        top_k: top_k.get(),
        tags: tags.get(),
        match_all: match_all.get(),
        from: from.get(),
        to: to.get(),
        tz: crate::components::time::browser_offset_on(&from.get())
            .or_else(crate::components::time::browser_offset_now),
        tz_to: crate::components::time::day_after(&to.get())
            .and_then(|d| crate::components::time::browser_offset_on(&d)),
    };
    let form = FormCtl::new(move || search_problems(&input()), |f| format!("{P}-{f}"));
    // The search runs as a resource: its refusal is the form's server answer.
    Effect::new(move |_| match res.results.get() {
        Some(Err(e)) => form.refused(e),
        _ => form.server().set(None),
    });
    let err = move |f: &'static str| form.error(f);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.submit() {
            res.search.set(Some(input()));
            res.search_version.update(|n| *n += 1);
        }
    };
    view! {
        <form class="search-passages" role="search" aria-label="Semantic search" on:submit=submit novalidate>
            <h3>"Semantic search"</h3>
            <div class="field-row">
                <div class="grow"><TextField label="Query" id=format!("{P}-query") value=query error=err("query") hint="Finds passages close in meaning, not only in words."/></div>
                <TextField label="Results (top k)" id=format!("{P}-top_k") value=top_k error=err("top_k") kind="number"/>
            </div>
            <div class="field-row">
                <TextField label="Tags" id=format!("{P}-tags") value=tags error=err("tags") hint="Comma-separated; empty: any passage."/>
                <fieldset class="match-mode">
                    <legend>"Tags must"</legend>
                    <label class="check"><input type="radio" name="tag-match" prop:checked=move || !match_all.get() on:change=move |_| match_all.set(false)/>"match any"</label>
                    <label class="check"><input type="radio" name="tag-match" prop:checked=match_all on:change=move |_| match_all.set(true)/>"match all"</label>
                </fieldset>
            </div>
            <div class="field-row">
                <TextField label="From" id=format!("{P}-from") value=from error=err("from") kind="date"/>
                <TextField label="To" id=format!("{P}-to") value=to error=err("to") kind="date"/>
            </div>
            <FormAlert message=form.general()/>
            <div class="actions left">
                <button type="submit" class="btn primary">"Search"</button>
                <button type="button" class="btn ghost" on:click=move |_| { res.search.set(None); form.saved(); }>"Clear results"</button>
            </div>
        </form>
    }
}

#[component]
fn SearchResults(
    res: ArchivalRes,
    agent_id: String,
    operator: bool,
    delete: ServerAction<DeletePassage>,
    context_version: RwSignal<u32>,
) -> impl IntoView {
    let _ = context_version;
    view! {
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || {
                let agent_id = agent_id.clone();
                Suspend::new(async move {
                    match res.results.await {
                        Ok(None) | Err(_) => ().into_any(),
                        Ok(Some(hits)) => view! {
                            <section class="search-results" aria-label="Search results" data-testid="search-results">
                                <h3>{format!("Search results ({}), closest first", hits.len())}</h3>
                                {if hits.is_empty() {
                                    view! { <p class="empty">"Nothing found."</p> }.into_any()
                                } else {
                                    view! {
                                        <ol class="passages">
                                            {hits.into_iter().map(|h| {
                                                let (pid, aid) = (h.id.clone(), agent_id.clone());
                                                let preview: String = h.content.chars().take(80).collect();
                                                view! {
                                                    <li class="passage" data-testid="search-hit">
                                                        <p class="passage-text">{h.content.clone()}</p>
                                                        <div class="passage-meta">
                                                            {tag_badges(h.tags.clone())}
                                                            <span class="muted nowrap">{iso_or(h.timestamp.clone(), "", false)}</span>
                                                            {operator.then(|| view! {
                                                                <ConfirmButton label="Delete" aria_label=format!("Delete found passage “{preview}”")
                                                                    title="Delete this passage?"
                                                                    message=format!("“{preview}” is deleted from the agent's archival memory for good.")
                                                                    confirm_label="Delete passage" danger=true disabled=delete.pending()
                                                                    on_confirm=Callback::new(move |_| { delete.dispatch(DeletePassage { id: aid.clone(), passage_id: pid.clone() }); })/>
                                                            })}
                                                        </div>
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ol>
                                    }.into_any()
                                }}
                            </section>
                        }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

//! A card of links between two kinds of things (an agent's identities, an identity's agents):
//! the linked ones, each with "Unlink" behind a confirm dialog, and a search for more to link.
//! The feature owns the server calls; the card draws and asks.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::confirm::ConfirmButton;
use crate::error::AppError;

/// After a link or an unlink went through: `refresh` reads the owner's links again (in a task
/// of its own), and `links` is bumped so the search results are read again too.
pub fn after_link_change<L, U>(
    link: L,
    unlink: U,
    links: RwSignal<u32>,
    refresh: impl Fn() + 'static,
) where
    L: With<Value = Option<Result<(), AppError>>> + 'static,
    U: With<Value = Option<Result<(), AppError>>> + 'static,
{
    Effect::new(move |_| {
        let linked = link.with(|v| matches!(v, Some(Ok(()))));
        let unlinked = unlink.with(|v| matches!(v, Some(Ok(()))));
        if linked || unlinked {
            refresh();
            links.update(|n| *n += 1);
        }
    });
}

/// One linked thing, or one search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkItem {
    /// What the feature's link/unlink calls take.
    pub id: String,
    pub name: String,
    /// A second, code-like line: an identifier key, an agent id.
    pub code: String,
    /// A link beside it (an identity's person): (href, text).
    pub extra: Option<(String, String)>,
    /// Search results only: already linked.
    pub linked: bool,
}

/// The words of one card, for one direction of the link.
#[derive(Debug, Clone, Copy)]
pub struct LinkWords {
    /// The ids of the heading and of the search field.
    pub heading_id: &'static str,
    pub field_id: &'static str,
    pub title: &'static str,
    /// The linked kind, in a sentence: "identity", "agent".
    pub noun: &'static str,
    pub empty: &'static str,
    /// The search form's accessible name ("Search agents to link").
    pub search_aria: &'static str,
    pub search_label: &'static str,
    pub placeholder: &'static str,
    pub search_button: &'static str,
    pub looking: &'static str,
    pub no_match: &'static str,
}

#[component]
pub fn LinkCard(
    words: LinkWords,
    /// The name of the thing the card belongs to (for the confirm message).
    #[prop(into)]
    owner: Signal<String>,
    #[prop(into)] linked: Signal<Vec<LinkItem>>,
    /// May link and unlink (else the list only).
    can_edit: bool,
    /// The search submitted (`None` before the first).
    searched: RwSignal<Option<String>>,
    choices: Resource<Result<Vec<LinkItem>, AppError>>,
    #[prop(into)] pending: Signal<bool>,
    on_link: Callback<String>,
    on_unlink: Callback<String>,
) -> impl IntoView {
    let noun = words.noun;
    let search = RwSignal::new(String::new());
    view! {
        <section class="card" aria-labelledby=words.heading_id>
            <h2 id=words.heading_id>{words.title}</h2>
            {move || {
                let items = linked.get();
                if items.is_empty() {
                    return view! { <p class="muted">{words.empty}</p> }.into_any();
                }
                view! {
                    <ul class="link-list">
                        {items.into_iter().map(|i| {
                            let (target, name) = (i.id.clone(), i.name.clone());
                            view! {
                                <li>
                                    <span class="link-name">{i.name.clone()}</span>
                                    <code class="muted">{i.code.clone()}</code>
                                    {i.extra.clone().map(|(href, text)| view! { <a href=href>{text}</a> })}
                                    {can_edit.then(|| view! {
                                        <ConfirmButton
                                            label="Unlink"
                                            aria_label=format!("Unlink {noun} {name}")
                                            title=format!("Unlink {name}?")
                                            message=format!("The {noun} {name} stays; it is no longer linked to {}.", owner.get_untracked())
                                            confirm_label="Unlink"
                                            on_confirm=Callback::new(move |_| on_unlink.run(target.clone()))
                                        />
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {can_edit.then(|| view! {
                <form class="toolbar link-search" role="search" aria-label=words.search_aria
                    on:submit=move |ev| { ev.prevent_default(); searched.set(Some(search.get_untracked())); }>
                    <div class="field inline">
                        <label for=words.field_id>{words.search_label}</label>
                        <input id=words.field_id type="search" placeholder=words.placeholder
                            prop:value=search on:input=move |ev| search.set(event_target_value(&ev))/>
                    </div>
                    <button type="submit" class="btn">{words.search_button}</button>
                </form>
                <Transition fallback=move || view! { <p class="loading">{words.looking}</p> }>
                    {move || Suspend::new(async move {
                        match (searched.get(), choices.await) {
                            (None, _) => ().into_any(),
                            (_, Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                            (Some(_), Ok(list)) if list.is_empty() => view! { <p class="muted">{words.no_match}</p> }.into_any(),
                            (Some(_), Ok(list)) => view! {
                                <ul class="link-list choices">
                                    {list.into_iter().map(|c| {
                                        let (target, name) = (c.id.clone(), c.name.clone());
                                        view! {
                                            <li>
                                                <span class="link-name">{c.name.clone()}</span>
                                                <code class="muted">{c.code.clone()}</code>
                                                {if c.linked {
                                                    view! { <span class="badge ok">"linked"</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <button type="button" class="btn" aria-label=format!("Link {noun} {name}") disabled=move || pending.get()
                                                            on:click=move |_| on_link.run(target.clone())>
                                                            "Link"
                                                        </button>
                                                    }.into_any()
                                                }}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        }
                    })}
                </Transition>
            })}
        </section>
    }
}

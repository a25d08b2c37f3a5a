//! Paging through a list whose filter and page live in the URL (shareable, survives a reload,
//! works before hydration): the link builder, the "Per page" choice and the pager, one of each
//! for every list screen.

use leptos::prelude::*;

/// The page sizes a list offers, and the one it shows without a choice.
pub const PAGE_SIZES: [u32; 4] = [10, 25, 50, 100];
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// `size` if it is one of [`PAGE_SIZES`], else the default (a hand-edited URL cannot ask the
/// server for a page of a million rows).
pub fn page_size(size: u32) -> u32 {
    if PAGE_SIZES.contains(&size) {
        size
    } else {
        DEFAULT_PAGE_SIZE
    }
}

/// A link to a list screen with its filter in the query string. Empty (or blank) values are
/// left out, so an unfiltered first page is the bare path.
#[derive(Debug, Clone)]
pub struct Href {
    path: &'static str,
    parts: Vec<String>,
}

impl Href {
    pub fn new(path: &'static str) -> Href {
        Href {
            path,
            parts: Vec::new(),
        }
    }

    /// `key=value`, percent-encoded and trimmed; nothing when blank.
    pub fn param(mut self, key: &str, value: &str) -> Href {
        let v = value.trim();
        if !v.is_empty() {
            self.parts
                .push(format!("{key}={}", super::format::urlencode(v)));
        }
        self
    }

    /// [`Href::param`] for an optional value of any printable type.
    pub fn opt<T: ToString>(self, key: &str, value: Option<T>) -> Href {
        match value {
            Some(v) => self.param(key, &v.to_string()),
            None => self,
        }
    }

    /// The page size, left out when it is the default.
    pub fn size(self, size: u32) -> Href {
        let size = page_size(size);
        self.opt("size", (size != DEFAULT_PAGE_SIZE).then_some(size))
    }

    pub fn build(self) -> String {
        if self.parts.is_empty() {
            self.path.to_string()
        } else {
            format!("{}?{}", self.path, self.parts.join("&"))
        }
    }
}

/// The "Per page" choice of a plain GET filter form (`size`).
#[component]
pub fn PageSizeField(
    /// The select's id.
    id: &'static str,
    /// The size the URL asks for now.
    #[prop(into)]
    selected: Signal<u32>,
) -> impl IntoView {
    view! {
        <div class="field inline">
            <label for=id>"Per page"</label>
            <select id=id name="size">
                {PAGE_SIZES
                    .into_iter()
                    .map(|n| view! { <option value=n.to_string() selected=move || page_size(selected.get()) == n>{n.to_string()}</option> })
                    .collect_view()}
            </select>
        </div>
    }
}

/// The links under a list: back to the first page (when on a later one), newer, older. A
/// forward-only list (keyset paging without a way back) names its one link "Next page".
#[component]
pub fn Pager(
    #[prop(default = None)] first: Option<String>,
    #[prop(default = None)] newer: Option<String>,
    #[prop(default = None)] older: Option<String>,
    /// The older link's text.
    #[prop(default = "Older →")]
    older_label: &'static str,
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a class="btn ghost" href=href>"First page"</a> })}
            {newer.map(|href| view! { <a class="btn" href=href>"← Newer"</a> })}
            {older.map(|href| view! { <a class="btn" href=href>{older_label}</a> })}
        </nav>
    }
}

/// A list that could not be read: the message, and the way back to its first page (a cursor
/// from an old link may point at a row that is gone).
#[component]
pub fn ListError(error: crate::error::AppError, first: String) -> impl IntoView {
    view! {
        <p class="form-error" role="alert">{error.to_string()}</p>
        <p><a class="btn" href=first>"First page"</a></p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_only_what_is_set() {
        assert_eq!(
            Href::new("/agents").param("search", "  ").size(25).build(),
            "/agents"
        );
        assert_eq!(
            Href::new("/audit")
                .param("actor", " ann ")
                .opt("tz", Some(-300))
                .opt::<i64>("before", None)
                .param("action", "a&b")
                .size(10)
                .build(),
            "/audit?actor=ann&tz=-300&action=a%26b&size=10"
        );
        // A size no list offers is the default, and the default is left out.
        assert_eq!(Href::new("/x").size(1_000_000).build(), "/x");
        assert_eq!(page_size(50), 50);
        assert_eq!(page_size(7), DEFAULT_PAGE_SIZE);
    }
}

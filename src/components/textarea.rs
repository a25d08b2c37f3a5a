//! The one way to give a `<textarea>` a value, and the escape for text inside RCDATA elements.
//!
//! tachys 0.2.19 (Leptos's renderer) declares `textarea` (like `script`, `style` and
//! `noscript`) with `ESCAPE_CHILDREN = false`, so a text child of a `<textarea>` goes into the
//! server-rendered HTML as it is: a value holding `</textarea><img src=x onerror=…>` closed the
//! element and came back as live markup. A textarea in `view!` therefore never gets children;
//! [`TextArea`] is the exception that escapes them itself, and a test below fails on any other
//! `<textarea>` in `src/` with content between its tags.

use leptos::prelude::*;

/// A `<textarea>` whose text is `value`: its default value, as `Field`'s `value` attribute is
/// an input's, so a form that works before hydration (an `ActionForm` is a plain form then)
/// posts it, and what the person typed stays what they typed.
///
/// The server writes the value escaped (tachys will not). The browser never parses it: a
/// client-side render makes it a text node (`createTextNode`), and hydration does not touch a
/// textarea's children at all (tachys's `hydrate` skips the children of every element whose
/// children it does not escape), so no entity written for the server can show as text.
#[component]
pub fn TextArea(
    id: &'static str,
    #[prop(optional)] name: Option<&'static str>,
    #[prop(default = 3)] rows: u32,
    value: String,
) -> impl IntoView {
    view! { <textarea id=id name=name rows=rows>{child_text(value)}</textarea> }
}

/// On the server: the value escaped, after a newline, because an HTML parser drops one newline
/// right after `<textarea>` and a value that starts with one must keep it.
#[cfg(feature = "ssr")]
fn child_text(value: String) -> String {
    format!("\n{}", escape_rcdata(&value))
}

/// In the browser: the value itself, as a text node.
#[cfg(not(feature = "ssr"))]
fn child_text(value: String) -> String {
    value
}

/// `text` as the content of an RCDATA element (`<textarea>`, `<title>`): the browser decodes
/// character references there and ends the element at its end tag, so `&` and `<` must be
/// references (`>` too, for parsers that are less exact about it).
pub fn escape_rcdata(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use leptos::prelude::*;

    use super::{escape_rcdata, TextArea};

    #[test]
    fn markup_and_references_in_rcdata_stay_text() {
        assert_eq!(
            escape_rcdata("</textarea><img src=x onerror=alert(1)> &amp; \"q\""),
            "&lt;/textarea&gt;&lt;img src=x onerror=alert(1)&gt; &amp;amp; \"q\""
        );
    }

    #[test]
    fn the_server_writes_the_value_escaped_once() {
        let html = view! { <TextArea id="t" name="notes" value="\n</textarea>&amp;".to_string()/> }
            .to_html();
        assert_eq!(
            html,
            "<textarea id=\"t\" name=\"notes\" rows=\"3\">\n\n&lt;/textarea&gt;&amp;amp;</textarea>"
        );
    }

    /// The reason for [`TextArea`]: if tachys starts escaping a textarea's children, this fails,
    /// and `TextArea` must stop escaping them itself (or they would be escaped twice).
    #[test]
    fn tachys_still_writes_textarea_children_unescaped() {
        let html = view! { <textarea>{"<b>&amp;".to_string()}</textarea> }.to_html();
        assert_eq!(html, "<textarea><b>&amp;</textarea>");
    }

    /// What puts a string into the page as markup.
    const MARKUP_SINKS: [&str; 5] = [
        "inner_html",
        "innerHTML",
        "outer_html",
        "outerHTML",
        "insert_adjacent_html",
    ];

    /// tachys writes the children of `textarea`, `script`, `style` and `noscript` unescaped:
    /// none of them may have children in `view!` code, except [`super::TextArea`]'s own, and
    /// nothing sets markup from a string.
    #[test]
    fn no_raw_text_element_in_src_has_children() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![];
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut found = vec![];
        for path in files {
            let own = path.ends_with("components/textarea.rs");
            let text = std::fs::read_to_string(&path).expect("source");
            if own {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                for sink in MARKUP_SINKS.iter().filter(|s| line.contains(*s)) {
                    found.push(format!("{}:{}: {sink}", path.display(), n + 1));
                }
            }
            for tag in ["textarea", "script", "style", "noscript"] {
                let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
                let mut rest = text.as_str();
                while let Some(start) = rest.find(&open) {
                    let at = text.len() - rest.len() + start;
                    let after = &rest[start + open.len()..];
                    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    if text[line_start..at].trim_start().starts_with("//") {
                        rest = after;
                        continue;
                    }
                    // `<textarea ...></textarea>`: the end tag right after the start tag's `>`.
                    let empty = after
                        .find(&close)
                        .is_some_and(|end| after[..end].trim_end().ends_with('>'));
                    let self_closed = after
                        .find('>')
                        .is_some_and(|end| after[..end].trim_end().ends_with('/'));
                    if !(empty || self_closed) {
                        let line = text[..at].matches('\n').count() + 1;
                        found.push(format!("{}:{line}: <{tag}> with children", path.display()));
                    }
                    rest = after;
                }
            }
        }
        assert!(
            found.is_empty(),
            "text children of these elements are not escaped by tachys (use components::textarea::TextArea): {found:#?}"
        );
    }
}

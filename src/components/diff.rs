//! A line diff (longest common subsequence), for showing two versions side by side with the
//! differences marked. Pure and shared with the browser.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Line {
    Same(String),
    /// Only in the left (older / server) text.
    Removed(String),
    /// Only in the right (newer / mine) text.
    Added(String),
}

/// Splits JSON-looking text into readable lines first, so a one-line JSON document still
/// diffs usefully.
pub fn readable(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
        }
        _ => text.to_string(),
    }
}

pub fn diff(left: &str, right: &str) -> Vec<Line> {
    let a: Vec<&str> = left.lines().collect();
    let b: Vec<&str> = right.lines().collect();
    // Bounded: a persona block is at most a few thousand lines.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, vec![]);
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(Line::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(Line::Removed(a[i].to_string()));
            i += 1;
        } else {
            out.push(Line::Added(b[j].to_string()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed(l.to_string())));
    out.extend(b[j..].iter().map(|l| Line::Added(l.to_string())));
    out
}

/// The server's text and the editor's, side by side, the differences marked (a conflict).
#[leptos::component]
pub fn ConflictDiff(server: String, mine: String) -> impl leptos::IntoView {
    use leptos::prelude::*;
    let lines = diff(&readable(&server), &readable(&mine));
    view! {
        <div class="diff" data-testid="conflict-diff">
            <div class="diff-head"><span>"On the server now"</span><span>"Yours"</span></div>
            {lines.into_iter().map(|l| match l {
                Line::Same(t) => view! { <div class="d same"><span>{t.clone()}</span><span>{t}</span></div> }.into_any(),
                Line::Removed(t) => view! { <div class="d removed"><span><del>{t}</del></span><span></span></div> }.into_any(),
                Line::Added(t) => view! { <div class="d added"><span></span><span><ins>{t}</ins></span></div> }.into_any(),
            }).collect_view()}
        </div>
    }
}

/// An older version against the current text, in one column (− removed, + added).
#[leptos::component]
pub fn VersionDiff(old: String, current: String) -> impl leptos::IntoView {
    use leptos::prelude::*;
    let lines = diff(&readable(&old), &readable(&current));
    view! {
        <div class="diff small">
            {lines.into_iter().map(|l| match l {
                Line::Same(t) => view! { <div class="d same"><span>{t}</span></div> }.into_any(),
                Line::Removed(t) => view! { <div class="d removed"><span><del>{format!("− {t}")}</del></span></div> }.into_any(),
                Line::Added(t) => view! { <div class="d added"><span><ins>{format!("+ {t}")}</ins></span></div> }.into_any(),
            }).collect_view()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_changed_lines_only() {
        let d = diff("a\nb\nc", "a\nB\nc\nd");
        assert_eq!(
            d,
            vec![
                Line::Same("a".into()),
                Line::Removed("b".into()),
                Line::Added("B".into()),
                Line::Same("c".into()),
                Line::Added("d".into()),
            ]
        );
        assert!(diff("x", "x").iter().all(|l| matches!(l, Line::Same(_))));
    }

    #[test]
    fn json_is_diffed_line_by_line() {
        let d = diff(
            &readable(r#"{"name":"Ada","preferences":{"tea":"yes"}}"#),
            &readable(r#"{"name":"Ada","preferences":{"tea":"no"}}"#),
        );
        assert_eq!(d.iter().filter(|l| !matches!(l, Line::Same(_))).count(), 2);
    }
}

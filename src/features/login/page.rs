use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    auth::context::use_auth,
    components::field::{field_error, form_error, Field, FormAlert},
};

/// Where to go after signing in: only a path on this dashboard (no open redirect).
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| is_local_path(n))
        .unwrap_or_else(|| "/".into())
}

/// Whether a browser resolves `target` against our own page to our own origin, decided the way
/// the browser parses it (the WHATWG URL standard), not by its first characters: the parser
/// drops tabs and newlines anywhere and control characters and spaces at the ends (so
/// `/\t/evil.example` is `//evil.example`), treats `\` like `/`, and reads a scheme (`http:`,
/// `javascript:`) or two slashes as leaving the page's origin. A path we accept contains none
/// of the characters the parser would drop, so the browser goes exactly where we checked.
fn is_local_path(target: &str) -> bool {
    if target
        .chars()
        .any(|c| c <= ' ' || c == '\u{7f}' || c == '\\')
    {
        return false;
    }
    let mut chars = target.chars();
    // Path-absolute: `/` then anything but a second `/` (which starts an authority). A scheme
    // or a relative path does not start with `/`.
    chars.next() == Some('/') && chars.next() != Some('/')
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let next = move || safe_next(query.read().get("next"));
    let navigate = use_navigate();
    // Only a sign-in made on this visit of the page counts (the action keeps its last value).
    let version_at_mount = auth.login.version().get_untracked();
    Effect::new(move |_| {
        let fresh = auth.login.version().get() > version_at_mount;
        if fresh && matches!(auth.login.value().get(), Some(Ok(_))) {
            navigate(&next(), Default::default());
        }
    });
    let value = auth.login.value();
    let pending = auth.login.pending();
    view! {
        <Title text="Sign in"/>
        <main class="auth-page">
            <Suspense>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(_)) => view! { <Redirect path=next()/> }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=auth.login attr:class="card auth-card" attr:aria-label="Sign in">
                <h1>"Letta Admin"</h1>
                <p class="muted">"Sign in to manage your Letta server."</p>
                <Field
                    label="Username"
                    name="username"
                    autocomplete="username"
                    required=true
                    error=field_error(value, "username")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_error(value, "password")
                />
                <FormAlert message=form_error(value)/>
                <button type="submit" class="btn primary wide" disabled=pending>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/users".into())), "/users");
        assert_eq!(safe_next(Some("//evil.test".into())), "/");
        assert_eq!(safe_next(Some("https://evil.test".into())), "/");
        assert_eq!(safe_next(Some("/\\evil.test".into())), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/".into())), "/");
        assert_eq!(
            safe_next(Some("/persons?q=a%2Fb#top".into())),
            "/persons?q=a%2Fb#top"
        );
        // What browsers turn into another origin (the query parameter arrives decoded).
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            " //evil.example",
            "\u{0}//evil.example",
            "\\/evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "http:evil.example",
            "HTTPS://evil.example",
            "evil.example",
            "",
            "/ /x",
        ] {
            assert_eq!(safe_next(Some(bad.into())), "/", "{bad:?}");
        }
    }

    /// Every string of up to four characters from an alphabet of the parser's special
    /// characters: whatever we accept, a real WHATWG URL parser (the `url` crate) resolves to
    /// our own origin.
    #[cfg(feature = "ssr")]
    #[test]
    fn accepted_paths_stay_on_our_origin_by_a_real_url_parser() {
        let base = url::Url::parse("https://dashboard.test/login?next=x").unwrap();
        let alphabet = [
            '/', '\\', '\t', '\n', ' ', ':', 'a', '%', '.', '@', '?', '#', '\u{0}', 'h',
        ];
        let mut stack: Vec<String> = vec![String::new()];
        let mut checked = 0;
        while let Some(s) = stack.pop() {
            if super::is_local_path(&s) {
                let joined = base.join(&s).unwrap();
                assert_eq!(joined.origin(), base.origin(), "{s:?} -> {joined}");
                checked += 1;
            }
            if s.chars().count() < 4 {
                for c in alphabet {
                    stack.push(format!("{s}{c}"));
                }
            }
        }
        assert!(checked > 100);
    }
}

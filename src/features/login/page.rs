use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    app::use_auth,
    components::field::{field_error, form_error, Field, FormAlert},
};

/// Where to go after signing in: only a local path (no open redirect).
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into())
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
    }
}

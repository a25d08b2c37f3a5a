//! The frame around every signed-in screen: navigation for the user's role, who is signed in,
//! sign-out, the theme toggle, toasts. Pages inside it read the user from context.

use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

use super::connection_badge::{BadgeState, ConnectionBadge};
use super::{theme::ThemeToggle, toast::ToastRegion};
#[cfg(feature = "ssr")]
use crate::auth::PageUser;
use crate::{
    auth::context::use_auth,
    auth::{CurrentUser, Role},
};

/// The navigation entries a role may use: (path, label, minimum role).
pub const NAV: &[(&str, &str, Role)] = &[
    ("/", "Overview", Role::Staff),
    ("/identities", "Identities", Role::Operator),
    ("/chat", "Chat", Role::Staff),
    ("/persons", "Persons", Role::Staff),
    ("/agents", "Agents", Role::Staff),
    ("/activity", "Chat activity", Role::Operator),
    ("/settings", "Settings", Role::Operator),
    ("/users", "Users", Role::Admin),
    ("/audit", "Audit log", Role::Admin),
];

pub fn nav_for(role: Role) -> Vec<(&'static str, &'static str)> {
    NAV.iter()
        .filter(|(_, _, min)| role >= *min)
        .map(|(path, label, _)| (*path, *label))
        .collect()
}

/// Signed-in area: the frame for the signed-in user, or a redirect to the sign-in page.
///
/// No `<Suspense>` here: one above `<Outlet/>` re-runs its children to look for resources
/// after each has loaded, and every run builds the matched screen anew with new resources.
/// Each screen's data was fetched and sent three times per render, and under concurrent
/// renders (each resource finishing at another moment) the double-check never settled: eight
/// uncached persons pages at once spun until their clients gave up, taking gigabytes. The user
/// is known without waiting instead: on the server from the lookup made before the render
/// ([`PageUser`]), in the browser from `whoami`'s value, which the server sent with the page
/// (a blocking resource), so hydration draws the same frame.
#[component]
pub fn Layout() -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    BadgeState::provide();
    let user = move || {
        #[cfg(feature = "ssr")]
        if let Some(PageUser(user)) = use_context::<PageUser>() {
            return Some(user);
        }
        auth.user.get()
    };
    move || match user() {
        Some(Ok(Some(user))) => view! { <Frame user/> }.into_any(),
        Some(Ok(None)) => {
            let here = location.pathname.get_untracked();
            let next = if here == "/" {
                String::new()
            } else {
                format!("?next={here}")
            };
            view! { <Redirect path=format!("/login{next}")/> }.into_any()
        }
        Some(Err(e)) => {
            e.mark_page();
            view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()
        }
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
    }
}

#[component]
fn Frame(user: CurrentUser) -> impl IntoView {
    let auth = use_auth();
    provide_context(user.clone());
    let items = nav_for(user.role);
    let logout = auth.logout;
    crate::components::time::remember_zone();
    // After signing out, a full page load: nothing of the signed-in session stays in memory.
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            let _ = window().location().assign("/login");
        }
    });
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">"Letta Admin"</a>
            <nav aria-label="Main">
                <ul>
                    {items
                        .into_iter()
                        .map(|(href, label)| view! { <li><A href=href exact=true>{label}</A></li> })
                        .collect_view()}
                </ul>
            </nav>
            <div class="account">
                <ConnectionBadge/>
                <ThemeToggle/>
                <span class="who" data-testid="current-user">
                    {user.username.clone()}
                    <span class="role-tag">{user.role.label()}</span>
                </span>
                // A real form: before the wasm has hydrated (a lazy screen's chunk still on its
                // way), the browser posts it itself and the server answers with /login.
                <form
                    class="signout"
                    method="post"
                    action="/api/public/logout"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        logout.dispatch(crate::auth::api::Logout {});
                    }
                >
                    <button type="submit" class="btn">"Sign out"</button>
                </form>
            </div>
        </header>
        <main id="main" tabindex="-1">
            <Outlet/>
        </main>
        <ToastRegion/>
    }
}

/// The signed-in user (inside the frame).
pub fn use_user() -> CurrentUser {
    expect_context::<CurrentUser>()
}

/// Renders `children` only for users with at least `role`; the server functions behind the
/// page check again, this only spares the user a page of errors.
#[component]
pub fn RequireRole(role: Role, children: ChildrenFn) -> impl IntoView {
    let user = use_user();
    if user.role >= role {
        children().into_any()
    } else {
        view! {
            <section class="page">
                <h1>"Not allowed"</h1>
                <p>"Your role does not give access to this page."</p>
            </section>
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_sees_its_items() {
        let labels = |r| nav_for(r).into_iter().map(|(_, l)| l).collect::<Vec<_>>();
        assert_eq!(
            labels(Role::Staff),
            ["Overview", "Chat", "Persons", "Agents"]
        );
        assert_eq!(
            labels(Role::Operator),
            [
                "Overview",
                "Identities",
                "Chat",
                "Persons",
                "Agents",
                "Chat activity",
                "Settings"
            ]
        );
        assert_eq!(
            labels(Role::Admin),
            [
                "Overview",
                "Identities",
                "Chat",
                "Persons",
                "Agents",
                "Chat activity",
                "Settings",
                "Users",
                "Audit log"
            ]
        );
    }

    #[test]
    fn identities_are_for_operators_right_after_overview() {
        for role in [Role::Operator, Role::Admin] {
            let items = nav_for(role);
            assert_eq!(items[1], ("/identities", "Identities"), "{role:?}");
        }
        assert!(!nav_for(Role::Staff)
            .iter()
            .any(|(p, _)| *p == "/identities"));
    }
}

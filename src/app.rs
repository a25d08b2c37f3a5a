//! The HTML shell, `<App/>` and the route table. Nothing else.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use crate::{
    auth::{
        api::{whoami, Login, Logout},
        CurrentUser,
    },
    components::{layout::Layout, theme::current_theme, toast::Toasts},
    error::AppError,
    features::{
        agents::{detail::AgentPage, page::AgentsPage},
        audit::page::AuditPage,
        home::page::HomePage,
        identities::page::{IdentitiesPage, IdentityPage},
        login::page::LoginPage,
        not_found::NotFound,
        persona::page::PersonaPage,
        persons::page::{PersonPage, PersonsPage},
        settings::page::SettingsPage,
        setup::page::SetupPage,
        users::page::UsersPage,
    },
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = current_theme().as_str();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Sign-in state shared by every screen: the current user, refetched whenever someone signs
/// in or out.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
}

pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Toasts::provide();
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    // Blocking: the server waits for it before streaming, so a signed-out visitor gets a real
    // redirect instead of a flash of the dashboard. (Signing out reloads the page.)
    let user = Resource::new_blocking(move || login.version().get(), |_| whoami());
    provide_context(AuthContext {
        login,
        logout,
        user,
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/letta_admin.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Letta Admin".to_string() } else { format!("{page} · Letta Admin") }
        }/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/setup") view=SetupPage/>
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("identities") view=IdentitiesPage/>
                    <Route path=path!("identities/:id") view=IdentityPage/>
                    <Route path=path!("agents") view=AgentsPage/>
                    <Route path=path!("agents/:id") view=AgentPage/>
                    <Route path=path!("users") view=UsersPage/>
                    <Route path=path!("audit") view=AuditPage/>
                    <Route path=path!("settings") view=SettingsPage/>
                    <Route path=path!("chat") view=crate::features::chat::page::ChatPage/>
                    <Route path=path!("persons") view=PersonsPage/>
                    <Route path=path!("persons/:id") view=PersonPage/>
                    <Route path=path!("persons/:id/persona") view=PersonaPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

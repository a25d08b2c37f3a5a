//! The HTML shell, `<App/>` and the route table. Nothing else.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    hooks::use_location,
    path, Lazy, LazyRoute, SsrMode,
};

use crate::{
    auth::{
        api::{whoami, Login, Logout},
        context::AuthContext,
    },
    components::{layout::Layout, theme::current_theme, toast::Toasts},
    features::{
        agents::{detail::AgentPage, page::AgentsPage},
        audit::page::AuditPage,
        chat::{
            activity::ActivityPage,
            page::ChatPage,
            scenarios::page::{ScenarioPage, ScenariosPage},
        },
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
    // In the shell (server only), not in <App/>: its name carries the build's content hash.
    #[cfg(feature = "ssr")]
    let css = crate::assets::stylesheet_href(&options);
    #[cfg(not(feature = "ssr"))]
    let css = "";
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="stylesheet" id="leptos" href=css/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
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
        <Title formatter=|page: String| {
            let title = if page.is_empty() { "Letta Admin".to_string() } else { format!("{page} · Letta Admin") };
            // leptos_meta 0.8.7 writes the server's `<title>` text as it is (an RCDATA element,
            // like textarea): escaped here, so no title can end it. The browser sets
            // `document.title`, which is text.
            #[cfg(feature = "ssr")]
            let title = crate::components::textarea::escape_rcdata(&title);
            title
        }/>
        // `ssr=SsrMode::Async`: screens whose data is all in our database are rendered whole
        // and sent in one piece (src/startup.rs); the rest stream.
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=|| { screen_ready(); view! { <LoginPage/> } } ssr=SsrMode::Async/>
                <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()}/>
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("identities") view={Lazy::<IdentitiesRoute>::new()}/>
                    <Route path=path!("identities/:id") view={Lazy::<IdentityRoute>::new()}/>
                    <Route path=path!("agents") view={Lazy::<AgentsRoute>::new()}/>
                    <Route path=path!("agents/:id") view={Lazy::<AgentRoute>::new()}/>
                    <Route path=path!("users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings") view={Lazy::<SettingsRoute>::new()}/>
                    <Route path=path!("chat") view={Lazy::<ChatRoute>::new()}/>
                    <Route path=path!("chat/scenarios") view={Lazy::<ScenariosRoute>::new()}/>
                    <Route path=path!("chat/scenarios/:id") view={Lazy::<ScenarioRoute>::new()}/>
                    <Route path=path!("activity") view={Lazy::<ActivityRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("persons") view=|| { screen_ready(); view! { <PersonsPage/> } } ssr=SsrMode::Async/>
                    <Route path=path!("persons/:id") view={Lazy::<PersonRoute>::new()}/>
                    <Route path=path!("persons/:id/persona") view={Lazy::<PersonaRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A marker for the browser tests and the slow-link bench: `<body data-screen="/path">` once
/// the routed screen is mounted in the browser (its code loaded, hydrated or drawn), so a
/// script can tell "this screen works now" apart from "the URL changed".
fn screen_ready() {
    // The router's path (the screen being drawn), not `window.location`, which a client-side
    // navigation updates only after the new screen is drawn.
    let path = use_location().pathname.get_untracked();
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            // A marker only: nothing depends on it being set.
            let _ = body.set_attribute("data-screen", &path);
        }
    });
}

/// The screens whose code the browser loads only when one of them is first shown.
///
/// All of them are ONE split point (`lazy_screen`), so `cargo leptos build --split` puts their
/// code into one wasm chunk (issue #24). With a split point per screen, wasm-split gave every
/// set of screens that shares some code a chunk of its own: 12 to 172 small files per screen,
/// which a browser fetches six at a time over HTTP/1.1, a round trip each round (1.6–3.4 s per
/// first visit at 150 ms RTT). Now a lazy screen's first visit fetches the main module and one
/// chunk, both named in the page's `<head>` (Leptos preloads the chunks of the split points the
/// server rendered), so they load side by side; after hydration the chunk is fetched while the
/// browser is idle ([`prefetch_screens`]), so a click in the nav waits for data only. The price
/// is bytes: a first visit of one lazy screen downloads the code of all of them (see README,
/// Performance). The sign-in page and the persons list (the first loads issue #10 budgets)
/// and the frame stay in the main module. Each page creates its resources itself, as it does
/// when it is not lazy.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {
        /// Which lazy screen to draw: the one argument of the one split point.
        #[derive(Clone, Copy)]
        #[repr(u8)]
        #[allow(clippy::enum_variant_names)]
        enum LazyScreen {
            $($route),*
        }

        #[lazy]
        fn lazy_screen(screen: LazyScreen) -> AnyView {
            match screen {
                $(LazyScreen::$route => view! { <$page/> }.into_any(),)*
            }
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    let view = lazy_screen(LazyScreen::$route).await;
                    screen_ready();
                    view
                }

                async fn preload() {
                    prefetch_screens().await;
                }
            }
        )*
    };
}

lazy_page! {
    HomeRoute => HomePage,
    SetupRoute => SetupPage,
    IdentitiesRoute => IdentitiesPage,
    IdentityRoute => IdentityPage,
    AgentsRoute => AgentsPage,
    AgentRoute => AgentPage,
    UsersRoute => UsersPage,
    AuditRoute => AuditPage,
    SettingsRoute => SettingsPage,
    ChatRoute => ChatPage,
    ScenariosRoute => ScenariosPage,
    ScenarioRoute => ScenarioPage,
    ActivityRoute => ActivityPage,
    PersonRoute => PersonPage,
    PersonaRoute => PersonaPage,
}

/// Loads the lazy screens' code without drawing anything (the browser only; a no-op on the
/// server). `hydrate()` calls it when the browser is idle after hydration.
pub async fn prefetch_screens() {
    #[cfg(feature = "hydrate")]
    __preload_lazy_screen().await;
}

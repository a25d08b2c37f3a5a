//! letta-admin: an admin dashboard for a self-hosted Letta agent server.
//!
//! Modules shared by server and browser: `app`, `auth` (roles, server functions), `components`,
//! `error`, `features`. Server only: configuration, the database layer, the Letta client, start-up.

// Leptos views are deeply nested types; without type erasure (release builds) the larger
// pages exceed the default depth of 128.
#![recursion_limit = "256"]

pub mod app;
pub mod auth;
pub mod blocks;
pub mod components;
pub mod error;
pub mod features;

#[cfg(feature = "ssr")]
pub mod assets;
#[cfg(feature = "ssr")]
pub mod backup;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod connection;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod instance;
#[cfg(feature = "ssr")]
pub mod letta;
#[cfg(feature = "ssr")]
pub mod migrate_db;
#[cfg(feature = "ssr")]
pub mod observability;
#[cfg(feature = "ssr")]
pub mod page_cache;
#[cfg(feature = "ssr")]
pub mod proxy;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod serve;
#[cfg(feature = "ssr")]
pub mod startup;
#[cfg(feature = "ssr")]
pub mod state;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes (app.rs): hydration waits for the wasm chunk of the route being shown, so it
    // runs in a task (what `leptos::mount::hydrate_lazy` does, plus the marker at its end).
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // A marker for browser tests: reached only once the page hydrated without a panic.
        let _ = body.set_attribute("data-hydrated", "true");
        // The lazy screens' code, fetched while the browser has nothing else to do (issue
        // #24), so a click in the nav waits for the screen's data only, not for its code.
        // Safari has no requestIdleCallback: a short timer instead.
        let prefetch = || wasm_bindgen_futures::spawn_local(app::prefetch_screens());
        if leptos::prelude::request_idle_callback_with_handle(prefetch).is_err() {
            leptos::prelude::set_timeout(prefetch, std::time::Duration::from_millis(300));
        }
    });
}

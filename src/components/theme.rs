//! Light and dark themes: the system's by default, a toggle that persists in a cookie. The
//! server reads the cookie and renders `<html data-theme>`, so the page never flashes.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn parse(s: &str) -> Theme {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

/// The theme chosen for this page render: from the request's cookie on the server, from the
/// rendered `<html data-theme>` in the browser.
pub fn current_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| theme_of(&parts.headers))
            .unwrap_or(Theme::System)
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("data-theme"))
            .map(|t| Theme::parse(&t))
            .unwrap_or(Theme::System)
    }
}

/// [ssr] The theme a request's `theme` cookie asks for (the system's without one).
#[cfg(feature = "ssr")]
pub fn theme_of(headers: &http::HeaderMap) -> Theme {
    super::format::cookie(headers, "theme")
        .map(Theme::parse)
        .unwrap_or(Theme::System)
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(current_theme());
    let cycle = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-theme", next.as_str());
            }
            if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
                let _ = doc.set_cookie(&format!(
                    "theme={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    next.as_str()
                ));
            }
        }
    };
    view! {
        <button
            type="button"
            class="btn ghost theme-toggle"
            on:click=cycle
            title="Switch between system, light and dark themes"
        >
            {move || theme.get().label()}
        </button>
    }
}

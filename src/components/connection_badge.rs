//! The header badge: is the dashboard connected to Letta right now? Shown on every signed-in
//! screen (the layout); the settings page refreshes it after a save.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{auth::Role, components::layout::use_user, error::AppError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Badge {
    NotConfigured,
    Connected { version: String },
    WrongPassword,
    Unreachable,
}

#[server(prefix = "/api", endpoint = "staff/connection/badge")]
pub async fn connection_badge() -> Result<Badge, AppError> {
    let ctx = crate::auth::guard::require_role(Role::Staff).await?;
    Ok(badge(&ctx.state).await)
}

/// The badge's answer, from the connection's cached health (30 s).
#[cfg(feature = "ssr")]
pub async fn badge(state: &crate::state::AppState) -> Badge {
    use crate::connection::Health;
    match state.letta.health(std::time::Duration::from_secs(30)).await {
        Health::NotConfigured => Badge::NotConfigured,
        Health::Connected { version } => Badge::Connected { version },
        Health::WrongPassword => Badge::WrongPassword,
        Health::Unreachable => Badge::Unreachable,
    }
}

/// The header badge's state, created by the layout outside any suspended view (a resource
/// created while a streamed view resolves hydrates depending on timing). `refresh` is bumped
/// after a settings save, `tick` every minute.
#[derive(Clone, Copy)]
pub struct BadgeState {
    pub refresh: RwSignal<u32>,
    tick: RwSignal<u32>,
    badge: Resource<Result<Badge, AppError>>,
}

impl BadgeState {
    pub fn provide() {
        let refresh = RwSignal::new(0u32);
        let tick = RwSignal::new(0u32);
        let badge = Resource::new(move || (tick.get(), refresh.get()), |_| connection_badge());
        provide_context(BadgeState {
            refresh,
            tick,
            badge,
        });
    }
}

/// The header badge: is the dashboard connected to Letta right now?
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let BadgeState { tick, badge, .. } = expect_context::<BadgeState>();
    let user = use_user();
    // Re-checked in the background every minute (the server caches the answer for 30 s).
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|n| *n += 1),
            std::time::Duration::from_secs(60),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let settings_link = user.role >= Role::Operator;
    view! {
        <Transition fallback=|| view! { <span class="conn muted">"Letta: checking…"</span> }>
            {move || Suspend::new(async move {
                let (class, text) = match badge.await {
                    Ok(Badge::Connected { version }) => ("conn ok", format!("Letta {version}")),
                    Ok(Badge::WrongPassword) => ("conn bad", "Letta: wrong password".to_string()),
                    Ok(Badge::Unreachable) => ("conn bad", "Letta: unreachable".to_string()),
                    Ok(Badge::NotConfigured) => ("conn warn", "Letta: not configured".to_string()),
                    Err(_) => ("conn warn", "Letta: unknown".to_string()),
                };
                if settings_link {
                    view! { <a class=class href="/settings" data-testid="connection-badge">{text}</a> }.into_any()
                } else {
                    view! { <span class=class data-testid="connection-badge">{text}</span> }.into_any()
                }
            })}
        </Transition>
    }
}

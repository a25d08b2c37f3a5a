//! Sign-in, sign-out, first-run setup: the only public server functions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::CurrentUser;
use crate::error::AppError;

/// Usernames of dashboard accounts: 2–32 characters of a–z, 0–9, `.`, `_` or `-`.
pub fn validate_username(username: &str) -> Result<(), AppError> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(2..=32).contains(&username.len()) || !ok_chars {
        return Err(AppError::invalid(
            "username",
            "Username must be 2–32 characters of a–z, 0–9, '.', '_' or '-'.",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SetupStatus {
    /// True while no admin exists: the setup page is usable (with the token from the log).
    pub needed: bool,
}

#[server(prefix = "/api", endpoint = "public/me")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    let state = super::guard::app_state()?; // public: reports who is signed in, if anyone
    let session = super::guard::session().await?;
    super::guard::current_user(&state, &session).await
}

#[server(prefix = "/api", endpoint = "public/login")]
pub async fn login(username: String, password: String) -> Result<CurrentUser, AppError> {
    let state = super::guard::app_state()?; // public: this is how a session starts
    ssr::login(&state, username, password).await
}

#[server(prefix = "/api", endpoint = "public/logout")]
pub async fn logout() -> Result<(), AppError> {
    let state = super::guard::app_state()?; // public: ending no session is harmless
    let session = super::guard::session().await?;
    if let Some(user) = super::guard::session_user(&state, &session).await? {
        super::guard::audit(
            &state,
            Some(&user.username),
            "auth.logout",
            None,
            crate::db::audit::Outcome::Ok,
            None,
        )
        .await;
    }
    super::guard::end_session(&session).await?;
    // A plain form post (the sign-out button before hydration) is sent on to the sign-in page;
    // the wasm's own call gets a header and the frame navigates itself.
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/api", endpoint = "public/setup_status")]
pub async fn get_setup_status() -> Result<SetupStatus, AppError> {
    let state = super::guard::app_state()?; // public: the setup page asks before showing its form
    Ok(SetupStatus {
        needed: crate::db::users::count_active_admins(&state.db).await? == 0
            && state.setup.is_open(),
    })
}

#[server(prefix = "/api", endpoint = "public/setup")]
pub async fn setup(
    token: String,
    username: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    let state = super::guard::app_state()?; // public: guarded by the one-time token instead
    ssr::setup(&state, token, username, password, confirm).await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::time::Duration;

    use super::*;
    use crate::{
        auth::{guard, password},
        db::{self, audit::Outcome},
        state::AppState,
    };

    pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
    pub const THROTTLE_MAX_FAILURES: i64 = 5;

    async fn client_addr() -> String {
        leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .map(|ci| ci.0.ip().to_string())
            .unwrap_or_else(|_| "unknown".into())
    }

    /// Minutes until the throttle lifts, or `None` when the caller may try.
    async fn throttled(
        state: &AppState,
        username: &str,
        addr: &str,
    ) -> Result<Option<u32>, AppError> {
        let window = THROTTLE_WINDOW.as_millis() as i64;
        let now = db::now_ms();
        let (by_user, user_oldest, by_addr, addr_oldest) =
            db::login_attempts::recent_failures(&state.db, username, addr, now - window).await?;
        let oldest = [
            (by_user >= THROTTLE_MAX_FAILURES)
                .then_some(user_oldest)
                .flatten(),
            (by_addr >= THROTTLE_MAX_FAILURES)
                .then_some(addr_oldest)
                .flatten(),
        ]
        .into_iter()
        .flatten()
        .max();
        Ok(oldest.map(|at| {
            let wait_ms = (at + window - now).max(0);
            (wait_ms as f64 / 60_000.0).ceil().max(1.0) as u32
        }))
    }

    pub async fn login(
        state: &AppState,
        username: String,
        password: String,
    ) -> Result<CurrentUser, AppError> {
        let username = username.trim().to_lowercase();
        let addr = client_addr().await;
        if let Some(minutes) = throttled(state, &username, &addr).await? {
            guard::audit(
                state,
                Some(&username),
                "auth.login",
                None,
                Outcome::Denied,
                Some("throttled"),
            )
            .await;
            return Err(AppError::TooManyAttempts { minutes });
        }
        let user = db::users::by_username(&state.db, &username).await?;
        // Always verify (a dummy hash for an unknown user), and answer unknown user, wrong
        // password and disabled account with the same message: usernames cannot be probed.
        let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await;
        let user = user.filter(|u| ok && !u.disabled);
        db::login_attempts::record(&state.db, &username, &addr, user.is_some()).await?;
        let Some(user) = user else {
            guard::audit(
                state,
                Some(&username),
                "auth.login",
                None,
                Outcome::Failed,
                Some(&addr),
            )
            .await;
            return Err(AppError::Validation {
                field: None,
                message: "Wrong username or password.".into(),
            });
        };
        let session = guard::session().await?;
        guard::start_session(&session, &user).await?;
        guard::audit(
            state,
            Some(&username),
            "auth.login",
            None,
            Outcome::Ok,
            Some(&addr),
        )
        .await;
        Ok(CurrentUser {
            id: user.id,
            username: user.username.clone(),
            role: user.role(),
        })
    }

    pub async fn setup(
        state: &AppState,
        token: String,
        username: String,
        password: String,
        confirm: String,
    ) -> Result<(), AppError> {
        if !state.setup.check(&token) {
            guard::audit(
                state,
                None,
                "setup.admin",
                None,
                Outcome::Denied,
                Some("bad token"),
            )
            .await;
            return Err(AppError::Forbidden);
        }
        let username = username.trim().to_lowercase();
        validate_username(&username)?;
        password::validate_new_password(&password)?;
        if password != confirm {
            return Err(AppError::invalid("confirm", "The passwords do not match."));
        }
        let hash = password::hash(password).await?;
        match db::users::insert_first_admin(&state.db, &username, &hash).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(AppError::Conflict("Setup is already complete.".into())),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AppError::invalid("username", "That username is taken."))
            }
            Err(e) => return Err(e.into()),
        }
        state.setup.close();
        guard::audit(
            state,
            Some(&username),
            "setup.admin",
            Some(&username),
            Outcome::Ok,
            None,
        )
        .await;
        tracing::info!(%username, "first admin created; the setup page is now closed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("ada").is_ok());
        assert!(validate_username("a.b_c-9").is_ok());
        for bad in ["a", "Ada", "with space", "é", &"x".repeat(33)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }
}

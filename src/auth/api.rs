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

    /// Failures are counted over this window.
    pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
    /// Failures for one username from one client address before that pair must wait. Keyed by
    /// the pair, so a stranger failing with a real user's name locks out only themselves.
    pub const THROTTLE_MAX_FAILURES: i64 = 5;
    /// Failures from one client address, any usernames (password spraying), before it must
    /// wait. Higher than the pair limit: several people may share one address.
    pub const THROTTLE_MAX_ADDR_FAILURES: i64 = 20;
    /// A username that failed this often in the window (from anywhere) is slowed down, never
    /// blocked: each attempt waits [`username_delay`] first.
    pub const SLOW_DOWN_AFTER: i64 = 5;

    /// The wait before checking a password for a username with `failures` recent failures from
    /// all addresses: nothing below [`SLOW_DOWN_AFTER`], then 250 ms doubling to at most 8 s.
    /// The real user still gets in; a guesser spread over many addresses gets far fewer tries.
    pub fn username_delay(failures: i64) -> Duration {
        if failures < SLOW_DOWN_AFTER {
            return Duration::ZERO;
        }
        let doublings = (failures - SLOW_DOWN_AFTER).min(5) as u32;
        Duration::from_millis(250 << doublings)
    }

    /// The client address (through a trusted proxy: the one it forwarded, see `proxy`).
    async fn client_addr() -> String {
        if let Ok(axum::Extension(client)) =
            leptos_axum::extract::<axum::Extension<crate::proxy::Client>>().await
        {
            return client.addr.to_string();
        }
        leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .map(|ci| ci.0.ip().to_string())
            .unwrap_or_else(|_| "unknown".into())
    }

    /// Minutes until the limit that refused this attempt lifts.
    async fn wait_minutes(state: &AppState, username: &str, addr: &str) -> Result<u32, AppError> {
        let window = THROTTLE_WINDOW.as_millis() as i64;
        let now = db::now_ms();
        let (pair, by_addr, _) =
            db::login_attempts::recent_failures(&state.db, username, addr, now - window).await?;
        let oldest = [
            (pair.count >= THROTTLE_MAX_FAILURES).then_some(pair.oldest_ms),
            (by_addr.count >= THROTTLE_MAX_ADDR_FAILURES).then_some(by_addr.oldest_ms),
        ]
        .into_iter()
        .flatten()
        .flatten()
        .max()
        .unwrap_or(now);
        let wait_ms = (oldest + window - now).max(0);
        Ok((wait_ms as f64 / 60_000.0).ceil().max(1.0) as u32)
    }

    pub async fn login(
        state: &AppState,
        username: String,
        password: String,
    ) -> Result<CurrentUser, AppError> {
        let username = username.trim().to_lowercase();
        // Bounded before anything is stored or hashed (the form allows 256 characters).
        if username.chars().count() > 64 || password.chars().count() > password::MAX_PASSWORD_LEN {
            return Err(AppError::Validation {
                field: None,
                message: "Wrong username or password.".into(),
            });
        }
        let addr = client_addr().await;
        let now = db::now_ms();
        let since_ms = now - THROTTLE_WINDOW.as_millis() as i64;
        // Counted before the slow part: the attempt is written as a failure now, so thirty
        // attempts at once get five password checks, not thirty.
        let limits = db::login_attempts::Limits {
            since_ms,
            per_pair: THROTTLE_MAX_FAILURES,
            per_addr: THROTTLE_MAX_ADDR_FAILURES,
        };
        let Some(attempt) =
            db::login_attempts::admit(&state.db, &username, &addr, now, &limits).await?
        else {
            let minutes = wait_minutes(state, &username, &addr).await?;
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
        };
        let (_, _, by_user) =
            db::login_attempts::recent_failures(&state.db, &username, &addr, since_ms).await?;
        // This attempt is one of them (still marked failed).
        let delay = username_delay(by_user.count - 1);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let user = db::users::by_username(&state.db, &username).await?;
        // Always verify (a dummy hash for an unknown user), and answer unknown user, wrong
        // password and disabled account with the same message: usernames cannot be probed.
        let ok = match password::verify(password, user.as_ref().map(|u| u.password_hash.clone()))
            .await
        {
            Ok(ok) => ok,
            Err(busy) => {
                // Never checked: it does not count against anyone.
                db::login_attempts::forget(&state.db, attempt).await?;
                return Err(busy);
            }
        };
        let user = user.filter(|u| ok && !u.disabled);
        let Some(user) = user else {
            metrics::counter!("letta_admin_login_failures_total").increment(1);
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
        db::login_attempts::mark_succeeded(&state.db, attempt).await?;
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

    #[cfg(feature = "ssr")]
    #[test]
    fn a_failing_username_is_slowed_down_never_blocked() {
        use super::ssr::{username_delay, SLOW_DOWN_AFTER};
        use std::time::Duration;
        assert_eq!(username_delay(0), Duration::ZERO);
        assert_eq!(username_delay(SLOW_DOWN_AFTER - 1), Duration::ZERO);
        assert_eq!(username_delay(SLOW_DOWN_AFTER), Duration::from_millis(250));
        assert_eq!(
            username_delay(SLOW_DOWN_AFTER + 1),
            Duration::from_millis(500)
        );
        // However many failures, the wait stays bounded: the real user still gets in.
        assert_eq!(username_delay(10_000), Duration::from_secs(8));
    }

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("ada").is_ok());
        assert!(validate_username("a.b_c-9").is_ok());
        for bad in ["a", "Ada", "with space", "é", &"x".repeat(33)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }
}

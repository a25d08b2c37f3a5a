//! (Server only.) What the settings server functions do: plain async functions over the
//! request context, so tests reach them without a Leptos runtime.

use std::time::{Duration, Instant};

use super::api::*;
use crate::error::AppError;
use crate::{
    auth::guard::Ctx,
    connection::{self, KEY_BASE_URL, KEY_PASSWORD, KEY_TIMEOUT, PASSWORD_PURPOSE},
    db::{self, audit::Outcome},
    letta::{Connection, LettaClient, LettaError},
    state::AppState,
};

async fn provenance(state: &AppState, key: &str) -> Result<(Option<String>, Provenance), AppError> {
    Ok(match db::settings::get(&state.db, key).await? {
        None => (
            None,
            Provenance {
                source: "default".into(),
                updated_at: None,
                updated_by: None,
            },
        ),
        Some(r) => (
            Some(r.value),
            Provenance {
                source: r.source,
                updated_at: Some(r.updated_at),
                updated_by: r.updated_by,
            },
        ),
    })
}

pub async fn view(state: &AppState) -> Result<SettingsView, AppError> {
    let (url, base_url_from) = provenance(state, KEY_BASE_URL).await?;
    let (pw, password_from) = provenance(state, KEY_PASSWORD).await?;
    let (timeout, timeout_from) = provenance(state, KEY_TIMEOUT).await?;
    Ok(SettingsView {
        base_url: url.unwrap_or_default(),
        base_url_from,
        password_set: pw.is_some_and(|p| !p.is_empty()),
        password_from,
        timeout_secs: timeout
            .and_then(|t| t.parse().ok())
            .unwrap_or(connection::DEFAULT_TIMEOUT_SECS),
        timeout_from,
    })
}

fn wants_clear(form: &SettingsForm) -> bool {
    matches!(form.clear_password.as_deref(), Some("on" | "true" | "1"))
}

/// The saved password may only ever go to the saved URL: anyone who could point the
/// dashboard elsewhere with an empty password field (an operator, or whoever holds an
/// operator's session) would otherwise receive it at a server they control.
fn password_stays_with_its_url() -> AppError {
    AppError::invalid(
        "password",
        "Type the password to use another URL: the saved password is only ever sent to the saved URL.",
    )
}

pub async fn save(ctx: &Ctx, form: SettingsForm) -> Result<SettingsView, AppError> {
    let url = validate_base_url(&form.base_url)?;
    let timeout = validate_timeout(&form.timeout_secs)?;
    let state = &ctx.state;
    let who = Some(ctx.user.username.as_str());
    let mut changed = vec![];
    let current = view(state).await?;
    if validate_base_url(&current.base_url).ok().as_deref() != Some(&url)
        && current.password_set
        && form.password.is_empty()
        && !wants_clear(&form)
    {
        return Err(password_stays_with_its_url());
    }
    if current.base_url != url || current.base_url_from.source == "default" {
        db::settings::put(&state.db, KEY_BASE_URL, &url, "dashboard", who).await?;
        changed.push("url");
    }
    if current.timeout_secs != timeout || current.timeout_from.source == "default" {
        db::settings::put(
            &state.db,
            KEY_TIMEOUT,
            &timeout.to_string(),
            "dashboard",
            who,
        )
        .await?;
        changed.push("timeout");
    }
    if wants_clear(&form) {
        // Kept as an empty value (not deleted), so the page can still say who cleared it
        // and an environment default is not copied in again at the next start.
        db::settings::put(&state.db, KEY_PASSWORD, "", "dashboard", who).await?;
        changed.push("password cleared");
    } else if !form.password.is_empty() {
        let sealed = state
            .secrets
            .seal(PASSWORD_PURPOSE, &form.password)
            .map_err(|e| {
                tracing::error!(error = %e, "sealing the Letta password");
                AppError::Internal
            })?;
        db::settings::put(&state.db, KEY_PASSWORD, &sealed, "dashboard", who).await?;
        changed.push("password");
    }
    state.letta.reload(&state.db, &state.secrets).await?;
    let detail = if changed.is_empty() {
        "no change".to_string()
    } else {
        changed.join(", ")
    };
    ctx.audit(
        "settings.letta.save",
        Some(&url),
        Outcome::Ok,
        Some(&detail),
    )
    .await;
    view(state).await
}

/// Tests the values in the form (saved or not). An empty password field means "the saved
/// password", unless "clear" is ticked.
pub async fn test(ctx: &Ctx, form: SettingsForm) -> Result<ConnectionReport, AppError> {
    let url = validate_base_url(&form.base_url)?;
    let timeout = validate_timeout(&form.timeout_secs)?;
    let password = if wants_clear(&form) {
        None
    } else if !form.password.is_empty() {
        Some(secrecy::SecretString::from(form.password.clone()))
    } else {
        let saved = connection::load(&ctx.state.db, &ctx.state.secrets).await?;
        match saved.password {
            Some(_) if validate_base_url(&saved.base_url).ok().as_deref() != Some(&url) => {
                return Err(password_stays_with_its_url())
            }
            pw => pw,
        }
    };
    let conn = Connection::parse(&url, password.clone(), Duration::from_secs(timeout))
        .map_err(|_| AppError::invalid("base_url", "That is not a usable http(s) URL."))?;
    let client = LettaClient::new(ctx.state.letta.http(), conn);
    let report = probe(&client, password.is_some(), timeout).await;
    let outcome = if report.ok {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    ctx.audit(
        "settings.letta.test",
        Some(&url),
        outcome,
        Some(&report.outcome),
    )
    .await;
    Ok(report)
}

fn report(outcome: &str, message: String, version: Option<String>) -> ConnectionReport {
    ConnectionReport {
        ok: outcome == "connected",
        outcome: outcome.into(),
        message,
        version,
    }
}

/// First the open health route (reachable? Letta? which version?), then an authenticated
/// call: the health route answers without a password, so it proves nothing about it.
pub async fn probe(
    client: &LettaClient,
    has_password: bool,
    timeout_secs: u64,
) -> ConnectionReport {
    let started = Instant::now();
    let health = match client.health().await {
        Ok(h) if !h.version.is_empty() => h,
        Ok(_) => {
            return report(
                "not_letta",
                "That address answers, but it is not a Letta server.".into(),
                None,
            )
        }
        Err(e) => {
            tracing::info!(error = %e, "connection test: health check failed");
            if let Some(detail) = e.log_detail() {
                tracing::debug!(detail, "connection test: the server's answer");
            }
            return match e {
                LettaError::Timeout => report(
                    "timeout",
                    format!("Timed out: no answer within {timeout_secs} s."),
                    None,
                ),
                LettaError::Tls { .. } => report(
                    "tls",
                    "TLS error: the secure connection failed (check the certificate, or whether the server speaks https).".into(),
                    None,
                ),
                LettaError::Transport { .. } => report(
                    "unreachable",
                    "Unreachable: nothing answers at that address (check the host and port).".into(),
                    None,
                ),
                _ => report("not_letta", "That address answers, but it is not a Letta server.".into(), None),
            };
        }
    };
    match client.check_auth().await {
        Ok(()) => {
            let ms = started.elapsed().as_millis();
            report(
                "connected",
                format!("Connected: Letta {}, {ms} ms", health.version),
                Some(health.version),
            )
        }
        Err(LettaError::Unauthorized { .. }) if has_password => report(
            "wrong_password",
            "Wrong password: the Letta server refused it.".into(),
            Some(health.version),
        ),
        Err(LettaError::Unauthorized { .. }) => report(
            "no_password",
            "This Letta server needs a password.".into(),
            Some(health.version),
        ),
        Err(LettaError::Timeout) => report(
            "timeout",
            format!("Timed out: no answer within {timeout_secs} s."),
            Some(health.version),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "connection test: authenticated call failed");
            tracing::debug!(
                detail = e.log_detail().unwrap_or(""),
                "connection test: the server's answer"
            );
            report(
                "error",
                format!(
                    "Letta {} answered, but an authenticated call failed.",
                    health.version
                ),
                Some(health.version),
            )
        }
    }
}

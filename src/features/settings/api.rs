//! Letta connection settings (operators and admins) and the connection badge (everyone).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// "environment" (a first-run default), "dashboard", or "default" (never set).
    pub source: String,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

/// The settings as the browser may see them: the password only as set / not set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub base_url: String,
    pub base_url_from: Provenance,
    pub password_set: bool,
    pub password_from: Provenance,
    pub timeout_secs: u64,
    pub timeout_from: Provenance,
}

/// The result of "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub ok: bool,
    /// A stable code for the outcome: connected, unreachable, timeout, tls, not_letta,
    /// wrong_password, no_password, error.
    pub outcome: String,
    pub message: String,
    pub version: Option<String>,
}

/// What the settings form sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SettingsForm {
    pub base_url: String,
    /// Empty: keep the stored password.
    #[serde(default)]
    pub password: String,
    /// Remove the stored password.
    #[serde(default)]
    pub clear_password: Option<String>,
    pub timeout_secs: String,
}

#[server(prefix = "/api", endpoint = "operator/settings/get")]
pub async fn get_settings() -> Result<SettingsView, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::view(&ctx.state).await
}

#[server(prefix = "/api", endpoint = "operator/settings/save")]
pub async fn save_settings(form: SettingsForm) -> Result<SettingsView, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::save(&ctx, form).await
}

#[server(prefix = "/api", endpoint = "operator/settings/test")]
pub async fn test_connection(form: SettingsForm) -> Result<ConnectionReport, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::test(&ctx, form).await
}

/// Checks a Letta base URL: http or https, a host, and nothing that belongs elsewhere.
pub fn validate_base_url(raw: &str) -> Result<String, AppError> {
    let field = |m: &str| AppError::invalid("base_url", m);
    let s = raw.trim();
    if s.is_empty() {
        return Err(field(
            "Enter the Letta server's URL, like https://letta.example.com:8283.",
        ));
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(field("The URL must start with http:// or https://."));
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(field("The URL must start with http:// or https://."));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(field(
            "Leave the user name and password out of the URL; the password has its own field.",
        ));
    }
    if s.contains('?') {
        return Err(field("The URL cannot have a query (the part after ?)."));
    }
    if s.contains('#') {
        return Err(field("The URL cannot have a fragment (the part after #)."));
    }
    if authority.is_empty() || authority.starts_with(':') || authority.contains(char::is_whitespace)
    {
        return Err(field(
            "The URL needs a host name, like https://letta.example.com.",
        ));
    }
    Ok(s.to_string())
}

pub fn validate_timeout(raw: &str) -> Result<u64, AppError> {
    match raw.trim().parse::<u64>() {
        Ok(n) if (1..=600).contains(&n) => Ok(n),
        _ => Err(AppError::invalid(
            "timeout_secs",
            "The timeout must be a whole number of seconds from 1 to 600.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_with_a_message_each() {
        assert_eq!(
            validate_base_url(" https://letta.example.com:8283/ ").unwrap(),
            "https://letta.example.com:8283/"
        );
        assert!(validate_base_url("http://127.0.0.1:8283").is_ok());
        assert!(validate_base_url("https://host/prefix/letta").is_ok());
        let msg = |u: &str| {
            validate_base_url(u)
                .unwrap_err()
                .for_field("base_url")
                .unwrap()
        };
        assert!(msg("").contains("Enter"));
        assert!(msg("ftp://x").contains("http:// or https://"));
        assert!(msg("letta.example.com").contains("http:// or https://"));
        assert!(msg("https://user:pw@host").contains("password"));
        assert!(msg("https://host/?x=1").contains("query"));
        assert!(msg("https://host/#top").contains("fragment"));
        assert!(msg("https://").contains("host"));
        assert!(msg("https://:8283").contains("host"));
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(validate_timeout("30").unwrap(), 30);
        for bad in ["0", "601", "abc", "-1", ""] {
            assert!(validate_timeout(bad)
                .unwrap_err()
                .for_field("timeout_secs")
                .is_some());
        }
    }
}

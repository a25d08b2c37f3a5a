//! `AppError`: the one error type a browser may see.
//!
//! Messages are short and actionable. Internals (SQL errors, Letta response bodies, stack
//! traces) never go in here: they are logged on the server where the error is created, and the
//! browser gets one of these variants.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthorized,
    #[error("You don't have permission to do that.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    /// Input that failed validation; `field` names the form field the message belongs beside.
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("Too many attempts, try again in {minutes} minutes.")]
    TooManyAttempts { minutes: u32 },
    /// A per-user limit was reached (for example chat turns running and waiting); the message
    /// says which and what to do.
    #[error("{0}")]
    Limit(String),
    /// The server is at capacity for this kind of work right now (for example every password
    /// check in use); try again after `retry_after_secs`.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u32,
    },
    /// The request body is larger than the server accepts.
    #[error("The request is too large: at most {max_kib} KiB.")]
    TooLarge { max_kib: u32 },
    /// A problem talking to the Letta server, already summarised for a person.
    #[error("{0}")]
    Upstream(String),
    #[error("Something went wrong on the server. It has been logged.")]
    Internal,
    /// The request itself failed (network, decoding) before the server could answer.
    #[error("Request failed: {0}")]
    Request(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// The message for a given form field, if this error belongs beside it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation {
                field: Some(f),
                message,
            } if f == name => Some(message.clone()),
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Validation { .. } => 422,
            AppError::Conflict(_) => 409,
            AppError::TooManyAttempts { .. } | AppError::Limit(_) => 429,
            AppError::Busy { .. } => 503,
            AppError::TooLarge { .. } => 413,
            AppError::Upstream(_) => 502,
            AppError::Internal | AppError::Request(_) => 500,
        }
    }

    /// The `Retry-After` seconds this error is answered with, when waiting helps.
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            AppError::TooManyAttempts { minutes } => Some(minutes.saturating_mul(60)),
            AppError::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// A page whose data failed shows this error: on the server it also gives the page the
    /// error's status, so a failed page is not a 200 (and the page cache never keeps it).
    /// Nothing happens in the browser.
    pub fn mark_page(&self) {
        #[cfg(feature = "ssr")]
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(
                http::StatusCode::from_u16(self.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Bad arguments are the caller's fault and safe to describe.
            ServerFnErrorErr::Args(m) => AppError::Validation {
                field: None,
                message: format!("Invalid request: {m}"),
            },
            ServerFnErrorErr::Request(m) => AppError::Request(m),
            other => AppError::Request(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_belong_to_their_field_only() {
        let e = AppError::invalid("username", "Too long");
        assert_eq!(e.for_field("username").as_deref(), Some("Too long"));
        assert_eq!(e.for_field("password"), None);
        assert_eq!(e.status(), 422);
    }

    #[test]
    fn errors_round_trip_through_json() {
        let e = AppError::TooManyAttempts { minutes: 12 };
        let s = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&s).unwrap(), e);
        assert_eq!(e.to_string(), "Too many attempts, try again in 12 minutes.");
    }
}

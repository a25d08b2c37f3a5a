//! The audit log: who did what, when, to what, and how it ended (admins only).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// `YYYY-MM-DD`, inclusive: the viewer's day (see `tz`).
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive: the viewer's day (see `tz`).
    pub to: Option<String>,
    /// The viewer's offset from UTC in minutes (east positive) when the `from` day starts,
    /// and when the day after `to` starts (`components::time::filter_range`): `from` and `to`
    /// are the viewer's days. Without them, UTC days.
    pub tz: Option<i32>,
    pub tz_to: Option<i32>,
    /// Cursor: entries older than this id.
    pub before: Option<i64>,
    /// Cursor: entries newer than this id.
    pub after: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Cursor for the newer page (`after`), if there is one.
    pub newer: Option<i64>,
    /// Cursor for the older page (`before`), if there is one.
    pub older: Option<i64>,
    /// Every action name recorded so far (the filter's choices).
    pub actions: Vec<String>,
}

pub const PAGE_SIZE: i64 = 50;

#[server(prefix = "/api", endpoint = "admin/audit/list")]
pub async fn list_audit(#[server(default)] filter: AuditFilter) -> Result<AuditPage, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Admin).await?;
    let tz = crate::components::time::viewer_tz().await;
    super::service::list(&ctx, filter, tz).await
}

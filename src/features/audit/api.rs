//! The audit log: who did what, when, to what, and how it ended (admins only).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub to: Option<String>,
    /// The viewer's offset from UTC in minutes (east positive): `from` and `to` are the
    /// viewer's days. Without it, UTC days.
    pub tz: Option<i32>,
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
    ssr::list(&ctx, filter).await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::{
        auth::guard::Ctx,
        components::time::filter_day,
        db::{self, audit::AuditQuery},
    };

    pub async fn list(ctx: &Ctx, f: AuditFilter) -> Result<AuditPage, AppError> {
        let nonempty =
            |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let from_ms = filter_day("from", f.from.as_deref(), f.tz)?;
        // `to` is inclusive: up to the end of that day.
        let to_ms = filter_day("to", f.to.as_deref(), f.tz)?.map(|ms| ms + 86_400_000);
        let backwards = f.after.is_some() && f.before.is_none();
        let q = AuditQuery {
            actor: nonempty(f.actor),
            action: nonempty(f.action),
            from_ms,
            to_ms,
            before_id: f.before,
            after_id: if backwards { f.after } else { None },
            limit: PAGE_SIZE + 1,
        };
        let rows = db::audit::page(&ctx.state.db, &q).await?;
        let (rows, newer, older) =
            db::keyset_window(rows, PAGE_SIZE, f.before, backwards, |r| r.id);
        Ok(AuditPage {
            entries: rows
                .into_iter()
                .map(|r| AuditEntry {
                    id: r.id,
                    at: r.at,
                    actor: r.actor,
                    action: r.action,
                    target: r.target,
                    outcome: r.outcome,
                    detail: r.detail,
                })
                .collect(),
            newer,
            older,
            actions: db::audit::actions(&ctx.state.db).await?,
        })
    }
}

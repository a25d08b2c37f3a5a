//! (Server only.) What the audit server functions do: plain async functions over the
//! request context, so tests reach them without a Leptos runtime.

use super::api::*;
use crate::error::AppError;
use crate::{
    auth::guard::Ctx,
    components::time::filter_range,
    db::{self, audit::AuditQuery},
};

/// `viewer_tz`: the viewer's offset now (the `tz` cookie), for a filter without its own.
pub async fn list(
    ctx: &Ctx,
    f: AuditFilter,
    viewer_tz: Option<i32>,
) -> Result<AuditPage, AppError> {
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let tz = f.tz.or(viewer_tz);
    let (from_ms, to_ms) = filter_range(f.from.as_deref(), f.to.as_deref(), tz, f.tz_to.or(tz))?;
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
    let (rows, newer, older) = db::keyset_window(rows, PAGE_SIZE, f.before, backwards, |r| r.id);
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

//! The Overview's cards, read through the shared layers only: the Letta connection (its cached
//! snapshot), the database (persons' health, the agent tickets, the chat journal, the turn
//! ledger, the audit log).

use std::time::Duration;

use super::api::*;
use crate::auth::{guard::Ctx, Role};
use crate::components::chart::Bars;
use crate::db::{self, audit::AuditQuery, ledger::TurnQuery};
use crate::error::AppError;

/// How long the server's counts are reused: the page stays fast, and a number is never more
/// than this old (the card says when it was read).
const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(30);
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn internal(e: sqlx::Error) -> AppError {
    tracing::error!(error = %e, "overview");
    AppError::Internal
}

pub async fn letta(ctx: &Ctx) -> Result<LettaCard, AppError> {
    if ctx.state.letta.client().is_err() {
        return Ok(LettaCard::NotConfigured);
    }
    let snap = match ctx.state.letta.snapshot(SNAPSHOT_MAX_AGE).await {
        Ok(snap) => snap,
        Err(AppError::Upstream(message)) => return Ok(LettaCard::Unreachable { message }),
        Err(e) => return Err(e),
    };
    let operator = ctx.user.role >= Role::Operator;
    Ok(LettaCard::Connected(LettaFigures {
        host: snap.host,
        version: snap.version,
        latency_ms: snap.latency_ms,
        read_at: snap.read_at,
        agents: snap.agents,
        identities: operator.then_some(snap.identities),
        blocks: operator.then_some(snap.blocks),
    }))
}

pub async fn persons(ctx: &Ctx) -> Result<PersonsCard, AppError> {
    let db = &ctx.state.db;
    let total = db::persons::count(db).await.map_err(internal)?;
    let health = db::persons::health_summary(db).await.map_err(internal)?;
    let problem_list = db::persons::with_problems(db, 5)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|p| ProblemPerson {
            id: p.id,
            username: p.username,
            health: p.health,
        })
        .collect();
    Ok(PersonsCard {
        total,
        problems: health.problems,
        unchecked: health.unchecked,
        last_checked: health.last_checked,
        problem_list,
    })
}

/// `n` buckets of `bucket_ms` ending with the one that holds `now_ms`.
fn bars(
    counts: Vec<db::ledger::Bucket>,
    from: i64,
    bucket_ms: i64,
    n: usize,
    offset_min: i32,
) -> Bars {
    let mut bars = vec![(0, 0); n];
    for b in counts {
        if let Some(bar) = bars.get_mut(b.bucket as usize) {
            *bar = (b.turns, b.failures);
        }
    }
    Bars {
        from,
        bucket_ms,
        bars,
        offset_min,
    }
}

/// `tz`: the viewer's offset (minutes east of UTC), in which the charts cut their days.
pub async fn chat(ctx: &Ctx, tz: Option<i32>) -> Result<ChatCard, AppError> {
    let state = &ctx.state;
    let db = &state.db;
    // Instances' heartbeats are on the database's clock (see `Instance::now_ms`).
    let queues = db::instances::queues(db, state.instance.now_ms(), state.instance.expiry_ms())
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(agent_id, n)| AgentQueue {
            agent_id,
            running: n.min(1),
            waiting: (n - 1).max(0),
        })
        .collect();
    let mine = db::ledger::recent_chats(db, ctx.user.id, 5)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|c| RecentChat {
            agent_id: c.agent_id,
            person_id: c.person_id,
            person: c.person,
            at: c.at,
        })
        .collect();
    let ops = if ctx.user.role >= Role::Operator {
        Some(chat_ops(ctx, db::now_ms(), tz.unwrap_or(0)).await?)
    } else {
        None
    };
    Ok(ChatCard { queues, mine, ops })
}

async fn chat_ops(ctx: &Ctx, now: i64, tz: i32) -> Result<ChatOps, AppError> {
    let db = &ctx.state.db;
    let journal = db::chat::attachments(db).await.map_err(internal)?;
    let mut stuck = 0;
    for row in &journal {
        let ended = db::ledger::by_turn(db, &row.turn_id)
            .await
            .map_err(internal)?
            .is_none_or(|t| t.ended_at.is_some());
        stuck += i64::from(ended);
    }
    let all = TurnQuery::default();
    let day_from = (now.div_euclid(HOUR_MS) - 23) * HOUR_MS;
    let day = db::ledger::buckets(db, &all, day_from, day_from + DAY_MS, HOUR_MS)
        .await
        .map_err(internal)?;
    // The viewer's days: from the local midnight six days ago.
    let shift = i64::from(tz) * 60_000;
    let week_from = ((now + shift).div_euclid(DAY_MS) - 6) * DAY_MS - shift;
    let week = db::ledger::buckets(db, &all, week_from, week_from + 7 * DAY_MS, DAY_MS)
        .await
        .map_err(internal)?;
    let failures = db::ledger::recent_failures(db, 5)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|t| FailedTurn {
            at: t.queued_at,
            user: t.username,
            person: t.person,
            agent_id: t.agent_id,
            outcome: t.outcome.unwrap_or_default(),
            reason: t.reason,
        })
        .collect();
    Ok(ChatOps {
        attached: journal.len() as i64,
        stuck,
        day: bars(day, day_from, HOUR_MS, 24, tz),
        week: bars(week, week_from, DAY_MS, 7, tz),
        failures,
    })
}

pub async fn audit(ctx: &Ctx) -> Result<Vec<AuditLine>, AppError> {
    let rows = db::audit::page(
        &ctx.state.db,
        &AuditQuery {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|r| AuditLine {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
        })
        .collect())
}

//! The Chat activity screen's server side: the turn ledger, filtered and paged, its chart, the
//! blocks the journal still holds, and "detach now" for one of them.

use super::model::*;
use crate::auth::guard::Ctx;
use crate::components::chart::Bars;
use crate::components::time::filter_range;
use crate::db::{self, audit::Outcome, ledger::TurnQuery};
use crate::error::AppError;
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 50;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The chart's span when the filter names no dates.
const DEFAULT_DAYS: i64 = 14;
/// The most bars the chart draws: a longer span gets wider buckets.
const MAX_BARS: i64 = 120;

fn internal(e: sqlx::Error) -> AppError {
    tracing::error!(error = %e, "turn ledger");
    AppError::Internal
}

/// The chart's span and bucket width: the filter's dates (or the last two weeks of the
/// viewer's days, `tz` minutes east of UTC), by the hour up to two days, else by the day (or
/// wider, to stay within [`MAX_BARS`]).
pub fn chart_span(
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    now_ms: i64,
    tz: i32,
) -> (i64, i64, i64) {
    let shift = i64::from(tz) * 60_000;
    let end_of_today = ((now_ms + shift).div_euclid(DAY_MS) + 1) * DAY_MS - shift;
    let to = to_ms.unwrap_or(end_of_today);
    let from = from_ms
        .unwrap_or(to - DEFAULT_DAYS * DAY_MS)
        .min(to - HOUR_MS);
    let span = to - from;
    let bucket = if span <= 2 * DAY_MS {
        HOUR_MS
    } else {
        let days = (span + DAY_MS - 1) / DAY_MS;
        DAY_MS * ((days + MAX_BARS - 1) / MAX_BARS).max(1)
    };
    (from, to, bucket)
}

/// `viewer_tz`: the viewer's offset now (the `tz` cookie), for a filter without its own and
/// for the chart's days.
pub async fn activity(
    ctx: &Ctx,
    f: ActivityFilter,
    viewer_tz: Option<i32>,
) -> Result<ActivityPage, AppError> {
    let state = &ctx.state;
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let outcome = nonempty(f.outcome);
    if let Some(o) = &outcome {
        if !OUTCOMES.contains(&o.as_str()) {
            return Err(AppError::invalid(
                "outcome",
                "Pick an outcome from the list.",
            ));
        }
    }
    let agent = nonempty(f.agent);
    if let Some(a) = &agent {
        super::service::check_agent_id(a)?;
    }
    let tz = f.tz.or(viewer_tz);
    let (from_ms, to_ms) = filter_range(f.from.as_deref(), f.to.as_deref(), tz, f.tz_to.or(tz))?;
    let backwards = f.after.is_some() && f.before.is_none();
    let q = TurnQuery {
        agent_id: agent,
        person_id: f.person,
        username: nonempty(f.user),
        outcome,
        from_ms,
        to_ms,
        before_id: f.before,
        after_id: if backwards { f.after } else { None },
        limit: PAGE_SIZE + 1,
    };
    let rows = db::ledger::page(&state.db, &q).await.map_err(internal)?;
    let (rows, newer, older) = db::keyset_window(rows, PAGE_SIZE, f.before, backwards, |r| r.id);

    let offset_min = tz.unwrap_or(0);
    let (from, to, bucket_ms) = chart_span(from_ms, to_ms, db::now_ms(), offset_min);
    let counts = db::ledger::buckets(&state.db, &q, from, to, bucket_ms)
        .await
        .map_err(internal)?;
    let mut bars = vec![(0, 0); ((to - from + bucket_ms - 1) / bucket_ms) as usize];
    for b in counts {
        if let Some(bar) = bars.get_mut(b.bucket as usize) {
            *bar = (b.turns, b.failures);
        }
    }

    let (agents, persons, users) = db::ledger::choices(&state.db).await.map_err(internal)?;
    Ok(ActivityPage {
        entries: rows.into_iter().map(entry).collect(),
        newer,
        older,
        chart: Bars {
            from,
            bucket_ms,
            bars,
            offset_min,
        },
        journal: journal(state).await?,
        agents,
        persons,
        users,
    })
}

fn entry(r: db::ledger::TurnRow) -> LedgerEntry {
    LedgerEntry {
        id: r.id,
        turn_id: r.turn_id,
        user: r.username,
        person_id: r.person_id,
        person: r.person,
        agent_id: r.agent_id,
        background: r.background != 0,
        queued_at: r.queued_at,
        wait_ms: r.started_at.map(|s| s - r.queued_at),
        run_ms: r.started_at.zip(r.ended_at).map(|(s, e)| e - s),
        run_id: r.run_id,
        outcome: r.outcome,
        reason: r.reason,
        attach: r.attach,
        detach: r.detach,
        total_tokens: r.total_tokens,
    }
}

/// Every block the journal holds, with whether its turn is still running.
async fn journal(state: &AppState) -> Result<Vec<JournalRow>, AppError> {
    let rows = db::chat::attachments(&state.db).await.map_err(internal)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let person = db::persons::by_id(&state.db, row.person_id)
            .await
            .map_err(internal)?
            .map(|p| p.username);
        let running = match db::ledger::by_turn(&state.db, &row.turn_id)
            .await
            .map_err(internal)?
        {
            Some(turn) => turn.ended_at.is_none(),
            None => false,
        };
        out.push(JournalRow {
            turn_id: row.turn_id,
            agent_id: row.agent_id,
            block_id: row.block_id,
            person,
            since: row.started_at,
            running,
        });
    }
    Ok(out)
}

/// "Detach now": takes the agent as a turn would (so no running turn loses its block), then
/// detaches the journaled block and drops its row. `Ok(false)`: the row was already gone.
pub async fn detach_now(ctx: &Ctx, turn_id: &str) -> Result<bool, AppError> {
    let state = &ctx.state;
    let Some(row) = db::chat::attachment(&state.db, turn_id)
        .await
        .map_err(internal)?
    else {
        return Ok(false);
    };
    let running = db::ledger::by_turn(&state.db, turn_id)
        .await
        .map_err(internal)?
        .is_some_and(|t| t.ended_at.is_none());
    if running {
        return Err(AppError::Conflict(
            "Its turn is still running; the block is detached when the turn ends.".into(),
        ));
    }
    let client = state.letta.client()?;
    let lease = state
        .blocks
        .turns
        .locks
        .acquire(&row.agent_id, state.config.chat_wait, &|_| {})
        .await
        .map_err(|_| {
            AppError::Conflict(
                "The agent is busy in a conversation; try again when it ends.".into(),
            )
        })?;
    // Holding the agent: the row may have gone meanwhile (its turn ended and detached it).
    let done = match db::chat::attachment(&state.db, turn_id).await {
        Ok(None) => Ok(false),
        Ok(Some(row)) if lease.still_held().await => {
            if crate::blocks::attach::detach_leftover(super::turn::io(state, &client), &row).await {
                Ok(true)
            } else {
                Err(AppError::Upstream(
                    "The Letta server did not detach the block. The sweeper keeps trying.".into(),
                ))
            }
        }
        Ok(Some(_)) => Err(AppError::Conflict(
            "The dashboard lost its hold on the agent; try again.".into(),
        )),
        Err(e) => Err(internal(e)),
    };
    lease.release().await;
    let outcome = match &done {
        Ok(_) => Outcome::Ok,
        Err(_) => Outcome::Failed,
    };
    ctx.audit(
        "chat.detach_now",
        Some(&row.agent_id),
        outcome,
        Some(&format!("{} (turn {})", row.block_id, row.turn_id)),
    )
    .await;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_spans_two_weeks_by_day_or_a_short_range_by_hour() {
        let now = 20_000 * DAY_MS + 5 * HOUR_MS;
        let (from, to, bucket) = chart_span(None, None, now, 0);
        assert_eq!(to, 20_001 * DAY_MS);
        assert_eq!(from, to - 14 * DAY_MS);
        assert_eq!(bucket, DAY_MS);

        let (from, to, bucket) = chart_span(Some(10 * DAY_MS), Some(11 * DAY_MS), now, 0);
        assert_eq!((from, to, bucket), (10 * DAY_MS, 11 * DAY_MS, HOUR_MS));

        // Three years: wide enough buckets to stay within the bars the chart draws.
        let (from, to, bucket) = chart_span(Some(0), Some(3 * 365 * DAY_MS), now, 0);
        assert!((to - from) / bucket <= MAX_BARS);
        assert_eq!(bucket % DAY_MS, 0);
    }
}

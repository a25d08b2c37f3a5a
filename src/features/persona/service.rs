use std::{collections::HashMap, sync::Arc};

use tokio::sync::Mutex;

use super::api::*;
use crate::{
    auth::guard::Ctx,
    db::{self, audit::Outcome},
    error::AppError,
    letta::BlockUpdate,
    state::AppState,
};

/// One lock per block: two saves of the same block never interleave their read-check-write.
#[derive(Clone, Default)]
pub struct BlockLocks(Arc<std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>>);

impl BlockLocks {
    /// Shared with every other editor of a block (the agent page's core memory): one lock per
    /// Letta block id, whoever edits it.
    pub(crate) fn lock_for(&self, block_id: &str) -> Arc<Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(block_id.to_string()).or_default().clone()
    }
}

async fn person_block(
    state: &AppState,
    person_id: i64,
) -> Result<(db::persons::PersonRow, String), AppError> {
    let p = db::persons::by_id(&state.db, person_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That person no longer exists.".into()))?;
    let block_id = p.block_id.clone().ok_or_else(|| {
        AppError::Conflict(
            "This person has no persona block: repair it on the person's page.".into(),
        )
    })?;
    Ok((p, block_id))
}

/// Reads the block (by the id we stored), remembering a value we have not seen before.
pub async fn load(state: &AppState, person_id: i64) -> Result<PersonaState, AppError> {
    let (p, block_id) = person_block(state, person_id).await?;
    let block = state.letta.client()?.blocks().get(&block_id).await?;
    if db::persons::last_known_value(&state.db, p.id)
        .await?
        .as_deref()
        != Some(block.value.as_str())
    {
        db::persons::add_version(&state.db, p.id, &block.value, "observed", None).await?;
    }
    Ok(PersonaState {
        person_id: p.id,
        username: p.username,
        block_id,
        value: block.value,
        limit: block.limit.map(|l| l as i64).unwrap_or(p.block_limit),
        description: block.description.unwrap_or_default(),
        read_only: block.read_only,
    })
}

pub async fn save(ctx: &Ctx, s: PersonaSave, source: &str) -> Result<SaveOutcome, AppError> {
    let state = &ctx.state;
    let (p, block_id) = person_block(state, s.person_id).await?;
    let lock = state.persona_locks.lock_for(&block_id);
    let _guard = lock.lock().await;
    // Re-read under the lock: the agent may have rewritten the block since the editor loaded it.
    let current = load(state, s.person_id).await?;
    if current.read_only {
        return Err(AppError::Conflict(
            "This block is read-only: the dashboard does not change it.".into(),
        ));
    }
    if current.value != s.base {
        ctx.audit(
            "persona.save",
            Some(&p.username),
            Outcome::Denied,
            Some("conflict"),
        )
        .await;
        return Ok(SaveOutcome::Conflict { server: current });
    }
    let limit = limit_from(&s.limit, current.limit)?;
    let chars = check_length(&s.value, limit)?;
    let update = BlockUpdate {
        value: Some(s.value.clone()),
        limit: (limit != current.limit).then_some(limit as u64),
        description: s.description.clone().filter(|d| *d != current.description),
        ..Default::default()
    };
    state
        .letta
        .client()?
        .blocks()
        .update(&block_id, &update)
        .await?;
    db::persons::add_version(&state.db, p.id, &s.value, source, Some(&ctx.user.username)).await?;
    ctx.audit(
        &format!("persona.{source}"),
        Some(&p.username),
        Outcome::Ok,
        Some(&format!("{chars} characters")),
    )
    .await;
    Ok(SaveOutcome::Saved(PersonaState {
        value: s.value,
        limit,
        description: s.description.unwrap_or(current.description),
        ..current
    }))
}

/// The limit a save asks for: empty keeps `current`; otherwise a whole number in 100..=1,000,000.
pub(crate) fn limit_from(raw: &str, current: i64) -> Result<i64, AppError> {
    match raw.trim() {
        "" => Ok(current),
        raw => match raw.parse::<i64>() {
            Ok(n) if (100..=1_000_000).contains(&n) => Ok(n),
            _ => Err(AppError::invalid(
                "limit",
                "The limit must be a whole number from 100 to 1,000,000.",
            )),
        },
    }
}

/// Letta stores a value over the block's limit; the dashboard refuses it. Returns the length.
pub(crate) fn check_length(value: &str, limit: i64) -> Result<i64, AppError> {
    let chars = value.chars().count() as i64;
    if chars > limit {
        return Err(AppError::invalid(
            "value",
            format!("The text has {chars} characters, over the block's limit of {limit}. Shorten it or raise the limit."),
        ));
    }
    Ok(chars)
}

pub async fn history(state: &AppState, person_id: i64) -> Result<Vec<Version>, AppError> {
    Ok(db::persons::versions(&state.db, person_id)
        .await?
        .into_iter()
        .map(|v| Version {
            id: v.id,
            at: v.at,
            source: v.source,
            actor: v.actor,
            value: v.value,
        })
        .collect())
}

pub async fn restore(
    ctx: &Ctx,
    person_id: i64,
    version_id: i64,
    base: String,
) -> Result<SaveOutcome, AppError> {
    let value = db::persons::version(&ctx.state.db, person_id, version_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That version no longer exists.".into()))?;
    save(
        ctx,
        PersonaSave {
            person_id,
            base,
            value,
            limit: String::new(),
            description: None,
        },
        "restore",
    )
    .await
}

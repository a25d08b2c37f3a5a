use super::api::*;
use crate::{
    auth::guard::Ctx,
    blocks::{edit::Edit, history, persona, save::Saved},
    db,
    error::AppError,
    state::AppState,
};

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

fn state_of(p: db::persons::PersonRow, block_id: String, b: persona::Block) -> PersonaState {
    PersonaState {
        person_id: p.id,
        username: p.username,
        block_id,
        value: b.value,
        limit: b.limit,
        description: b.description,
        read_only: b.read_only,
    }
}

/// Reads the block (by the id we stored), remembering a value we have not seen before.
pub async fn load(state: &AppState, person_id: i64) -> Result<PersonaState, AppError> {
    let (p, block_id) = person_block(state, person_id).await?;
    let client = state.letta.client()?;
    let block = persona::read(&state.db, &client, p.id, &block_id, p.block_limit).await?;
    Ok(state_of(p, block_id, block))
}

pub async fn save(ctx: &Ctx, s: PersonaSave, source: &str) -> Result<SaveOutcome, AppError> {
    let state = &ctx.state;
    let (p, block_id) = person_block(state, s.person_id).await?;
    let client = state.letta.client()?;
    let saved = persona::save(
        &state.db,
        &client,
        &state.blocks.locks,
        p.id,
        &block_id,
        p.block_limit,
        Edit {
            base: &s.base,
            value: &s.value,
            limit: &s.limit,
            description: s.description.as_deref(),
        },
        source,
        &ctx.user.username,
    )
    .await?;
    if let Some((action, outcome, detail)) = saved.audit(persona::AUDIT_PREFIX, source) {
        ctx.audit(&action, Some(&p.username), outcome, Some(&detail))
            .await;
    }
    Ok(match saved {
        Saved::Conflict { now } => SaveOutcome::Conflict {
            server: state_of(p, block_id, now),
        },
        Saved::Written { block, .. } => SaveOutcome::Saved(state_of(p, block_id, block)),
        Saved::Refused(e) => return Err(e),
    })
}

pub async fn history(state: &AppState, person_id: i64) -> Result<Vec<Version>, AppError> {
    Ok(history::list(&state.db, history::Of::Person(person_id))
        .await?
        .into_iter()
        .map(Version::from)
        .collect())
}

pub async fn restore(
    ctx: &Ctx,
    person_id: i64,
    version_id: i64,
    base: String,
) -> Result<SaveOutcome, AppError> {
    let value = history::get(&ctx.state.db, history::Of::Person(person_id), version_id)
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

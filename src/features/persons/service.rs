//! The persons domain, in plain async Rust over `AppState` (server functions are thin wrappers).

use super::{
    api::*,
    saga::{Saga, Step},
};
use crate::{
    auth::guard::Ctx,
    blocks::history,
    db::{
        self,
        audit::Outcome,
        persons::{Cursor, NewPerson, PersonListRow, PersonRow, PersonSort},
    },
    error::AppError,
    letta::{
        CreateBlock, Identity, IdentityCreate, IdentityType, IdentityUpdate, LettaClient,
        LettaError,
    },
    state::AppState,
};

pub const PAGE_SIZE: i64 = 50;

fn summary(p: &PersonListRow) -> PersonSummary {
    PersonSummary {
        id: p.id,
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        health: p.health.clone(),
        created_at: p.created_at,
    }
}

fn detail_of(p: PersonRow) -> PersonDetail {
    PersonDetail {
        block_label: block_label(&p.username),
        id: p.id,
        username: p.username,
        display_name: p.display_name,
        notes: p.notes,
        identity_id: p.identity_id,
        block_id: p.block_id,
        block_limit: p.block_limit,
        health: p.health,
        health_detail: p.health_detail,
        checked_at: p.checked_at,
        created_at: p.created_at,
    }
}

async fn person(state: &AppState, id: i64) -> Result<PersonRow, AppError> {
    db::persons::by_id(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("That person no longer exists.".into()))
}

pub async fn list(state: &AppState, q: PersonQuery) -> Result<PersonsPage, AppError> {
    let sort = match q.sort.as_str() {
        "display_name" => PersonSort::DisplayName,
        "newest" => PersonSort::Newest,
        _ => PersonSort::Username,
    };
    let after = match (q.after_key, q.after_id) {
        (Some(key), Some(id)) => Some(Cursor { key, id }),
        _ => None,
    };
    let mut rows = db::persons::page(
        &state.db,
        &q.search,
        sort,
        after.as_ref(),
        q.problems,
        PAGE_SIZE + 1,
    )
    .await?;
    let next = (rows.len() as i64 > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE as usize);
        let last = rows.last().expect("a full page");
        let key = match sort {
            PersonSort::Username => last.username.clone(),
            PersonSort::DisplayName => last.display_name.to_lowercase(),
            PersonSort::Newest => last.created_at.to_string(),
        };
        (key, last.id)
    });
    Ok(PersonsPage {
        persons: rows.iter().map(summary).collect(),
        total: if q.problems {
            db::persons::problem_count(&state.db).await?
        } else {
            person_count(state).await?
        },
        next,
    })
}

pub async fn detail(state: &AppState, id: i64) -> Result<PersonDetail, AppError> {
    Ok(detail_of(person(state, id).await?))
}

fn parse_limit(raw: &str, default: i64) -> Result<i64, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    match raw.parse::<i64>() {
        Ok(n) if (100..=1_000_000).contains(&n) => Ok(n),
        _ => Err(AppError::invalid(
            "limit",
            "The character limit must be a whole number from 100 to 1,000,000.",
        )),
    }
}

/// The message for a failed step: which step, why (already summarised, no Letta body), and
/// whether everything was undone.
fn step_failed(step: &str, e: AppError, clean: bool) -> AppError {
    let tail = if clean {
        "Nothing was left behind."
    } else {
        "Part of it could not be undone yet; the dashboard retries that at its next start."
    };
    AppError::Upstream(format!(
        "Could not create the person: {step} failed ({e}). {tail}"
    ))
}

/// Creates the identity, the block, the link and the local record: all or nothing.
pub async fn create(ctx: &Ctx, form: NewPersonForm) -> Result<CreateOutcome, AppError> {
    let username = form.username.trim().to_lowercase();
    validate_username(&username)?;
    let display_name = form.display_name.trim().to_string();
    validate_display_name(&display_name)?;
    let limit = parse_limit(&form.limit, ctx.state.config.persona_limit)?;
    let db = &ctx.state.db;
    if db::persons::by_username(db, &username).await?.is_some() {
        return Err(AppError::invalid(
            "username",
            format!("A person named {username} already exists."),
        ));
    }
    let client = ctx.state.letta.client()?;
    if let Some(existing) = client.identities().find_by_key(&username).await? {
        return Ok(CreateOutcome::Adoptable {
            identity_id: existing.id,
            name: existing.name,
            identity_type: format!("{:?}", existing.identity_type).to_lowercase(),
        });
    }
    let value = initial_persona(&display_name);
    let mut saga = Saga::begin(db, &client, "person.create");
    let result = create_steps(&client, &mut saga, &username, &display_name, &value, limit).await;
    let (identity, block_id) = match result {
        Ok(ids) => ids,
        Err((step, e)) => {
            let clean = saga.undo().await;
            ctx.audit(
                "person.create",
                Some(&username),
                Outcome::Failed,
                Some(step),
            )
            .await;
            return Err(step_failed(step, e, clean));
        }
    };
    let new = NewPerson {
        username: &username,
        display_name: &display_name,
        notes: form.notes.trim(),
        identity_id: &identity.id,
        block_id: &block_id,
        block_limit: limit,
        initial_value: &value,
        version_source: "create",
        actor: Some(&ctx.user.username),
    };
    let row = match db::persons::insert(db, &new).await {
        Ok(row) => row,
        Err(e) => {
            tracing::error!(error = %e, "persons: local insert failed; undoing the Letta steps");
            let clean = saga.undo().await;
            ctx.audit(
                "person.create",
                Some(&username),
                Outcome::Failed,
                Some("saving the person"),
            )
            .await;
            return Err(step_failed("saving the person", AppError::Internal, clean));
        }
    };
    saga.complete().await?;
    ctx.audit(
        "person.create",
        Some(&username),
        Outcome::Ok,
        Some(&format!("identity {}, block {block_id}", identity.id)),
    )
    .await;
    Ok(CreateOutcome::Created(summary(&row.into())))
}

async fn create_steps(
    client: &LettaClient,
    saga: &mut Saga<'_>,
    username: &str,
    display_name: &str,
    value: &str,
    limit: i64,
) -> Result<(Identity, String), (&'static str, AppError)> {
    let journal = |e: sqlx::Error| ("journaling", AppError::from(e));
    let identity = client
        .identities()
        .create(&IdentityCreate {
            identifier_key: username.to_string(),
            name: display_name.to_string(),
            identity_type: IdentityType::User,
            properties: None,
        })
        .await
        .map_err(|e| ("creating the identity", AppError::from(e)))?;
    saga.did(Step::IdentityCreated {
        identity_id: identity.id.clone(),
    })
    .await
    .map_err(journal)?;
    let block_id = create_block(client, saga, username, value, limit).await?;
    link(client, saga, &block_id, &identity.id).await?;
    Ok((identity, block_id))
}

async fn create_block(
    client: &LettaClient,
    saga: &mut Saga<'_>,
    username: &str,
    value: &str,
    limit: i64,
) -> Result<String, (&'static str, AppError)> {
    let block = client
        .blocks()
        .create(&CreateBlock {
            label: block_label(username),
            value: value.to_string(),
            limit: Some(limit as u64),
            description: Some(format!("Persona of {username}, managed by letta-admin.")),
            read_only: None,
            metadata: None,
        })
        .await
        .map_err(|e| ("creating the persona block", AppError::from(e)))?;
    saga.did(Step::BlockCreated {
        block_id: block.id.clone(),
    })
    .await
    .map_err(|e| ("journaling", AppError::from(e)))?;
    Ok(block.id)
}

async fn link(
    client: &LettaClient,
    saga: &mut Saga<'_>,
    block_id: &str,
    identity_id: &str,
) -> Result<(), (&'static str, AppError)> {
    client
        .blocks()
        .attach_identity(block_id, identity_id)
        .await
        .map_err(|e| ("linking the block to the identity", AppError::from(e)))?;
    saga.did(Step::BlockLinked {
        block_id: block_id.to_string(),
        identity_id: identity_id.to_string(),
    })
    .await
    .map_err(|e| ("journaling", AppError::from(e)))?;
    Ok(())
}

/// Makes a person from an identity that already exists in Letta (and its linked `Persona_`
/// block, if it has one), creating only what is missing.
pub async fn adopt(ctx: &Ctx, username: &str, notes: &str) -> Result<PersonSummary, AppError> {
    let username = username.trim().to_lowercase();
    validate_username(&username)?;
    let db = &ctx.state.db;
    if db::persons::by_username(db, &username).await?.is_some() {
        return Err(AppError::invalid(
            "username",
            format!("A person named {username} already exists."),
        ));
    }
    let client = ctx.state.letta.client()?;
    let identity = client
        .identities()
        .find_by_key(&username)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Letta has no identity with key {username}.")))?;
    if identity.identity_type != IdentityType::User {
        return Err(AppError::Conflict(format!(
            "The identity {username} has type {:?}; a person needs a user identity.",
            identity.identity_type
        )));
    }
    if let Some(p) = db::persons::by_identity(db, &identity.id).await? {
        return Err(AppError::Conflict(format!(
            "That identity already belongs to the person {}.",
            p.username
        )));
    }
    let label = block_label(&username);
    let existing_block = client
        .identities()
        .blocks(&identity.id)
        .await?
        .into_iter()
        .find(|b| b.label.as_deref() == Some(label.as_str()));
    let mut saga = Saga::begin(db, &client, "person.adopt");
    let limit = ctx.state.config.persona_limit;
    let (block_id, value, block_limit) = match existing_block {
        Some(b) => {
            let limit = b.limit.map(|l| l as i64).unwrap_or(limit);
            (b.id, b.value, limit)
        }
        None => {
            let value = initial_persona(&identity.name);
            let made = async {
                let id = create_block(&client, &mut saga, &username, &value, limit).await?;
                link(&client, &mut saga, &id, &identity.id).await?;
                Ok::<_, (&str, AppError)>(id)
            }
            .await;
            match made {
                Ok(id) => (id, value, limit),
                Err((step, e)) => {
                    let clean = saga.undo().await;
                    return Err(step_failed(step, e, clean));
                }
            }
        }
    };
    let new = NewPerson {
        username: &username,
        display_name: &identity.name,
        notes: notes.trim(),
        identity_id: &identity.id,
        block_id: &block_id,
        block_limit,
        initial_value: &value,
        version_source: "adopt",
        actor: Some(&ctx.user.username),
    };
    let row = match db::persons::insert(db, &new).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "persons: adopt insert failed");
            let clean = saga.undo().await;
            return Err(step_failed("saving the person", AppError::Internal, clean));
        }
    };
    saga.complete().await?;
    ctx.audit(
        "person.adopt",
        Some(&username),
        Outcome::Ok,
        Some(&identity.id),
    )
    .await;
    Ok(summary(&row.into()))
}

pub async fn update(
    ctx: &Ctx,
    id: i64,
    display_name: String,
    notes: String,
) -> Result<PersonDetail, AppError> {
    let p = person(&ctx.state, id).await?;
    let display_name = display_name.trim().to_string();
    validate_display_name(&display_name)?;
    if notes.chars().count() > 5000 {
        return Err(AppError::invalid(
            "notes",
            "Notes can be at most 5,000 characters.",
        ));
    }
    if display_name != p.display_name {
        if let Some(identity_id) = &p.identity_id {
            // The identity's name follows the display name.
            let client = ctx.state.letta.client()?;
            client
                .identities()
                .update(
                    identity_id,
                    &IdentityUpdate {
                        name: Some(display_name.clone()),
                        ..Default::default()
                    },
                )
                .await?;
        }
    }
    db::persons::update_details(&ctx.state.db, id, &display_name, notes.trim()).await?;
    ctx.audit("person.update", Some(&p.username), Outcome::Ok, None)
        .await;
    detail(&ctx.state, id).await
}

pub async fn delete(ctx: &Ctx, id: i64, keep_in_letta: bool) -> Result<(), AppError> {
    let p = person(&ctx.state, id).await?;
    if ctx
        .state
        .blocks
        .turns
        .person_in_turn(&ctx.state.db, id)
        .await?
    {
        return Err(AppError::Conflict(format!(
            "{} is in a chat turn right now (their persona block is attached to an agent). Try again when it ends.",
            p.username
        )));
    }
    if !keep_in_letta {
        let client = ctx.state.letta.client()?;
        let gone = |r: Result<(), LettaError>| match r {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        };
        if let Some(block_id) = &p.block_id {
            gone(client.blocks().delete(block_id).await)?;
        }
        if let Some(identity_id) = &p.identity_id {
            gone(client.identities().delete(identity_id).await)?;
        }
    }
    db::persons::delete(&ctx.state.db, id).await?;
    let detail = if keep_in_letta {
        "kept in Letta"
    } else {
        "removed from Letta"
    };
    ctx.audit(
        "person.delete",
        Some(&p.username),
        Outcome::Ok,
        Some(detail),
    )
    .await;
    Ok(())
}

/// Checks one person against Letta and stores the result. A block value the dashboard has not
/// seen before is kept in the history as "observed".
pub async fn verify_one(state: &AppState, id: i64) -> Result<String, AppError> {
    let p = person(state, id).await?;
    let client = state.letta.client()?;
    let (health, detail) = check(state, &client, &p).await;
    db::persons::set_health(&state.db, id, health, detail.as_deref()).await?;
    Ok(health.to_string())
}

async fn check(
    state: &AppState,
    client: &LettaClient,
    p: &PersonRow,
) -> (&'static str, Option<String>) {
    let unreachable = |e: LettaError| ("unreachable", Some(format!("Could not check: {e}")));
    let Some(identity_id) = &p.identity_id else {
        return (
            "identity_missing",
            Some("No identity is recorded for this person.".into()),
        );
    };
    if let Err(e) = client.identities().get(identity_id).await {
        return if e.is_not_found() {
            (
                "identity_missing",
                Some(format!(
                    "The identity {identity_id} no longer exists in Letta."
                )),
            )
        } else {
            unreachable(e)
        };
    }
    let Some(block_id) = &p.block_id else {
        return (
            "block_missing",
            Some("No block is recorded for this person.".into()),
        );
    };
    let block = match client.blocks().get(block_id).await {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return (
                "block_missing",
                Some(format!("The block {block_id} no longer exists in Letta.")),
            )
        }
        Err(e) => return unreachable(e),
    };
    // A value the history has not seen yet (the agent wrote it) is kept as observed; a check
    // does not fail for the history's sake, but a failed write is logged.
    let person = history::Of::Person(p.id);
    if let Ok(Some(last)) = history::last_known(&state.db, person).await {
        if last != block.value {
            if let Err(e) = history::add(&state.db, person, &block.value, "observed", None).await {
                tracing::warn!(error = %e, person = p.id, "persona history write");
            }
        }
    }
    let label = block_label(&p.username);
    if block.label.as_deref() != Some(label.as_str()) {
        return (
            "label_changed",
            Some(format!(
                "The block is labelled {:?}, not {label}.",
                block.label.unwrap_or_default()
            )),
        );
    }
    match client.identities().blocks(identity_id).await {
        Ok(blocks) if blocks.iter().any(|b| &b.id == block_id) => ("ok", None),
        Ok(_) => (
            "unlinked",
            Some("The block is no longer linked to the identity.".into()),
        ),
        Err(e) => unreachable(e),
    }
}

/// The persons table as one request to the persons list sees it: its generation, how many
/// persons there are and the "Verify all" pass, from one statement
/// (`db::persons::list_state`). The list page's handler reads it before the render, puts it
/// in the render's context (the list's total and the verify card are drawn from it, not read
/// again) and reads it again after the render: the page cache keeps the page only if the
/// fingerprint did not change meanwhile (see `crate::page_cache`).
#[derive(Debug, Clone)]
pub struct ListSnapshot {
    /// `None` when the database could not be read: a fingerprint no stored page has, and the
    /// render reads for itself (and says what failed).
    read: Option<ListRead>,
}

#[derive(Debug, Clone)]
struct ListRead {
    generation: i64,
    persons: i64,
    verify: VerifyProgress,
}

impl ListSnapshot {
    pub async fn read(state: &AppState) -> ListSnapshot {
        let read = db::persons::list_state(
            &state.db,
            state.instance.now_ms(),
            state.instance.expiry_ms(),
        )
        .await;
        ListSnapshot {
            read: match read {
                Ok(row) => Some(ListRead {
                    generation: row.generation,
                    persons: row.persons,
                    verify: progress_of(row.verify),
                }),
                Err(e) => {
                    tracing::error!(error = %e, "reading the persons list state");
                    None
                }
            },
        }
    }

    /// Everything the persons list shows beyond its page-cache key, for `user`: the persons
    /// table (its generation), the Letta connection badge and, for operators, the verify
    /// pass.
    pub async fn fingerprint(&self, state: &AppState, user: &crate::auth::CurrentUser) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        match &self.read {
            Some(read) => {
                read.generation.hash(&mut h);
                if user.role >= crate::auth::Role::Operator {
                    read.verify.hash(&mut h);
                }
            }
            // Unreadable: a value no stored page has, so nothing stale is served.
            None => db::now_ms().hash(&mut h),
        }
        // The header badge reads the same cached answer (see
        // `components::connection_badge::badge`).
        state
            .letta
            .health(std::time::Duration::from_secs(30))
            .await
            .hash(&mut h);
        h.finish()
    }

    /// The snapshot the current render was given, if it was (the persons list's handler).
    fn of_render() -> Option<ListRead> {
        leptos::prelude::use_context::<ListSnapshot>().and_then(|s| s.read)
    }
}

/// The number of persons: from the render's snapshot when there is one.
async fn person_count(state: &AppState) -> Result<i64, AppError> {
    match ListSnapshot::of_render() {
        Some(read) => Ok(read.persons),
        None => Ok(db::persons::count(&state.db).await?),
    }
}

fn progress_of(row: db::persons::VerifyRow) -> VerifyProgress {
    VerifyProgress {
        running: row.running,
        total: row.total.max(0) as usize,
        done: row.done.max(0) as usize,
        problems: serde_json::from_str(&row.problems).unwrap_or_default(),
        started_at: row.started_at,
        finished_at: row.finished_at,
    }
}

/// The "verify all" pass as every instance sees it: from the database (or from the render's
/// snapshot, read from it just before). A pass whose instance died shows as not running (and
/// another may start).
pub async fn verify_progress(state: &AppState) -> Result<VerifyProgress, AppError> {
    if let Some(read) = ListSnapshot::of_render() {
        return Ok(read.verify);
    }
    let row = db::persons::verify_state(
        &state.db,
        state.instance.now_ms(),
        state.instance.expiry_ms(),
    )
    .await?;
    Ok(progress_of(row))
}

pub async fn start_verify_all(ctx: &Ctx) -> Result<VerifyProgress, AppError> {
    let state = ctx.state.clone();
    if verify_progress(&state).await?.running {
        return verify_progress(&state).await;
    }
    let client = state.letta.client()?;
    let ids = db::persons::all_ids(&state.db).await?;
    let me = state.instance.id();
    // One pass across all instances: the claim is atomic in the database.
    if !db::persons::verify_claim(
        &state.db,
        &me,
        ids.len() as i64,
        state.instance.now_ms(),
        state.instance.expiry_ms(),
    )
    .await?
    {
        return verify_progress(&state).await;
    }
    ctx.audit(
        "person.verify_all",
        None,
        Outcome::Ok,
        Some(&format!("{} persons", ids.len())),
    )
    .await;
    let runner = state.clone();
    tokio::spawn(async move {
        let record = |done: usize, problems: &Vec<(String, String, String)>, finished| {
            let (db, me) = (runner.db.clone(), me.clone());
            let json = serde_json::to_string(problems).unwrap_or_else(|_| "[]".into());
            async move {
                if let Err(e) =
                    db::persons::verify_record(&db, &me, done as i64, &json, finished).await
                {
                    tracing::error!(error = %e, "recording the verify-all progress");
                }
            }
        };
        let (mut done, mut problems) = (0usize, Vec::new());
        for id in ids {
            if let Ok(Some(p)) = db::persons::by_id(&runner.db, id).await {
                let (health, detail) = check(&runner, &client, &p).await;
                let _ = db::persons::set_health(&runner.db, id, health, detail.as_deref()).await;
                if health != "ok" {
                    problems.push((
                        p.username.clone(),
                        health.to_string(),
                        detail.unwrap_or_default(),
                    ));
                }
            }
            done += 1;
            record(done, &problems, None).await;
        }
        record(done, &problems, Some(db::now_ms())).await;
    });
    verify_progress(&state).await
}

pub async fn repair(ctx: &Ctx, id: i64, action: RepairAction) -> Result<PersonDetail, AppError> {
    let p = person(&ctx.state, id).await?;
    let client = ctx.state.letta.client()?;
    let db = &ctx.state.db;
    match action {
        RepairAction::Relink => {
            let (Some(block_id), Some(identity_id)) = (&p.block_id, &p.identity_id) else {
                return Err(AppError::Conflict(
                    "Both the block and the identity must exist to relink them.".into(),
                ));
            };
            client
                .blocks()
                .attach_identity(block_id, identity_id)
                .await?;
            let label = block_label(&p.username);
            let block = client.blocks().get(block_id).await?;
            if block.label.as_deref() != Some(label.as_str()) {
                client
                    .blocks()
                    .update(
                        block_id,
                        &crate::letta::BlockUpdate {
                            label: Some(label),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
        }
        RepairAction::RecreateBlock => {
            let value = history::last_known(db, history::Of::Person(p.id))
                .await?
                .unwrap_or_else(|| initial_persona(&p.display_name));
            let mut saga = Saga::begin(db, &client, "person.repair");
            let made = async {
                let block_id =
                    create_block(&client, &mut saga, &p.username, &value, p.block_limit).await?;
                if let Some(identity_id) = &p.identity_id {
                    link(&client, &mut saga, &block_id, identity_id).await?;
                }
                Ok::<_, (&str, AppError)>(block_id)
            }
            .await;
            let block_id = match made {
                Ok(id) => id,
                Err((step, e)) => {
                    saga.undo().await;
                    return Err(AppError::Upstream(format!(
                        "Repair failed: {step} failed ({e})."
                    )));
                }
            };
            db::persons::set_block(db, p.id, Some(&block_id)).await?;
            history::add(
                db,
                history::Of::Person(p.id),
                &value,
                "restore",
                Some(&ctx.user.username),
            )
            .await?;
            saga.complete().await?;
        }
        RepairAction::RecreateIdentity => {
            let identity = match client.identities().find_by_key(&p.username).await? {
                Some(existing) => existing,
                None => {
                    client
                        .identities()
                        .create(&IdentityCreate {
                            identifier_key: p.username.clone(),
                            name: p.display_name.clone(),
                            identity_type: IdentityType::User,
                            properties: None,
                        })
                        .await?
                }
            };
            if let Some(block_id) = &p.block_id {
                client
                    .blocks()
                    .attach_identity(block_id, &identity.id)
                    .await?;
            }
            db::persons::set_identity(db, p.id, Some(&identity.id)).await?;
        }
    }
    ctx.audit(
        "person.repair",
        Some(&p.username),
        Outcome::Ok,
        Some(&format!("{action:?}")),
    )
    .await;
    verify_one(&ctx.state, id).await?;
    detail(&ctx.state, id).await
}

/// `GET /api/staff/persons/export.csv`: the persons list as a CSV download.
pub async fn export_csv(
    axum::extract::State(state): axum::extract::State<AppState>,
    session: tower_sessions::Session,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let user = crate::auth::guard::session_user(&state, &session).await; // staff and above
    let allowed = matches!(&user, Ok(Some(u)) if u.role >= crate::auth::Role::Staff);
    if !allowed {
        return (axum::http::StatusCode::UNAUTHORIZED, "Please sign in.").into_response();
    }
    match export(&state).await {
        Ok(csv) => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"persons.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

pub async fn export(state: &AppState) -> Result<String, AppError> {
    let mut out = super::csv::line(&[
        "username",
        "display_name",
        "notes",
        "identity_id",
        "block_id",
        "health",
    ]);
    for p in db::persons::all(&state.db).await? {
        out.push_str(&super::csv::line(&[
            &p.username,
            &p.display_name,
            &p.notes,
            p.identity_id.as_deref().unwrap_or(""),
            p.block_id.as_deref().unwrap_or(""),
            &p.health,
        ]));
    }
    Ok(out)
}

/// Imports `username,display_name[,notes]` rows through the same all-or-nothing path as the
/// form; idempotent by username (an existing person is skipped, an existing identity adopted).
pub async fn import(ctx: &Ctx, text: &str) -> Result<Vec<ImportRow>, AppError> {
    let records = super::csv::parse(text).map_err(|m| AppError::invalid("csv", m))?;
    if records.len() > 1001 {
        return Err(AppError::invalid(
            "csv",
            "Import at most 1,000 rows at a time.",
        ));
    }
    let mut report = vec![];
    for (i, rec) in records.iter().enumerate() {
        let line = i + 1;
        let field = |n: usize| rec.get(n).map(|s| s.trim().to_string()).unwrap_or_default();
        let username = field(0).to_lowercase();
        if i == 0 && username == "username" {
            continue; // header
        }
        let row = |outcome: &str, message: String| ImportRow {
            line,
            username: username.clone(),
            outcome: outcome.into(),
            message,
        };
        if db::persons::by_username(&ctx.state.db, &username)
            .await?
            .is_some()
        {
            report.push(row("skipped", "Already a person.".into()));
            continue;
        }
        let form = NewPersonForm {
            username: username.clone(),
            display_name: field(1),
            notes: field(2),
            limit: String::new(),
        };
        match create(ctx, form).await {
            Ok(CreateOutcome::Created(_)) => report.push(row("created", "Created.".into())),
            Ok(CreateOutcome::Adoptable { .. }) => match adopt(ctx, &username, &field(2)).await {
                Ok(_) => report.push(row(
                    "adopted",
                    "Adopted the existing Letta identity.".into(),
                )),
                Err(e) => report.push(row("failed", e.to_string())),
            },
            Err(e) => report.push(row("failed", e.to_string())),
        }
    }
    ctx.audit(
        "person.import",
        None,
        Outcome::Ok,
        Some(&format!("{} rows", report.len())),
    )
    .await;
    Ok(report)
}

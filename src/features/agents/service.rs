//! (Server only.) What the agents server functions do. Plain async functions over the request
//! context, so tests can reach them without a Leptos runtime.

use std::collections::HashMap;

use super::api::*;
use crate::{
    auth::guard::Ctx,
    blocks::{
        edit::{self, Edit},
        history, persona,
        save::{Current, Saved},
    },
    components::{format::datetime_utc, time::local_day_start},
    db::{self, audit::Outcome},
    error::AppError,
    letta::ids::{well_formed, AgentId},
    letta::paging::{Cursors, Window},
    letta::{
        AgentCountFilter, AgentFilter, AgentState, ArchivalMemorySearch, Block,
        ContextWindowOverview, CreateAgentRequest, CreateBlock, IdentityFilter, LettaClient,
        LettaError, LettaMessage, MessageFilter, Passage, PassageFilter, TagMatchMode,
    },
    state::AppState,
};

/// Letta's default limit for a block created without one.
const LETTA_DEFAULT_LIMIT: i64 = 100_000;

/// Whether a chat turn is using this block on this agent right now (a persona block is
/// attached for the length of a turn, then detached). While one is, the agent page must not
/// detach it.
pub async fn chat_turn_holds(state: &AppState, agent_id: &str, block_id: &str) -> bool {
    state
        .blocks
        .turns
        .in_use(&state.db, &state.instance, agent_id, block_id)
        .await
}

// ---- ids and errors ------------------------------------------------------------------------

fn no_such_agent() -> AppError {
    AppError::NotFound("That agent does not exist (any more) on the Letta server.".into())
}

fn agent_id(id: &str) -> Result<&str, AppError> {
    let id = id.trim();
    match AgentId::parse(id) {
        Some(_) => Ok(id),
        None => Err(no_such_agent()),
    }
}

/// A 404 on an agent route means the agent is gone; the rest is the usual mapping (which logs
/// the body and never passes it on).
fn agent_error(e: LettaError) -> AppError {
    if e.is_not_found() {
        tracing::info!(error = %e, "agent not found on Letta");
        no_such_agent()
    } else {
        e.into()
    }
}

async fn failed(ctx: &Ctx, action: &str, target: &str, e: AppError) -> AppError {
    ctx.audit(action, Some(target), Outcome::Failed, Some(&e.to_string()))
        .await;
    e
}

fn validated(problems: Problems) -> Result<(), AppError> {
    match problems.into_iter().next() {
        Some((f, m)) => Err(AppError::invalid(&f, m)),
        None => Ok(()),
    }
}

fn blank(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn fetch(client: &LettaClient, id: &str) -> Result<AgentState, AppError> {
    client
        .agents()
        .get(agent_id(id)?)
        .await
        .map_err(agent_error)
}

// ---- list ----------------------------------------------------------------------------------

fn row(a: AgentState) -> AgentRow {
    AgentRow {
        model: a.model_handle().map(str::to_owned),
        block_count: a.blocks.len(),
        id: a.id,
        name: a.name,
        tags: a.tags,
        last_run: a.last_run_completion,
        created_at: a.created_at,
    }
}

/// One page, newest first. As with identities, the newer page is read oldest-first after the
/// cursor, then turned round (`before` is a filter on this server, not a window).
pub async fn list(ctx: &Ctx, query: AgentListQuery) -> Result<AgentPage, AppError> {
    let client = ctx.state.letta.client()?;
    list_with(&client, query).await
}

pub async fn list_with(client: &LettaClient, query: AgentListQuery) -> Result<AgentPage, AppError> {
    let size = page_size(query.size);
    let base = AgentFilter {
        query_text: blank(&query.search),
        tags: blank(&query.tag).into_iter().collect(),
        identifier_keys: blank(&query.identity).into_iter().collect(),
        ..AgentFilter::default()
    };
    let cursor = |c: &Option<String>| c.as_deref().and_then(blank);
    let (after, before) = (cursor(&query.after), cursor(&query.before));
    for c in after.iter().chain(before.iter()) {
        agent_id(c)?;
    }
    let cursors = Cursors { after, before };
    let (after, order, limit) = cursors.request(size);
    let filter = AgentFilter {
        after,
        order: Some(order),
        limit: Some(limit),
        ..base.clone()
    };
    let found = match client.agents().list(&filter).await {
        Ok(f) => f,
        Err(e) if cursors.paging() && e.is_not_found() => {
            tracing::info!(error = %e, "stale agent cursor");
            return Err(AppError::NotFound(
                "The agent this page started from was deleted: start again from the first page."
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let Window {
        items: found,
        newer,
        older,
    } = cursors.window(found, size, |a| &a.id);
    let matching = client
        .agents()
        .count(&AgentCountFilter::from(&base))
        .await?;
    Ok(AgentPage {
        rows: found.into_iter().map(row).collect(),
        matching,
        newer,
        older,
    })
}

// ---- one agent -----------------------------------------------------------------------------

async fn person_ref_by_identity(
    state: &AppState,
    identity_id: &str,
) -> Result<Option<PersonRef>, AppError> {
    Ok(db::persons::by_identity(&state.db, identity_id)
        .await?
        .map(|p| PersonRef {
            id: p.id,
            username: p.username,
        }))
}

async fn core_block(state: &AppState, b: Block) -> Result<CoreBlock, AppError> {
    let persona_of = db::persons::by_block(&state.db, &b.id)
        .await?
        .map(|p| PersonRef {
            id: p.id,
            username: p.username,
        });
    Ok(CoreBlock {
        limit: b.limit.map(|l| l as i64).unwrap_or(LETTA_DEFAULT_LIMIT),
        label: b.label.unwrap_or_default(),
        description: b.description.unwrap_or_default(),
        read_only: b.read_only,
        value: b.value,
        id: b.id,
        persona_of,
    })
}

/// Who sent the agent messages: the `sender_id` of the user messages among the newest
/// [`CHATTER_SCAN`] (most recent first), each mapped to a dashboard person where the id is a
/// person's identity.
async fn chatters(
    state: &AppState,
    client: &LettaClient,
    id: &str,
) -> Result<Vec<Chatter>, AppError> {
    let history = client
        .messages()
        .list(
            id,
            &MessageFilter {
                limit: Some(CHATTER_SCAN),
                ..MessageFilter::default()
            },
        )
        .await
        .map_err(agent_error)?;
    let mut seen: HashMap<String, (u32, Option<String>)> = HashMap::new();
    for m in history {
        if let LettaMessage::UserMessage(m) = m {
            if let Some(sender) = m.sender_id.filter(|s| !s.is_empty()) {
                let e = seen.entry(sender).or_insert((0, None));
                e.0 += 1;
                if m.date.is_some() && m.date > e.1 {
                    e.1 = m.date;
                }
            }
        }
    }
    let mut out = vec![];
    for (sender_id, (messages, last_at)) in seen {
        out.push(Chatter {
            person: person_ref_by_identity(state, &sender_id).await?,
            sender_id,
            messages,
            last_at,
        });
    }
    out.sort_by(|a, b| {
        b.last_at
            .cmp(&a.last_at)
            .then(a.sender_id.cmp(&b.sender_id))
    });
    Ok(out)
}

pub async fn detail(ctx: &Ctx, id: &str) -> Result<AgentDetail, AppError> {
    let state = &ctx.state;
    let client = state.letta.client()?;
    let agent = fetch(&client, id).await?;
    let agents = client.agents();
    let (chatters, context) = futures::join!(
        chatters(state, &client, &agent.id),
        agents.context(&agent.id)
    );
    let chatters = chatters?;
    // The counts only word the delete confirmation; the page works without them.
    let context = context
        .map_err(|e| tracing::warn!(error = %e, "context overview failed"))
        .ok();
    let mut identities = vec![];
    for iid in &agent.identity_ids {
        match client.identities().get(iid).await {
            Ok(i) => identities.push(LinkedIdentity {
                person: person_ref_by_identity(state, &i.id).await?,
                id: i.id,
                identifier_key: i.identifier_key,
                name: i.name,
            }),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut blocks = vec![];
    for b in agent.blocks.clone() {
        blocks.push(core_block(state, b).await?);
    }
    blocks.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(AgentDetail {
        model: agent.model_handle().map(str::to_owned),
        embedding: agent.embedding_handle().map(str::to_owned),
        description: agent.description.unwrap_or_default(),
        message_count: context.as_ref().map(|c| c.num_recall_memory),
        passage_count: context.as_ref().map(|c| c.num_archival_memory),
        id: agent.id,
        name: agent.name,
        tags: agent.tags,
        system: agent.system,
        created_at: agent.created_at,
        last_run: agent.last_run_completion,
        identities,
        chatters,
        blocks,
    })
}

pub fn context_view(c: ContextWindowOverview) -> ContextView {
    let part = |key: &str, label: &str, tokens: u64| ContextPart {
        key: key.into(),
        label: label.into(),
        tokens,
    };
    let other =
        c.num_tokens_memory_filesystem + c.num_tokens_tool_usage_rules + c.num_tokens_directories;
    let mut parts = vec![
        part("system", "System prompt", c.num_tokens_system),
        part("core", "Core memory", c.num_tokens_core_memory),
        part(
            "summary",
            "Summary and external memory",
            c.num_tokens_summary_memory + c.num_tokens_external_memory_summary,
        ),
        part("messages", "Messages", c.num_tokens_messages),
        part(
            "tools",
            "Tool definitions",
            c.num_tokens_functions_definitions,
        ),
    ];
    if other > 0 {
        parts.push(part("other", "Files, directories and tool rules", other));
    }
    ContextView {
        max: c.context_window_size_max,
        current: c.context_window_size_current,
        parts,
        num_messages: c.num_messages,
        num_archival: c.num_archival_memory,
        num_recall: c.num_recall_memory,
        system_prompt: c.system_prompt,
        core_memory: c.core_memory,
        external_summary: c.external_memory_summary,
        summary_memory: c.summary_memory.unwrap_or_default(),
    }
}

pub async fn context(ctx: &Ctx, id: &str) -> Result<ContextView, AppError> {
    let client = ctx.state.letta.client()?;
    let c = client
        .agents()
        .context(agent_id(id)?)
        .await
        .map_err(agent_error)?;
    Ok(context_view(c))
}

pub async fn models(ctx: &Ctx) -> Result<ModelChoices, AppError> {
    let client = ctx.state.letta.client()?;
    let m = client.models();
    let (llm, embedding) = futures::try_join!(m.list(), m.embedding())?;
    let choice = |handle: Option<String>, name: String, display: Option<String>| {
        let handle = handle?;
        let label = match display.filter(|d| *d != handle) {
            Some(d) => format!("{d} ({handle})"),
            None => handle.clone(),
        };
        let _ = name;
        Some(ModelChoice { handle, label })
    };
    let mut llm: Vec<ModelChoice> = llm
        .into_iter()
        .filter_map(|m| choice(m.handle, m.name, m.display_name))
        .collect();
    let mut embedding: Vec<ModelChoice> = embedding
        .into_iter()
        .filter_map(|m| choice(m.handle, m.name, m.display_name))
        .collect();
    llm.sort_by(|a, b| a.handle.cmp(&b.handle));
    llm.dedup_by(|a, b| a.handle == b.handle);
    embedding.sort_by(|a, b| a.handle.cmp(&b.handle));
    embedding.dedup_by(|a, b| a.handle == b.handle);
    Ok(ModelChoices { llm, embedding })
}

// ---- create, edit, delete ------------------------------------------------------------------

pub async fn create(ctx: &Ctx, input: NewAgentInput) -> Result<AgentSaved, AppError> {
    validated(new_agent_problems(&input))?;
    let client = ctx.state.letta.client()?;
    let name = input.name.trim().to_string();
    // Only what the server offers: a typo'd handle would otherwise surface as a 4xx/5xx later.
    let offered = models(ctx).await?;
    if !offered.llm.iter().any(|m| m.handle == input.model.trim()) {
        return Err(AppError::invalid(
            "model",
            "The Letta server does not offer this model (any more): choose another.",
        ));
    }
    if !offered
        .embedding
        .iter()
        .any(|m| m.handle == input.embedding.trim())
    {
        return Err(AppError::invalid(
            "embedding",
            "The Letta server does not offer this embedding model: choose another.",
        ));
    }
    let memory_blocks: Vec<CreateBlock> = input
        .blocks
        .iter()
        .map(|b| CreateBlock {
            limit: Some(block_limit(&b.limit).unwrap_or(DEFAULT_BLOCK_LIMIT) as u64),
            ..CreateBlock::new(b.label.trim(), b.value.clone())
        })
        .collect();
    let body = CreateAgentRequest {
        name: Some(name.clone()),
        model: Some(input.model.trim().to_string()),
        embedding: Some(input.embedding.trim().to_string()),
        description: blank(&input.description),
        tags: parse_tags(&input.tags),
        system: blank(&input.system).map(|_| input.system.clone()),
        memory_blocks,
        ..CreateAgentRequest::default()
    };
    match client.agents().create(&body).await {
        Ok(a) => {
            // The starting blocks' first values, so their history starts here.
            for b in &a.blocks {
                history::add(
                    &ctx.state.db,
                    history::Of::Block(&b.id),
                    &b.value,
                    "create",
                    Some(&ctx.user.username),
                )
                .await?;
            }
            let detail = format!(
                "{}; model {}; {} blocks",
                a.id,
                body.model.as_deref().unwrap_or(""),
                a.blocks.len()
            );
            ctx.audit("agent.create", Some(&a.name), Outcome::Ok, Some(&detail))
                .await;
            Ok(AgentSaved {
                id: a.id,
                name: a.name,
            })
        }
        Err(e) => Err(failed(ctx, "agent.create", &name, e.into()).await),
    }
}

pub async fn update(ctx: &Ctx, id: &str, input: AgentEditInput) -> Result<AgentSaved, AppError> {
    validated(edit_problems(&input))?;
    let client = ctx.state.letta.client()?;
    let before = fetch(&client, id).await?;
    let name = input.name.trim().to_string();
    let tags = parse_tags(&input.tags);
    let description = input.description.trim().to_string();
    let mut changed = vec![];
    if before.name != name {
        changed.push(format!("name {} → {name}", before.name));
    }
    if before.description.as_deref().unwrap_or("") != description {
        changed.push("description".to_string());
    }
    if before.tags != tags {
        changed.push(format!("tags [{}]", tags.join(", ")));
    }
    let body = crate::letta::UpdateAgent {
        name: Some(name.clone()),
        description: Some(description),
        tags: Some(tags),
        ..Default::default()
    };
    match client.agents().update(&before.id, &body).await {
        Ok(a) => {
            let detail = if changed.is_empty() {
                "no change".to_string()
            } else {
                changed.join("; ")
            };
            ctx.audit(
                "agent.update",
                Some(&before.name),
                Outcome::Ok,
                Some(&detail),
            )
            .await;
            Ok(AgentSaved {
                id: a.id,
                name: a.name,
            })
        }
        Err(e) => Err(failed(ctx, "agent.update", &before.name, agent_error(e)).await),
    }
}

/// Deletes the agent: its messages and archival memory go with it; blocks stay in Letta.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let client = ctx.state.letta.client()?;
    let agent = fetch(&client, id).await?;
    let counts = client.agents().context(&agent.id).await.ok();
    match client.agents().delete(&agent.id).await {
        Ok(()) => {
            let mut note = format!("{}; {} blocks kept", agent.id, agent.blocks.len());
            if let Some(c) = counts {
                note.push_str(&format!(
                    "; {} messages and {} passages deleted",
                    c.num_recall_memory, c.num_archival_memory
                ));
            }
            ctx.audit("agent.delete", Some(&agent.name), Outcome::Ok, Some(&note))
                .await;
            Ok(())
        }
        Err(e) => Err(failed(ctx, "agent.delete", &agent.name, agent_error(e)).await),
    }
}

// ---- identities ----------------------------------------------------------------------------

pub async fn identity_choices(
    ctx: &Ctx,
    id: &str,
    search: &str,
) -> Result<Vec<IdentityChoice>, AppError> {
    let client = ctx.state.letta.client()?;
    let agent = fetch(&client, id).await?;
    let found = client
        .identities()
        .list(&IdentityFilter {
            name: blank(search),
            limit: Some(20),
            ..IdentityFilter::default()
        })
        .await?;
    Ok(found
        .into_iter()
        .map(|i| IdentityChoice {
            linked: agent.identity_ids.contains(&i.id),
            id: i.id,
            identifier_key: i.identifier_key,
            name: i.name,
        })
        .collect())
}

pub async fn link_identity(
    ctx: &Ctx,
    id: &str,
    identity_id: &str,
    link: bool,
) -> Result<(), AppError> {
    let identity_id = identity_id.trim();
    if !well_formed("identity", identity_id) {
        return Err(AppError::invalid("identity_id", "Choose an identity."));
    }
    let client = ctx.state.letta.client()?;
    let agent = fetch(&client, id).await?;
    let action = if link {
        "agent.link_identity"
    } else {
        "agent.unlink_identity"
    };
    let result = if link {
        client
            .agents()
            .attach_identity(&agent.id, identity_id)
            .await
    } else {
        client
            .agents()
            .detach_identity(&agent.id, identity_id)
            .await
    };
    match result {
        Ok(()) => {
            ctx.audit(action, Some(&agent.name), Outcome::Ok, Some(identity_id))
                .await;
            Ok(())
        }
        Err(e) => {
            let err = if e.is_not_found() {
                tracing::info!(error = %e, "identity or agent gone");
                AppError::NotFound(
                    "That identity (or this agent) no longer exists on the Letta server.".into(),
                )
            } else {
                e.into()
            };
            Err(failed(ctx, action, &agent.name, err).await)
        }
    }
}

// ---- core memory blocks --------------------------------------------------------------------

/// The block, read from the agent's core memory (so an id of a block not attached to this
/// agent is refused), with a value not seen before recorded in the history.
async fn attached_block(
    state: &AppState,
    client: &LettaClient,
    agent: &str,
    block_id: &str,
) -> Result<CoreBlock, AppError> {
    let agent = agent_id(agent)?;
    if !well_formed("block", block_id) {
        return Err(AppError::NotFound(
            "That block is not attached to this agent.".into(),
        ));
    }
    let blocks = client
        .agents()
        .core_blocks(agent)
        .await
        .map_err(agent_error)?;
    let block = blocks
        .into_iter()
        .find(|b| b.id == block_id)
        .ok_or_else(|| {
            AppError::NotFound("That block is not attached to this agent (any more).".into())
        })?;
    let b = core_block(state, block).await?;
    if b.persona_of.is_none() {
        history::observe(&state.db, history::Of::Block(&b.id), &b.value).await?;
    }
    Ok(b)
}

/// Saves one core block with the persona editor's rules: serialised per block, re-read under
/// the lock, read_only and the limit enforced (Letta enforces neither), no silent overwrite,
/// every value kept. A person's persona block goes through the persona editor itself (same
/// history, same audit).
pub async fn save_block(
    ctx: &Ctx,
    s: BlockSave,
    source: &str,
) -> Result<BlockSaveOutcome, AppError> {
    let state = &ctx.state;
    let client = state.letta.client()?;
    let current = attached_block(state, &client, &s.agent_id, &s.block_id).await?;
    let change = Edit {
        base: &s.base,
        value: &s.value,
        limit: &s.limit,
        description: s.description.as_deref(),
    };
    if let Some(p) = &current.persona_of {
        // A person's block: the persona editor's save (its history, its audit).
        let person = db::persons::by_id(&state.db, p.id)
            .await?
            .ok_or_else(|| AppError::NotFound("That person no longer exists.".into()))?;
        let saved = persona::save(
            &state.db,
            &client,
            &state.blocks.locks,
            person.id,
            &current.id,
            person.block_limit,
            change,
            source,
            &ctx.user.username,
        )
        .await?;
        if let Some((action, outcome, detail)) = saved.audit(persona::AUDIT_PREFIX, source) {
            ctx.audit(&action, Some(&person.username), outcome, Some(&detail))
                .await;
        }
        let back = |b: persona::Block| CoreBlock {
            value: b.value,
            limit: b.limit,
            description: b.description,
            read_only: b.read_only,
            ..current.clone()
        };
        return match saved {
            Saved::Written { block, .. } => Ok(BlockSaveOutcome::Saved(back(block))),
            Saved::Conflict { now } => Ok(BlockSaveOutcome::Conflict { server: back(now) }),
            Saved::Refused(e) => Err(e),
        };
    }
    let target = format!("{} ({})", current.label, current.id);
    let saved = crate::blocks::save::save(
        &state.db,
        &client,
        &state.blocks.locks,
        &current.id,
        history::Of::Block(&current.id),
        || attached_block(state, &client, &s.agent_id, &s.block_id),
        change,
        source,
        &ctx.user.username,
    )
    .await?;
    if let Some((action, outcome, detail)) = saved.audit("agent.block_", source) {
        ctx.audit(&action, Some(&target), outcome, Some(&detail))
            .await;
    }
    match saved {
        Saved::Written { block, .. } => Ok(BlockSaveOutcome::Saved(block)),
        Saved::Conflict { now } => Ok(BlockSaveOutcome::Conflict { server: now }),
        Saved::Refused(e) => Err(failed(ctx, "agent.block_save", &target, e).await),
    }
}

impl Current for CoreBlock {
    fn now(&self) -> edit::Now<'_> {
        edit::Now {
            value: &self.value,
            limit: self.limit,
            description: &self.description,
            read_only: self.read_only,
        }
    }

    fn written(self, value: &str, description: Option<&str>, limit: i64) -> CoreBlock {
        CoreBlock {
            value: value.to_string(),
            limit,
            description: description.map_or(self.description, str::to_string),
            ..self
        }
    }
}

pub async fn block_history(
    ctx: &Ctx,
    agent: &str,
    block_id: &str,
) -> Result<Vec<Version>, AppError> {
    let state = &ctx.state;
    let client = state.letta.client()?;
    let b = attached_block(state, &client, agent, block_id).await?;
    let of = match &b.persona_of {
        Some(p) => history::Of::Person(p.id),
        None => history::Of::Block(&b.id),
    };
    Ok(history::list(&state.db, of)
        .await?
        .into_iter()
        .map(Version::from)
        .collect())
}

pub async fn restore_block(
    ctx: &Ctx,
    agent: &str,
    block_id: &str,
    version_id: i64,
    base: String,
) -> Result<BlockSaveOutcome, AppError> {
    let state = &ctx.state;
    let person = db::persons::by_block(&state.db, block_id).await?;
    let of = match &person {
        Some(p) => history::Of::Person(p.id),
        None => history::Of::Block(block_id),
    };
    let value = history::get(&state.db, of, version_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That version no longer exists.".into()))?;
    save_block(
        ctx,
        BlockSave {
            agent_id: agent.to_string(),
            block_id: block_id.to_string(),
            base,
            value,
            limit: String::new(),
            description: None,
        },
        "restore",
    )
    .await
}

/// Detaches a person's persona block left attached outside a chat turn. Other blocks belong to
/// the agent and are not detached from here.
pub async fn detach_block(ctx: &Ctx, agent: &str, block_id: &str) -> Result<(), AppError> {
    let state = &ctx.state;
    let client = state.letta.client()?;
    let a = fetch(&client, agent).await?;
    let b = attached_block(state, &client, &a.id, block_id).await?;
    let who = match (&b.persona_of, b.foreign_persona()) {
        (Some(p), _) => p.username.clone(),
        (None, true) => b.label.clone(),
        (None, false) => {
            return Err(AppError::Conflict(
                "Only a persona block can be detached here; this block belongs to the agent."
                    .into(),
            ))
        }
    };
    let target = format!("{} ({})", a.name, b.label);
    if chat_turn_holds(state, &a.id, &b.id).await {
        ctx.audit(
            "agent.detach_block",
            Some(&target),
            Outcome::Denied,
            Some("chat turn in progress"),
        )
        .await;
        return Err(AppError::Conflict(format!(
            "A chat turn with {who} is using this block right now; it is detached when the turn ends."
        )));
    }
    match client.agents().detach_block(&a.id, &b.id).await {
        // A 404 here: detached in the meantime (e.g. the turn ended), which is what was wanted.
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(failed(ctx, "agent.detach_block", &target, e.into()).await),
    }
    // A block an earlier turn failed to detach is in the chat journal: it is off now.
    state
        .blocks
        .turns
        .detached_outside_turn(&state.db, &a.id, &b.id)
        .await;
    ctx.audit(
        "agent.detach_block",
        Some(&target),
        Outcome::Ok,
        Some(&b.id),
    )
    .await;
    Ok(())
}

// ---- archival memory -----------------------------------------------------------------------

fn passage_row(p: Passage) -> PassageRow {
    PassageRow {
        id: p.id,
        text: p.text,
        tags: p.tags,
        created_at: p.created_at,
    }
}

fn passage_id(id: &str) -> Result<&str, AppError> {
    let id = id.trim();
    if well_formed("passage", id) {
        Ok(id)
    } else {
        Err(AppError::NotFound(
            "That passage does not exist (any more).".into(),
        ))
    }
}

/// Newest first. Letta's `ascending=false&before=X` gives the next older ones; the newer page
/// is `ascending=true&after=X` (the oldest ones after X), turned round.
pub async fn passages(ctx: &Ctx, id: &str, q: PassageQuery) -> Result<PassagePage, AppError> {
    let client = ctx.state.letta.client()?;
    let id = agent_id(id)?;
    let size = page_size(q.size);
    let older_than = q.older_than.as_deref().and_then(blank);
    let newer_than = q.newer_than.as_deref().and_then(blank);
    for c in older_than.iter().chain(newer_than.iter()) {
        passage_id(c)?;
    }
    let filter = PassageFilter {
        limit: Some(size + 1),
        search: blank(&q.search),
        after: newer_than.clone(),
        before: if newer_than.is_some() {
            None
        } else {
            older_than.clone()
        },
        ascending: Some(newer_than.is_some()),
    };
    let mut found = client
        .passages()
        .list(id, &filter)
        .await
        .map_err(agent_error)?;
    let more = found.len() > size as usize;
    found.truncate(size as usize);
    if newer_than.is_some() {
        found.reverse();
    }
    let (has_newer, has_older) = match (&older_than, &newer_than) {
        (_, Some(_)) => (more, true),
        (Some(_), None) => (true, more),
        (None, None) => (false, more),
    };
    let newer = has_newer
        .then(|| found.first().map(|p| p.id.clone()))
        .flatten();
    let older = has_older
        .then(|| found.last().map(|p| p.id.clone()))
        .flatten();
    Ok(PassagePage {
        rows: found.into_iter().map(passage_row).collect(),
        newer,
        older,
    })
}

pub async fn search(ctx: &Ctx, id: &str, s: SearchInput) -> Result<Vec<SearchHit>, AppError> {
    validated(search_problems(&s))?;
    let client = ctx.state.letta.client()?;
    let id = agent_id(id)?;
    // The viewer's day, as UTC instants: from its first to its last millisecond.
    let iso = |ms: i64| {
        let utc = datetime_utc(ms);
        format!(
            "{}T{}.{:03}Z",
            &utc[..10],
            &utc[11..19],
            ms.rem_euclid(1000)
        )
    };
    // Each day with the offset of that day (the browser sends both): exact across a
    // summer-time change.
    let day_start = |d: &str, tz: Option<i32>| {
        parse_date(d)
            .map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
            .and_then(|d| local_day_start(&d, tz))
    };
    let tags = parse_tags(&s.tags);
    let query = ArchivalMemorySearch {
        query: s.query.trim().to_string(),
        top_k: Some(top_k(&s.top_k).unwrap_or(DEFAULT_TOP_K)),
        tag_match_mode: (!tags.is_empty()).then_some(if s.match_all {
            TagMatchMode::All
        } else {
            TagMatchMode::Any
        }),
        tags,
        start_datetime: day_start(&s.from, s.tz).map(iso),
        end_datetime: day_start(&s.to, s.tz_to.or(s.tz)).map(|ms| iso(ms + 86_400_000 - 1)),
    };
    let found = client
        .passages()
        .search(id, &query)
        .await
        .map_err(agent_error)?;
    Ok(found
        .results
        .into_iter()
        .map(|r| SearchHit {
            id: r.id,
            content: r.content,
            tags: r.tags,
            timestamp: r.timestamp,
        })
        .collect())
}

async fn create_passage(
    ctx: &Ctx,
    client: &LettaClient,
    agent: &AgentState,
    input: &PassageInput,
    action: &str,
) -> Result<Vec<PassageRow>, AppError> {
    let tags = parse_tags(&input.tags);
    match client
        .passages()
        .create(&agent.id, input.text.trim(), &tags)
        .await
    {
        Ok(created) => {
            let ids: Vec<&str> = created.iter().map(|p| p.id.as_str()).collect();
            let detail = format!(
                "{}; {} characters; tags [{}]",
                ids.join(", "),
                input.text.trim().chars().count(),
                tags.join(", ")
            );
            ctx.audit(action, Some(&agent.name), Outcome::Ok, Some(&detail))
                .await;
            Ok(created.into_iter().map(passage_row).collect())
        }
        Err(e) => Err(failed(ctx, action, &agent.name, agent_error(e)).await),
    }
}

pub async fn add_passage(
    ctx: &Ctx,
    id: &str,
    input: PassageInput,
) -> Result<Vec<PassageRow>, AppError> {
    validated(passage_problems(&input))?;
    let client = ctx.state.letta.client()?;
    let agent = fetch(&client, id).await?;
    create_passage(ctx, &client, &agent, &input, "agent.passage_add").await
}

pub async fn delete_passage(ctx: &Ctx, id: &str, passage: &str) -> Result<(), AppError> {
    let client = ctx.state.letta.client()?;
    let agent = fetch(&client, id).await?;
    let passage = passage_id(passage)?;
    match client.passages().delete(&agent.id, passage).await {
        Ok(()) => {
            ctx.audit(
                "agent.passage_delete",
                Some(&agent.name),
                Outcome::Ok,
                Some(passage),
            )
            .await;
            Ok(())
        }
        Err(e) => {
            let err = if e.is_not_found() {
                tracing::info!(error = %e, "passage gone");
                AppError::NotFound("That passage was already deleted.".into())
            } else {
                e.into()
            };
            Err(failed(ctx, "agent.passage_delete", &agent.name, err).await)
        }
    }
}

/// Letta 0.16.8 has no passage update: add the new text, then delete the old passage. If the
/// delete fails the new passage stays (nothing is lost) and the error says both exist.
pub async fn replace_passage(
    ctx: &Ctx,
    id: &str,
    old: &str,
    input: PassageInput,
) -> Result<Vec<PassageRow>, AppError> {
    validated(passage_problems(&input))?;
    let client = ctx.state.letta.client()?;
    let agent = fetch(&client, id).await?;
    let old = passage_id(old)?;
    let created = create_passage(ctx, &client, &agent, &input, "agent.passage_replace").await?;
    match client.passages().delete(&agent.id, old).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            tracing::warn!(error = %e, "replace: deleting the old passage failed");
            ctx.audit(
                "agent.passage_delete",
                Some(&agent.name),
                Outcome::Failed,
                Some(old),
            )
            .await;
            return Err(AppError::Upstream(
                "The new passage was added, but the old one could not be deleted: both are there now. Delete the old one again.".into(),
            ));
        }
    }
    ctx.audit(
        "agent.passage_delete",
        Some(&agent.name),
        Outcome::Ok,
        Some(old),
    )
    .await;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert!(agent_id("agent-3f6fdb24-f2c4-4a0d-80b0-fa5f07de1e40").is_ok());
        for bad in [
            "",
            "agent-",
            "agent-../x",
            "identity-1",
            "agent-12 3",
            "agentx-1",
        ] {
            assert!(agent_id(bad).is_err(), "{bad}");
        }
        assert!(passage_id("passage-1a").is_ok());
        assert!(passage_id("passage-1/../x").is_err());
    }

    #[test]
    fn context_parts_add_up_to_the_current_size() {
        let c = ContextWindowOverview {
            context_window_size_max: 30000,
            context_window_size_current: 2055,
            num_tokens_system: 427,
            num_tokens_external_memory_summary: 87,
            num_tokens_functions_definitions: 1541,
            ..Default::default()
        };
        let v = context_view(c);
        assert_eq!(v.parts.iter().map(|p| p.tokens).sum::<u64>(), 2055);
        assert_eq!(v.parts.len(), 5, "no 'other' part when it is empty");
        assert_eq!(v.parts[2].tokens, 87);
    }
}

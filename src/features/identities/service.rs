//! (Server only.) What the identities server functions do: plain async functions over the
//! request context, so tests reach them without a Leptos runtime.

use super::api::*;
use crate::error::AppError;
use crate::{
    auth::guard::Ctx,
    db::audit::Outcome,
    letta::paging::{Cursors, Window},
    letta::{
        AgentFilter, Identity, IdentityCreate, IdentityFilter, IdentityProperty,
        IdentityPropertyType, IdentityType, IdentityUpdate, LettaClient, LettaError, Upserted,
    },
};

fn to_letta_kind(k: IdentityKind) -> IdentityType {
    match k {
        IdentityKind::Org => IdentityType::Org,
        IdentityKind::User => IdentityType::User,
        IdentityKind::Other => IdentityType::Other,
    }
}

fn from_letta_kind(k: IdentityType) -> IdentityKind {
    match k {
        IdentityType::Org => IdentityKind::Org,
        IdentityType::User => IdentityKind::User,
        IdentityType::Other => IdentityKind::Other,
    }
}

fn to_letta_prop(kind: PropKind) -> IdentityPropertyType {
    match kind {
        PropKind::String => IdentityPropertyType::String,
        PropKind::Number => IdentityPropertyType::Number,
        PropKind::Boolean => IdentityPropertyType::Boolean,
        PropKind::Json => IdentityPropertyType::Json,
    }
}

fn from_letta_prop(kind: IdentityPropertyType) -> PropKind {
    match kind {
        IdentityPropertyType::String => PropKind::String,
        IdentityPropertyType::Number => PropKind::Number,
        IdentityPropertyType::Boolean => PropKind::Boolean,
        IdentityPropertyType::Json => PropKind::Json,
    }
}

/// Validated properties in Letta's shape.
fn letta_properties(props: &[PropertyInput]) -> Result<Vec<IdentityProperty>, AppError> {
    Ok(parse_properties(props)?
        .into_iter()
        .map(|(key, kind, value)| IdentityProperty {
            key,
            value,
            r#type: to_letta_prop(kind),
        })
        .collect())
}

fn form_properties(props: &[IdentityProperty]) -> Vec<PropertyInput> {
    props
        .iter()
        .map(|p| {
            let kind = from_letta_prop(p.r#type);
            PropertyInput {
                key: p.key.clone(),
                kind,
                value: value_text(kind, &p.value),
            }
        })
        .collect()
}

fn row(i: Identity) -> IdentityRow {
    IdentityRow {
        property_count: i.properties.len(),
        id: i.id,
        identifier_key: i.identifier_key,
        name: i.name,
        identity_type: from_letta_kind(i.identity_type),
    }
}

fn saved(i: &Identity, created: bool) -> IdentitySaved {
    IdentitySaved {
        id: i.id.clone(),
        identifier_key: i.identifier_key.clone(),
        name: i.name.clone(),
        created,
    }
}

fn no_such_identity() -> AppError {
    AppError::NotFound("That identity does not exist (any more) on the Letta server.".into())
}

/// An id that cannot be an identity's is refused here: in a path, Letta would answer a 422
/// about a regex, which says nothing useful to a person.
fn check_id(id: &str) -> Result<&str, AppError> {
    let id = id.trim();
    let ok = id.strip_prefix("identity-").is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    });
    if ok {
        Ok(id)
    } else {
        Err(no_such_identity())
    }
}

/// A Letta failure of an identity route: a 404 means the identity is gone; the rest is the
/// usual mapping (which logs the body and never passes it on).
fn identity_error(e: LettaError) -> AppError {
    if e.is_not_found() {
        tracing::info!(error = %e, "identity not found on Letta");
        no_such_identity()
    } else {
        e.into()
    }
}

/// Records a failed write, then hands back what the browser sees.
async fn failed(ctx: &Ctx, action: &str, target: &str, e: AppError) -> AppError {
    ctx.audit(action, Some(target), Outcome::Failed, Some(&e.to_string()))
        .await;
    e
}

async fn fetch(client: &LettaClient, id: &str) -> Result<Identity, AppError> {
    client
        .identities()
        .get(check_id(id)?)
        .await
        .map_err(identity_error)
}

pub async fn list(ctx: &Ctx, query: ListQuery) -> Result<IdentityList, AppError> {
    let client = ctx.state.letta.client()?;
    list_with(&client, query).await
}

/// One page, newest first. Letta's `before` cursor is a filter, not a window: with the
/// default newest-first order, `before=X&limit=N` gives the N NEWEST identities before X,
/// not the N right before it (pinned in the contract tests). So the newer page is read
/// oldest-first after X, then turned round.
pub async fn list_with(client: &LettaClient, query: ListQuery) -> Result<IdentityList, AppError> {
    let size = query.page_size();
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let cursor = |c: &Option<String>| c.as_deref().and_then(blank);
    let base = IdentityFilter {
        name: blank(&query.name),
        identifier_key: blank(&query.key),
        identity_type: query.identity_type.map(to_letta_kind),
        ..IdentityFilter::default()
    };
    let (after, before) = (cursor(&query.after), cursor(&query.before));
    let cursors = Cursors { after, before };
    let (after, order, limit) = cursors.request(size);
    let filter = IdentityFilter {
        after,
        order: Some(order),
        limit: Some(limit),
        ..base.clone()
    };
    let found = match client.identities().list(&filter).await {
        Ok(f) => f,
        // The cursor's identity was deleted since the link was made.
        Err(e) if cursors.paging() && e.is_not_found() => {
            tracing::info!(error = %e, "stale identity cursor");
            return Err(AppError::NotFound(
                "The identity this page started from was deleted: start again from the first page."
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let Window {
        items: found,
        newer,
        older,
    } = cursors.window(found, size, |i| &i.id);
    let total = client.identities().count().await?;
    let (matching, matching_capped) = if query.is_filtered() {
        // Letta quirk: `GET /v1/identities/count` takes no filters, so count by listing.
        let all = client
            .identities()
            .list(&IdentityFilter {
                limit: Some(MATCH_COUNT_CAP + 1),
                ..base
            })
            .await?;
        let capped = all.len() > MATCH_COUNT_CAP as usize;
        (Some(all.len().min(MATCH_COUNT_CAP as usize) as u64), capped)
    } else {
        (None, false)
    };
    Ok(IdentityList {
        rows: found.into_iter().map(row).collect(),
        total,
        matching,
        matching_capped,
        newer,
        older,
    })
}

pub async fn detail(ctx: &Ctx, id: &str) -> Result<IdentityDetail, AppError> {
    let client = ctx.state.letta.client()?;
    let mut detail = detail_with(&client, id).await?;
    detail.linked_person = person_using(ctx, &detail.id).await?;
    Ok(detail)
}

/// The dashboard person bound to this identity, if any.
async fn person_using(ctx: &Ctx, identity_id: &str) -> Result<Option<String>, AppError> {
    Ok(crate::db::persons::by_identity(&ctx.state.db, identity_id)
        .await?
        .map(|p| p.username))
}

pub async fn detail_with(client: &LettaClient, id: &str) -> Result<IdentityDetail, AppError> {
    let ident = fetch(client, id).await?;
    let ids = client.identities();
    // Letta quirk (NOTES: Identities): `agent_ids` / `block_ids` on the identity are always
    // empty; the sub-routes have the real links.
    let (agents, blocks) =
        futures::try_join!(ids.agents(&ident.id), ids.blocks(&ident.id)).map_err(identity_error)?;
    Ok(IdentityDetail {
        properties: form_properties(&ident.properties),
        agents: agents
            .into_iter()
            .map(|a| LinkedAgent {
                id: a.id,
                name: a.name,
            })
            .collect(),
        blocks: blocks
            .into_iter()
            .map(|b| LinkedBlock {
                preview: preview(&b.value),
                id: b.id,
                label: b.label.unwrap_or_default(),
            })
            .collect(),
        // Filled in by `detail` from the dashboard's own database.
        linked_person: None,
        id: ident.id,
        identifier_key: ident.identifier_key,
        name: ident.name,
        identity_type: from_letta_kind(ident.identity_type),
    })
}

fn preview(value: &str) -> String {
    const MAX: usize = 120;
    let flat: String = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX {
        format!("{}…", flat.chars().take(MAX).collect::<String>())
    } else {
        flat
    }
}

fn checked_input(input: &IdentityInput) -> Result<IdentityCreate, AppError> {
    let (key, name, kind) =
        parse_details(&input.identifier_key, &input.name, &input.identity_type)?;
    Ok(IdentityCreate {
        identifier_key: key,
        name,
        identity_type: to_letta_kind(kind),
        properties: Some(letta_properties(&input.properties)?),
    })
}

fn props_detail(id: &str, n: usize) -> String {
    format!("{id}; {n} properties")
}

pub async fn create(ctx: &Ctx, input: IdentityInput) -> Result<IdentitySaved, AppError> {
    let body = checked_input(&input)?;
    let client = ctx.state.letta.client()?;
    let key = body.identifier_key.clone();
    match client.identities().create(&body).await {
        Ok(ident) => {
            let n = ident.properties.len();
            ctx.audit(
                "identity.create",
                Some(&key),
                Outcome::Ok,
                Some(&props_detail(&ident.id, n)),
            )
            .await;
            Ok(saved(&ident, true))
        }
        Err(e) if e.is_conflict() => {
            tracing::debug!(error = %e, detail = e.log_detail().unwrap_or(""), "duplicate identity key");
            let err = AppError::invalid("identifier_key", duplicate_key_message(&key));
            Err(failed(ctx, "identity.create", &key, err).await)
        }
        Err(e) => Err(failed(ctx, "identity.create", &key, e.into()).await),
    }
}

/// Letta's `PUT /v1/identities/` cannot create (404 for a new key), so the client looks the
/// key up and updates or creates; the answer says which.
pub async fn upsert(ctx: &Ctx, input: IdentityInput) -> Result<IdentitySaved, AppError> {
    let body = checked_input(&input)?;
    let client = ctx.state.letta.client()?;
    let key = body.identifier_key.clone();
    match client.identities().upsert_by_key(&body).await {
        Ok((ident, how)) => {
            let created = how == Upserted::Created;
            let detail = format!(
                "{} {}",
                if created { "created" } else { "updated" },
                props_detail(&ident.id, ident.properties.len())
            );
            ctx.audit("identity.upsert", Some(&key), Outcome::Ok, Some(&detail))
                .await;
            Ok(saved(&ident, created))
        }
        Err(e) => Err(failed(ctx, "identity.upsert", &key, e.into()).await),
    }
}

pub async fn update(
    ctx: &Ctx,
    id: &str,
    details: IdentityDetailsInput,
) -> Result<IdentitySaved, AppError> {
    let (key, name, kind) = parse_details(
        &details.identifier_key,
        &details.name,
        &details.identity_type,
    )?;
    let client = ctx.state.letta.client()?;
    let before = fetch(&client, id).await?;
    let mut changed = vec![];
    if before.identifier_key != key {
        changed.push(format!("key {} → {key}", before.identifier_key));
    }
    if before.name != name {
        changed.push("name".to_string());
    }
    if from_letta_kind(before.identity_type) != kind {
        changed.push(format!("type {}", kind.as_str()));
    }
    let body = IdentityUpdate {
        identifier_key: Some(key.clone()),
        name: Some(name),
        identity_type: Some(to_letta_kind(kind)),
        properties: None,
    };
    match client.identities().update(&before.id, &body).await {
        Ok(ident) => {
            let detail = if changed.is_empty() {
                "no change".to_string()
            } else {
                changed.join(", ")
            };
            ctx.audit("identity.update", Some(&key), Outcome::Ok, Some(&detail))
                .await;
            Ok(saved(&ident, false))
        }
        Err(e) if e.is_conflict() => {
            tracing::debug!(error = %e, detail = e.log_detail().unwrap_or(""), "duplicate identity key");
            let err = AppError::invalid("identifier_key", duplicate_key_message(&key));
            Err(failed(ctx, "identity.update", &before.identifier_key, err).await)
        }
        Err(e) => {
            let err = identity_error(e);
            Err(failed(ctx, "identity.update", &before.identifier_key, err).await)
        }
    }
}

/// Replaces ALL properties (`PUT /v1/identities/{id}/properties`): the server's PATCH merges
/// by key, so a property removed in the editor would survive it.
pub async fn set_properties(
    ctx: &Ctx,
    input: PropertiesInput,
) -> Result<Vec<PropertyInput>, AppError> {
    let props = letta_properties(&input.properties)?;
    let client = ctx.state.letta.client()?;
    let before = fetch(&client, &input.id).await?;
    let old: Vec<&str> = before.properties.iter().map(|p| p.key.as_str()).collect();
    let removed: Vec<&str> = old
        .iter()
        .copied()
        .filter(|k| !props.iter().any(|p| p.key == *k))
        .collect();
    match client
        .identities()
        .replace_properties(&before.id, &props)
        .await
    {
        Ok(ident) => {
            let mut detail = format!("{} properties", ident.properties.len());
            if !removed.is_empty() {
                detail.push_str(&format!("; removed {}", removed.join(", ")));
            }
            ctx.audit(
                "identity.properties",
                Some(&before.identifier_key),
                Outcome::Ok,
                Some(&detail),
            )
            .await;
            Ok(form_properties(&ident.properties))
        }
        Err(e) => {
            let err = identity_error(e);
            Err(failed(ctx, "identity.properties", &before.identifier_key, err).await)
        }
    }
}

pub async fn delete(ctx: &Ctx, id: &str, confirm_person: bool) -> Result<(), AppError> {
    let client = ctx.state.letta.client()?;
    let detail = detail_with(&client, id).await?;
    let key = detail.identifier_key.clone();
    let person = crate::db::persons::by_identity(&ctx.state.db, &detail.id).await?;
    if let (Some(p), false) = (&person, confirm_person) {
        return Err(AppError::Conflict(format!(
            "The person {} uses this identity: confirm a second time to delete it anyway.",
            p.username
        )));
    }
    match client.identities().delete(&detail.id).await {
        Ok(()) => {
            if let Some(p) = &person {
                // The person stays, flagged: its page offers to recreate the identity.
                crate::db::persons::set_health(
                    &ctx.state.db,
                    p.id,
                    "identity_missing",
                    Some(&format!(
                        "{} deleted the identity from the Identities page.",
                        ctx.user.username
                    )),
                )
                .await?;
            }
            let note = format!(
                "{}; unlinked {} agents, {} blocks",
                detail.id,
                detail.agents.len(),
                detail.blocks.len()
            );
            ctx.audit("identity.delete", Some(&key), Outcome::Ok, Some(&note))
                .await;
            Ok(())
        }
        Err(e) => {
            let err = identity_error(e);
            Err(failed(ctx, "identity.delete", &key, err).await)
        }
    }
}

pub async fn agent_choices(
    ctx: &Ctx,
    id: &str,
    search: &str,
) -> Result<Vec<AgentChoice>, AppError> {
    let client = ctx.state.letta.client()?;
    let id = check_id(id)?;
    let search = search.trim();
    // `name` is an exact match on this server; `query_text` is a case-insensitive search.
    let agents = client
        .agents()
        .list(&AgentFilter {
            query_text: Some(search.to_string()).filter(|s| !s.is_empty()),
            limit: Some(AGENT_CHOICES),
            ..AgentFilter::default()
        })
        .await?;
    Ok(agents
        .into_iter()
        .map(|a| AgentChoice {
            linked: a.identity_ids.iter().any(|i| i == id),
            id: a.id,
            name: a.name,
        })
        .collect())
}

pub async fn link_agent(ctx: &Ctx, id: &str, agent_id: &str, link: bool) -> Result<(), AppError> {
    let agent_id = agent_id.trim();
    if crate::letta::ids::AgentId::parse(agent_id).is_none() {
        return Err(AppError::invalid("agent_id", "Choose an agent."));
    }
    let client = ctx.state.letta.client()?;
    let ident = fetch(&client, id).await?;
    let action = if link {
        "identity.link_agent"
    } else {
        "identity.unlink_agent"
    };
    let agents = client.agents();
    let result = if link {
        agents.attach_identity(agent_id, &ident.id).await
    } else {
        agents.detach_identity(agent_id, &ident.id).await
    };
    match result {
        Ok(()) => {
            ctx.audit(
                action,
                Some(&ident.identifier_key),
                Outcome::Ok,
                Some(agent_id),
            )
            .await;
            Ok(())
        }
        Err(e) => {
            let err = if e.is_not_found() {
                tracing::info!(error = %e, "agent or identity gone");
                AppError::NotFound(
                    "That agent (or this identity) no longer exists on the Letta server.".into(),
                )
            } else {
                e.into()
            };
            Err(failed(ctx, action, &ident.identifier_key, err).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert!(check_id("identity-3f6fdb24-f2c4-4a0d-80b0-fa5f07de1e40").is_ok());
        for bad in [
            "",
            "identity-",
            "agent-123",
            "identity-../x",
            "identity-12 3",
        ] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn previews_are_short_and_flat() {
        assert_eq!(preview("a\n  b"), "a b");
        let long = "x".repeat(500);
        assert_eq!(preview(&long).chars().count(), 121);
    }

    #[test]
    fn stored_properties_become_form_text() {
        let props = vec![IdentityProperty {
            key: "prefs".into(),
            value: Value::from(vec![1, 2]),
            r#type: IdentityPropertyType::Json,
        }];
        assert_eq!(
            form_properties(&props),
            vec![PropertyInput {
                key: "prefs".into(),
                kind: PropKind::Json,
                value: "[1,2]".into()
            }]
        );
    }
}

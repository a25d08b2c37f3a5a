//! Person server functions: staff may read, operators change.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Person usernames: 1–42 characters of a–z, 0–9, `_` or `-`. 42 keeps the block label
/// `Persona_<username>` within the 50 characters the server's label search accepts.
pub fn validate_username(username: &str) -> Result<(), AppError> {
    let ok = (1..=42).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "username",
            "Username must be 1–42 characters of a–z, 0–9, '_' or '-'.",
        ))
    }
}

pub fn validate_display_name(name: &str) -> Result<(), AppError> {
    let n = name.trim().chars().count();
    if n == 0 || n > 100 {
        return Err(AppError::invalid(
            "display_name",
            "Display name must be 1–100 characters.",
        ));
    }
    Ok(())
}

pub fn block_label(username: &str) -> String {
    format!("Persona_{username}")
}

/// The persona document a new block starts with, as JSON text.
pub fn initial_persona(display_name: &str) -> String {
    serde_json::json!({ "name": display_name, "preferences": {}, "conversation_history": [] })
        .to_string()
}

/// A person as lists and pickers show them. Fifty of these are serialized into every persons
/// page for hydration, so only fields a list shows belong here (the rest: [`PersonDetail`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSummary {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub health: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonDetail {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub notes: String,
    pub identity_id: Option<String>,
    pub block_id: Option<String>,
    pub block_label: String,
    pub block_limit: i64,
    pub health: String,
    pub health_detail: Option<String>,
    pub checked_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PersonQuery {
    #[serde(default)]
    pub search: String,
    /// username | display_name | newest
    #[serde(default)]
    pub sort: String,
    pub after_key: Option<String>,
    pub after_id: Option<i64>,
    /// Only the persons whose last check found a problem.
    #[serde(default)]
    pub problems: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonsPage {
    pub persons: Vec<PersonSummary>,
    pub total: i64,
    /// Cursor of the next page: (key, id).
    pub next: Option<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewPersonForm {
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub notes: String,
    /// Empty: the configured default.
    #[serde(default)]
    pub limit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateOutcome {
    Created(PersonSummary),
    /// The key already exists in Letta: offer to adopt that identity instead of failing.
    Adoptable {
        identity_id: String,
        name: String,
        identity_type: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RepairAction {
    Relink,
    RecreateBlock,
    RecreateIdentity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
pub struct VerifyProgress {
    pub running: bool,
    pub total: usize,
    pub done: usize,
    /// (username, health, detail) of persons that are not ok.
    pub problems: Vec<(String, String, String)>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    pub line: usize,
    pub username: String,
    /// created | adopted | skipped | failed
    pub outcome: String,
    pub message: String,
}

#[server(prefix = "/api", endpoint = "staff/persons/list")]
pub async fn list_persons(query: PersonQuery) -> Result<PersonsPage, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::list(&ctx.state, query).await
}

#[server(prefix = "/api", endpoint = "staff/persons/get")]
pub async fn get_person(id: i64) -> Result<PersonDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::detail(&ctx.state, id).await
}

#[server(prefix = "/api", endpoint = "operator/persons/create")]
pub async fn create_person(form: NewPersonForm) -> Result<CreateOutcome, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::create(&ctx, form).await
}

#[server(prefix = "/api", endpoint = "operator/persons/adopt")]
pub async fn adopt_person(username: String, notes: String) -> Result<PersonSummary, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::adopt(&ctx, &username, &notes).await
}

#[server(prefix = "/api", endpoint = "operator/persons/update")]
pub async fn update_person(
    id: i64,
    display_name: String,
    notes: String,
) -> Result<PersonDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::update(&ctx, id, display_name, notes).await
}

#[server(prefix = "/api", endpoint = "operator/persons/delete")]
pub async fn delete_person(id: i64, keep_in_letta: bool) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::delete(&ctx, id, keep_in_letta).await
}

#[server(prefix = "/api", endpoint = "operator/persons/verify")]
pub async fn verify_person(id: i64) -> Result<PersonDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::verify_one(&ctx.state, id).await?;
    super::service::detail(&ctx.state, id).await
}

#[server(prefix = "/api", endpoint = "operator/persons/repair")]
pub async fn repair_person(id: i64, action: RepairAction) -> Result<PersonDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::repair(&ctx, id, action).await
}

#[server(prefix = "/api", endpoint = "operator/persons/verify_all")]
pub async fn start_verify_all() -> Result<VerifyProgress, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::start_verify_all(&ctx).await
}

#[server(prefix = "/api", endpoint = "operator/persons/verify_progress")]
pub async fn get_verify_progress() -> Result<VerifyProgress, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::verify_progress(&ctx.state).await
}

#[server(prefix = "/api", endpoint = "operator/persons/import")]
pub async fn import_persons(csv: String) -> Result<Vec<ImportRow>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::import(&ctx, &csv).await
}

/// The CSV download (a plain GET route, not a server function, so the browser saves a file).
pub const EXPORT_PATH: &str = "/api/staff/persons/export.csv";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fit_the_block_label_search() {
        assert!(validate_username("ada_lovelace-1").is_ok());
        assert!(validate_username(&"a".repeat(42)).is_ok());
        assert_eq!(block_label(&"a".repeat(42)).len(), 50);
        for bad in ["", "Ada", "a.b", "a b", "é", &"a".repeat(43)] {
            assert!(
                validate_username(bad)
                    .unwrap_err()
                    .for_field("username")
                    .is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_initial_persona_is_the_json_document() {
        let v: serde_json::Value = serde_json::from_str(&initial_persona("Ada")).unwrap();
        assert_eq!(v["name"], "Ada");
        assert!(v["preferences"].as_object().unwrap().is_empty());
        assert!(v["conversation_history"].as_array().unwrap().is_empty());
    }
}

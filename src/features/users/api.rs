//! Dashboard accounts (admins only).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{auth::Role, error::AppError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserSummary>,
    /// The cursor for the next page, if there is one.
    pub next_after: Option<String>,
}

pub const PAGE_SIZE: i64 = 25;

#[server(prefix = "/api", endpoint = "admin/users/list")]
pub async fn list_users(search: String, after: Option<String>) -> Result<UsersPage, AppError> {
    let ctx = crate::auth::guard::require_role(Role::Admin).await?;
    super::service::list(&ctx, &search, after.as_deref()).await
}

#[server(prefix = "/api", endpoint = "admin/users/create")]
pub async fn create_user(
    username: String,
    password: String,
    role: Role,
) -> Result<UserSummary, AppError> {
    let ctx = crate::auth::guard::require_role(Role::Admin).await?;
    super::service::create(&ctx, username, password, role).await
}

#[server(prefix = "/api", endpoint = "admin/users/set_role")]
pub async fn set_user_role(id: i64, role: Role) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(Role::Admin).await?;
    super::service::set_role(&ctx, id, role).await
}

#[server(prefix = "/api", endpoint = "admin/users/set_disabled")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(Role::Admin).await?;
    super::service::set_disabled(&ctx, id, disabled).await
}

#[server(prefix = "/api", endpoint = "admin/users/reset_password")]
pub async fn reset_user_password(id: i64, password: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(Role::Admin).await?;
    super::service::reset_password(&ctx, id, password).await
}

#[server(prefix = "/api", endpoint = "admin/users/delete")]
pub async fn delete_user(id: i64) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(Role::Admin).await?;
    super::service::delete(&ctx, id).await
}

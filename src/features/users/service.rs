//! (Server only.) What the users server functions do: plain async functions over the
//! request context, so tests reach them without a Leptos runtime.

use super::api::*;
use crate::{auth::Role, error::AppError};
use crate::{
    auth::{api::validate_username, guard::Ctx, password},
    db::{self, audit::Outcome, users::Change},
};

fn summary(u: &db::users::UserRow) -> UserSummary {
    UserSummary {
        id: u.id,
        username: u.username.clone(),
        role: u.role(),
        disabled: u.disabled,
        created_at: u.created_at,
    }
}

async fn target(ctx: &Ctx, id: i64) -> Result<db::users::UserRow, AppError> {
    db::users::by_id(&ctx.state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("That user no longer exists.".into()))
}

fn not_yourself(ctx: &Ctx, id: i64, what: &str) -> Result<(), AppError> {
    if ctx.user.id == id {
        return Err(AppError::Conflict(format!(
            "You cannot {what} your own account."
        )));
    }
    Ok(())
}

async fn finish(
    ctx: &Ctx,
    change: Change,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> Result<(), AppError> {
    match change {
        Change::Done => {
            ctx.audit(action, Some(target), Outcome::Ok, detail).await;
            Ok(())
        }
        Change::NoSuchUser => Err(AppError::NotFound("That user no longer exists.".into())),
        Change::LastAdmin => {
            ctx.audit(action, Some(target), Outcome::Denied, Some("last admin"))
                .await;
            Err(AppError::Conflict(
                "This is the last admin: make another admin first.".into(),
            ))
        }
    }
}

pub async fn list(ctx: &Ctx, search: &str, after: Option<&str>) -> Result<UsersPage, AppError> {
    let mut rows = db::users::page(&ctx.state.db, search.trim(), after, PAGE_SIZE + 1).await?;
    let next_after = (rows.len() as i64 > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|u| u.username.clone()).unwrap_or_default()
    });
    Ok(UsersPage {
        users: rows.iter().map(summary).collect(),
        next_after,
    })
}

pub async fn create(
    ctx: &Ctx,
    username: String,
    pw: String,
    role: Role,
) -> Result<UserSummary, AppError> {
    let username = username.trim().to_lowercase();
    validate_username(&username)?;
    password::validate_new_password(&pw)?;
    let hash = password::hash(pw).await?;
    let id = match db::users::insert(&ctx.state.db, &username, &hash, role).await {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::invalid(
                "username",
                format!("A user named {username} already exists."),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    ctx.audit(
        "user.create",
        Some(&username),
        Outcome::Ok,
        Some(role.as_str()),
    )
    .await;
    let row = target(ctx, id).await?;
    Ok(summary(&row))
}

pub async fn set_role(ctx: &Ctx, id: i64, role: Role) -> Result<(), AppError> {
    not_yourself(ctx, id, "change the role of")?;
    let user = target(ctx, id).await?;
    let change = db::users::set_role(&ctx.state.db, id, role).await?;
    finish(
        ctx,
        change,
        "user.set_role",
        &user.username,
        Some(role.as_str()),
    )
    .await
}

pub async fn set_disabled(ctx: &Ctx, id: i64, disabled: bool) -> Result<(), AppError> {
    not_yourself(ctx, id, "disable")?;
    let user = target(ctx, id).await?;
    let change = db::users::set_disabled(&ctx.state.db, id, disabled).await?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    finish(ctx, change, action, &user.username, None).await
}

pub async fn reset_password(ctx: &Ctx, id: i64, pw: String) -> Result<(), AppError> {
    let user = target(ctx, id).await?;
    password::validate_new_password(&pw)?;
    let hash = password::hash(pw).await?;
    if !db::users::set_password(&ctx.state.db, id, &hash).await? {
        return Err(AppError::NotFound("That user no longer exists.".into()));
    }
    ctx.audit(
        "user.reset_password",
        Some(&user.username),
        Outcome::Ok,
        None,
    )
    .await;
    Ok(())
}

pub async fn delete(ctx: &Ctx, id: i64) -> Result<(), AppError> {
    not_yourself(ctx, id, "delete")?;
    let user = target(ctx, id).await?;
    let change = db::users::delete(&ctx.state.db, id).await?;
    finish(ctx, change, "user.delete", &user.username, None).await
}

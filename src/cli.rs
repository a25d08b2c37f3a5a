//! The command-line way in: create a user, reset a password (a locked-out admin's way back).

use crate::{
    auth::{api::validate_username, password, Role},
    config::Config,
    db::{self, audit::Outcome},
    startup::BoxError,
};

pub async fn create_user(
    config: &Config,
    username: &str,
    role: Role,
    pw: String,
) -> Result<(), BoxError> {
    let pool = db::connect(&config.database_url).await?;
    let username = username.trim().to_lowercase();
    validate_username(&username)?;
    password::validate_new_password(&pw)?;
    let hash = password::hash(pw).await?;
    db::users::insert(&pool, &username, &hash, role)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                format!("user {username} already exists")
            }
            e => e.to_string(),
        })?;
    db::audit::record(
        &pool,
        Some("cli"),
        "user.create",
        Some(&username),
        Outcome::Ok,
        Some(role.as_str()),
    )
    .await?;
    println!("created {} user {username}", role.as_str());
    Ok(())
}

pub async fn reset_password(config: &Config, username: &str, pw: String) -> Result<(), BoxError> {
    let pool = db::connect(&config.database_url).await?;
    let username = username.trim().to_lowercase();
    let user = db::users::by_username(&pool, &username)
        .await?
        .ok_or_else(|| format!("no user named {username}"))?;
    password::validate_new_password(&pw)?;
    let hash = password::hash(pw).await?;
    db::users::set_password(&pool, user.id, &hash).await?;
    db::users::set_disabled(&pool, user.id, false).await?;
    db::audit::record(
        &pool,
        Some("cli"),
        "user.reset_password",
        Some(&username),
        Outcome::Ok,
        None,
    )
    .await?;
    println!("password reset for {username}; their sessions have ended");
    Ok(())
}

//! The sign-in state every screen shares, provided once by the app shell.

use leptos::prelude::*;

use super::{
    api::{Login, Logout},
    CurrentUser,
};
use crate::error::AppError;

/// Sign-in state shared by every screen: the current user, refetched whenever someone signs
/// in or out.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
}

pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

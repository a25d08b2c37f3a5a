//! Accounts, roles and sessions. `Role` and the endpoint access policy are shared with the
//! browser; password hashing, sessions and guards are server-only.

pub mod api;
pub mod context;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod setup_token;

use serde::{Deserialize, Serialize};

/// A dashboard user's role. Ordered: a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Staff,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "staff" => Some(Role::Staff),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Staff => "Staff",
            Role::Operator => "Operator",
            Role::Admin => "Admin",
        }
    }
}

/// The signed-in user as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// The signed-in user of the page being rendered on the server, looked up once before the
/// render starts (src/startup.rs `render_page`), so the frame can be drawn at once instead of
/// under a `<Suspense>` that waits for `whoami` (see `components::layout::Layout`).
#[derive(Clone, Debug)]
pub struct PageUser(pub Result<Option<CurrentUser>, crate::error::AppError>);

/// Who may call a server function. Every server function's URL starts with
/// `/api/<access>/`, so the policy can be enforced before its arguments are even decoded, and a
/// test can walk the server-function registry and check every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    AtLeast(Role),
}

pub const API_PREFIX: &str = "/api";

/// The access a server-function path requires, or `None` for a path outside the policy (which
/// the API guard refuses outright).
pub fn required_access(path: &str) -> Option<Access> {
    let rest = path.strip_prefix(API_PREFIX)?.strip_prefix('/')?;
    let (segment, name) = rest.split_once('/')?;
    if name.is_empty() {
        return None;
    }
    match segment {
        "public" => Some(Access::Public),
        other => Role::parse(other).map(Access::AtLeast),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Staff);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn access_comes_from_the_path() {
        assert_eq!(required_access("/api/public/login"), Some(Access::Public));
        assert_eq!(
            required_access("/api/operator/settings/save"),
            Some(Access::AtLeast(Role::Operator))
        );
        assert_eq!(required_access("/api/admin/"), None);
        assert_eq!(required_access("/api/root/x"), None);
        assert_eq!(required_access("/other/public/x"), None);
    }
}

//! Every registered server function, from the registry itself: anonymous callers get 401, a
//! role below the one in its path gets 403. A new server function is covered automatically.
use crate::common;

use common::{client, spawn_app};
use letta_admin::auth::{required_access, Access, Role};

fn registered() -> Vec<String> {
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .collect();
    paths.sort();
    paths
}

/// The only server functions anyone may call.
const PUBLIC: &[&str] = &[
    "/api/public/login",
    "/api/public/logout",
    "/api/public/me",
    "/api/public/setup",
    "/api/public/setup_status",
];

#[test]
fn every_server_function_has_an_access_level_and_public_ones_are_listed() {
    let paths = registered();
    assert!(paths.len() > 8, "the registry looks empty: {paths:?}");
    for p in &paths {
        match required_access(p) {
            None => panic!("{p} is outside the /api/<public|staff|operator|admin>/ policy"),
            Some(Access::Public) => assert!(
                PUBLIC.contains(&p.as_str()),
                "{p} is public but not in the short list"
            ),
            Some(Access::AtLeast(_)) => {}
        }
    }
}

#[tokio::test]
async fn anonymous_gets_401_and_low_roles_get_403_everywhere() {
    let app = spawn_app().await;
    let anonymous = client();
    let staff = app.signed_in("sam", Role::Staff).await;
    let operator = app.signed_in("olga", Role::Operator).await;
    for path in registered() {
        let Some(Access::AtLeast(role)) = required_access(&path) else {
            continue;
        };
        let endpoint = path.trim_start_matches("/api/");
        let a = app.call(&anonymous, endpoint, &[]).await;
        assert_eq!(a.status, 401, "{path} anonymous: {}", a.body);
        if role > Role::Staff {
            let a = app.call(&staff, endpoint, &[]).await;
            assert_eq!(a.status, 403, "{path} as staff: {}", a.body);
        }
        if role > Role::Operator {
            let a = app.call(&operator, endpoint, &[]).await;
            assert_eq!(a.status, 403, "{path} as operator: {}", a.body);
        }
    }
}

/// The guard is also the first line of each protected server function (defence in depth: the
/// middleware could be misconfigured), and names the same role as the path.
#[test]
fn each_protected_server_function_starts_with_its_guard() {
    let mut checked = 0;
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(rest) = line.trim().strip_prefix("#[server(") else {
                    continue;
                };
                // `#[server(default)] arg: T` is an argument's attribute, not a function's.
                if !rest.trim_end().ends_with(")]") {
                    continue;
                }
                let endpoint = rest
                    .split("endpoint = \"")
                    .nth(1)
                    .and_then(|s| s.split('"').next());
                let endpoint = endpoint.unwrap_or_else(|| {
                    panic!(
                        "{}:{}: server fn without an endpoint",
                        path.display(),
                        i + 1
                    )
                });
                let access = required_access(&format!("/api/{endpoint}")).expect("policy path");
                // The body's first line follows the signature (which may span lines).
                let body_start = lines[i..]
                    .iter()
                    .position(|l| l.trim_end().ends_with('{'))
                    .unwrap()
                    + i
                    + 1;
                let first = lines[body_start].trim();
                match access {
                    Access::Public => assert!(
                        first.ends_with(" // public") || first.contains("// public:"),
                        "{}:{}: public fn must say so on its first line: {first}",
                        path.display(),
                        body_start + 1
                    ),
                    Access::AtLeast(role) => {
                        let want = format!(
                            "require_role({}Role::{:?})",
                            if first.contains("crate::auth::Role") {
                                "crate::auth::"
                            } else {
                                ""
                            },
                            role
                        );
                        assert!(
                            first.contains(&want),
                            "{}:{}: expected the guard {want}, found: {first}",
                            path.display(),
                            body_start + 1
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 8, "found only {checked} server functions");
}

use crate::common;

use common::{client, spawn_app, PASSWORD};
use letta_admin::{
    auth::Role,
    features::{audit::api::AuditPage, users::api::UsersPage},
};

async fn id_of(app: &common::TestApp, name: &str) -> String {
    let id: i64 = letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE username = $1"
    )
    .bind(name)
    .fetch_one(pool)
    .await)
    .unwrap();
    id.to_string()
}

#[tokio::test]
async fn an_admin_creates_lists_and_searches_users() {
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    for (name, role) in [("olga", "operator"), ("sam", "staff")] {
        let r = app
            .call(
                &admin,
                "admin/users/create",
                &[("username", name), ("password", PASSWORD), ("role", role)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let dup = app
        .call(
            &admin,
            "admin/users/create",
            &[
                ("username", "sam"),
                ("password", PASSWORD),
                ("role", "staff"),
            ],
        )
        .await;
    assert_eq!(dup.status, 422);
    assert_eq!(
        dup.error().for_field("username").as_deref(),
        Some("A user named sam already exists.")
    );
    let short = app
        .call(
            &admin,
            "admin/users/create",
            &[
                ("username", "tim"),
                ("password", "short"),
                ("role", "staff"),
            ],
        )
        .await;
    assert!(short.error().for_field("password").is_some());

    let all: UsersPage = app
        .call(&admin, "admin/users/list", &[("search", "")])
        .await
        .json();
    let names: Vec<_> = all.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["olga", "root", "sam"]);
    let found: UsersPage = app
        .call(&admin, "admin/users/list", &[("search", "OL")])
        .await
        .json();
    assert_eq!(found.users.len(), 1);
    assert_eq!(found.users[0].role, Role::Operator);

    // The new operator can sign in.
    let c = client();
    assert_eq!(
        app.call(
            &c,
            "public/login",
            &[("username", "olga"), ("password", PASSWORD)]
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn users_page_in_keyset_pages() {
    let app = spawn_app().await;
    let admin = app.signed_in("aaa-admin", Role::Admin).await;
    for i in 0..30 {
        app.add_user(&format!("user{i:02}"), Role::Staff).await;
    }
    let first: UsersPage = app
        .call(&admin, "admin/users/list", &[("search", "user")])
        .await
        .json();
    assert_eq!(first.users.len(), 25);
    let after = first.next_after.clone().expect("a second page");
    let second: UsersPage = app
        .call(
            &admin,
            "admin/users/list",
            &[("search", "user"), ("after", &after)],
        )
        .await
        .json();
    assert_eq!(second.users.len(), 5);
    assert!(second.next_after.is_none());
    assert_eq!(second.users[0].username, "user25");
}

#[tokio::test]
async fn never_yourself_and_never_the_last_admin() {
    let app = spawn_app().await;
    let root = app.signed_in("root", Role::Admin).await;
    let me = id_of(&app, "root").await;
    for (endpoint, extra) in [
        ("admin/users/delete", None),
        ("admin/users/set_disabled", Some(("disabled", "true"))),
        ("admin/users/set_role", Some(("role", "staff"))),
    ] {
        let mut form = vec![("id", me.as_str())];
        form.extend(extra);
        let r = app.call(&root, endpoint, &form).await;
        assert_eq!(r.status, 409, "{endpoint}: {}", r.body);
        assert!(r.error().to_string().contains("your own account"));
    }

    // A second admin who is then demoted by root: fine. Root alone cannot be removed by the
    // other admin once that admin is the only other one being demoted.
    let other = app.signed_in("ada", Role::Admin).await;
    let root_id = id_of(&app, "root").await;
    let ada_id = id_of(&app, "ada").await;
    // ada disables root: allowed (ada remains an admin).
    assert_eq!(
        app.call(
            &other,
            "admin/users/set_disabled",
            &[("id", &root_id), ("disabled", "true")]
        )
        .await
        .status,
        200
    );
    // Now ada is the last active admin; a direct change to her is refused by the database rule.
    let change =
        letta_admin::db::users::set_role(&app.state.db, ada_id.parse().unwrap(), Role::Staff)
            .await
            .unwrap();
    assert_eq!(change, letta_admin::db::users::Change::LastAdmin);
    let gone = letta_admin::db::users::delete(&app.state.db, ada_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(gone, letta_admin::db::users::Change::LastAdmin);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    // Through two instances' pools on one database, twenty rounds: each round two admins, each
    // demoted by a statement on another connection at the same moment.
    let a = spawn_app().await;
    let (dir, db) = (
        a.state.config.data_dir.clone(),
        a.state.config.database_url.clone(),
    );
    let b = common::spawn_app_with(move |c| {
        c.data_dir = dir;
        c.database_url = db;
    })
    .await;
    for round in 0..20 {
        let (x, y) = (format!("x{round:02}"), format!("y{round:02}"));
        a.add_user(&x, Role::Admin).await;
        a.add_user(&y, Role::Admin).await;
        let (x_id, y_id) = (
            id_of(&a, &x).await.parse().unwrap(),
            id_of(&a, &y).await.parse().unwrap(),
        );
        let (dx, dy) = tokio::join!(
            letta_admin::db::users::set_role(&a.state.db, x_id, Role::Staff),
            letta_admin::db::users::set_role(&b.state.db, y_id, Role::Staff),
        );
        let outcomes = [dx.unwrap(), dy.unwrap()];
        assert_eq!(
            letta_admin::db::users::count_active_admins(&a.state.db)
                .await
                .unwrap(),
            1,
            "round {round}: {outcomes:?}"
        );
        // The last admin cannot be removed through the guarded statements: reset by hand.
        a.exec_sql("DELETE FROM users", "DELETE FROM users").await;
    }
}

#[tokio::test]
async fn a_role_change_or_password_reset_ends_the_users_sessions() {
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let olga = app.signed_in("olga", Role::Operator).await;
    let id = id_of(&app, "olga").await;
    assert_eq!(
        app.call(
            &admin,
            "admin/users/set_role",
            &[("id", &id), ("role", "staff")]
        )
        .await
        .status,
        200
    );
    assert_eq!(app.call(&olga, "public/me", &[]).await.body, "null");

    let c = client();
    assert_eq!(
        app.call(
            &c,
            "public/login",
            &[("username", "olga"), ("password", PASSWORD)]
        )
        .await
        .status,
        200
    );
    assert!(app
        .call(&c, "public/me", &[])
        .await
        .body
        .contains(r#""role":"staff""#));
    let r = app
        .call(
            &admin,
            "admin/users/reset_password",
            &[("id", &id), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.call(&c, "public/me", &[]).await.body, "null");
    assert_eq!(
        app.call(
            &c,
            "public/login",
            &[("username", "olga"), ("password", "a brand new password")]
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn the_audit_log_records_and_filters_with_keyset_pages() {
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    for i in 0..60 {
        let name = format!("u{i:02}");
        let r = app
            .call(
                &admin,
                "admin/users/create",
                &[
                    ("username", &name),
                    ("password", PASSWORD),
                    ("role", "staff"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let _ = app
        .call(
            &client(),
            "public/login",
            &[("username", "root"), ("password", "wrong password")],
        )
        .await;

    let page: AuditPage = app
        .call(
            &admin,
            "admin/audit/list",
            &[("filter[action]", "user.create")],
        )
        .await
        .json();
    assert_eq!(page.entries.len(), 50);
    assert!(page
        .entries
        .iter()
        .all(|e| e.action == "user.create" && e.actor.as_deref() == Some("root")));
    assert_eq!(
        page.entries[0].target.as_deref(),
        Some("u59"),
        "newest first"
    );
    assert!(page.newer.is_none());
    let older = page.older.expect("an older page").to_string();
    let page2: AuditPage = app
        .call(
            &admin,
            "admin/audit/list",
            &[
                ("filter[action]", "user.create"),
                ("filter[before]", &older),
            ],
        )
        .await
        .json();
    assert_eq!(page2.entries.len(), 10);
    assert!(page2.older.is_none());
    let newer = page2.newer.expect("back to the newer page").to_string();
    let back: AuditPage = app
        .call(
            &admin,
            "admin/audit/list",
            &[("filter[action]", "user.create"), ("filter[after]", &newer)],
        )
        .await
        .json();
    assert_eq!(back.entries, page.entries);

    let failed: AuditPage = app
        .call(
            &admin,
            "admin/audit/list",
            &[("filter[action]", "auth."), ("filter[actor]", "root")],
        )
        .await
        .json();
    assert!(failed
        .entries
        .iter()
        .any(|e| e.action == "auth.login" && e.outcome == "failed"));
    assert!(failed.actions.contains(&"user.create".to_string()));

    let future: AuditPage = app
        .call(
            &admin,
            "admin/audit/list",
            &[("filter[from]", "2999-01-01")],
        )
        .await
        .json();
    assert!(future.entries.is_empty());
    let bad = app
        .call(&admin, "admin/audit/list", &[("filter[from]", "yesterday")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error().for_field("from").is_some());
}

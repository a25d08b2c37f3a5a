use crate::common;

use common::{spawn_app, PASSWORD};
use letta_admin::auth::Role;

#[tokio::test]
async fn cross_origin_writes_are_refused() {
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let form = [
        ("username", "mallory"),
        ("password", PASSWORD),
        ("role", "admin"),
    ];
    let r = admin
        .post(app.url("/api/admin/users/create"))
        .header("origin", "http://evil.test")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = admin
        .post(app.url("/api/admin/users/create"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        letta_admin::db::users::by_username(&app.state.db, "mallory")
            .await
            .unwrap()
            .is_none()
    );

    // The same request from our own origin goes through.
    let r = admin
        .post(app.url("/api/admin/users/create"))
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

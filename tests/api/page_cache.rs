//! The persons list is answered from the page cache while nothing it shows has changed
//! (src/page_cache.rs). These tests check that it never shows something out of date or
//! someone else's page, and that every answer has its own CSP nonce.

use crate::common;

use common::{fake_letta::FakeLetta, spawn_app, TestApp};
use letta_admin::{auth::Role, db::persons::NewPerson};

async fn add_person(app: &TestApp, username: &str, display_name: &str) -> i64 {
    letta_admin::db::persons::insert(
        &app.state.db,
        &NewPerson {
            username,
            display_name,
            notes: "",
            identity_id: "identity-x",
            block_id: "block-x",
            block_limit: 5000,
            initial_value: "{}",
            version_source: "create",
            actor: None,
        },
    )
    .await
    .unwrap()
    .id
}

/// The page's HTML and the nonce its CSP header names.
async fn persons_page(c: &reqwest::Client, app: &TestApp, path: &str) -> (String, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the policy")
        .to_string();
    (r.text().await.unwrap(), nonce)
}

fn without_nonce(html: &str, nonce: &str) -> String {
    html.replace(nonce, "NONCE")
}

#[tokio::test]
async fn a_repeated_page_is_the_same_page_with_a_fresh_nonce() {
    let app = spawn_app().await;
    add_person(&app, "ada", "Ada Lovelace").await;
    let op = app.signed_in("olga", Role::Operator).await;

    // The persons generation is process-wide, so the other tests of this binary, writing
    // persons of their own apps at the same time, can make a request render again. A hit
    // answers the page the previous request rendered and kept.
    let mut previous = persons_page(&op, &app, "/persons").await;
    let mut compared = false;
    for _ in 0..20 {
        let hits = app.state.pages.hits();
        let current = persons_page(&op, &app, "/persons").await;
        if app.state.pages.hits() > hits {
            let ((first, n1), (second, n2)) = (&previous, &current);
            assert_ne!(n1, n2, "every answer has its own nonce");
            // The hydration scripts carry the nonce the policy names, and no other.
            assert!(second.contains(&format!("nonce=\"{n2}\"")), "{second}");
            assert!(!second.contains(n1.as_str()), "the render's nonce is gone");
            assert_eq!(without_nonce(first, n1), without_nonce(second, n2));
            assert!(second.contains("ada") && second.contains("Ada Lovelace"));
            compared = true;
            break;
        }
        previous = current;
    }
    assert!(compared, "no answer came from the cache in 20 requests");
}

#[tokio::test]
async fn a_change_to_any_person_shows_at_once() {
    let app = spawn_app().await;
    let id = add_person(&app, "ada", "Ada Lovelace").await;
    let op = app.signed_in("olga", Role::Operator).await;
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(html.contains("1 person in all"), "{html}");

    add_person(&app, "bob", "Bob Builder").await;
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(html.contains("Bob Builder") && html.contains("2 persons in all"));

    letta_admin::db::persons::update_details(&app.state.db, id, "Ada King", "")
        .await
        .unwrap();
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(html.contains("Ada King") && !html.contains("Ada Lovelace"));

    letta_admin::db::persons::set_health(&app.state.db, id, "block_missing", None)
        .await
        .unwrap();
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(html.contains("block gone"), "{html}");

    letta_admin::db::persons::delete(&app.state.db, id)
        .await
        .unwrap();
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(!html.contains("Ada King") && html.contains("1 person in all"));
}

#[tokio::test]
async fn each_user_and_each_url_gets_its_own_page() {
    let app = spawn_app().await;
    add_person(&app, "ada", "Ada Lovelace").await;
    add_person(&app, "bob", "Bob Builder").await;
    let op = app.signed_in("olga", Role::Operator).await;
    let staff = app.signed_in("sam", Role::Staff).await;

    let (op_html, _) = persons_page(&op, &app, "/persons").await;
    let (staff_html, _) = persons_page(&staff, &app, "/persons").await;
    assert!(op_html.contains("New person") && op_html.contains("olga"));
    assert!(
        !staff_html.contains("New person"),
        "staff see no operator actions"
    );
    assert!(staff_html.contains("sam") && !staff_html.contains("olga"));

    let (found, _) = persons_page(&staff, &app, "/persons?q=bo").await;
    assert!(found.contains("Bob Builder") && !found.contains("Ada Lovelace"));

    // The theme cookie is part of the page.
    let dark = common::client();
    let r = dark
        .get(app.url("/persons"))
        .header("cookie", "theme=dark")
        .send()
        .await
        .unwrap();
    // Signed out: the render redirects to sign-in, and nothing of a signed-in page leaks.
    let html = r.text().await.unwrap();
    assert!(!html.contains("Ada Lovelace"), "{html}");
    let themed = staff
        .get(app.url("/persons"))
        .header("cookie", "theme=dark")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(themed.contains("data-theme=\"dark\""), "{themed}");
}

#[tokio::test]
async fn a_new_connection_state_shows_in_the_badge() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(html.contains("Letta: not configured"), "{html}");

    app.connect_to_fake(&op, &fake, "30").await;
    let (html, _) = persons_page(&op, &app, "/persons").await;
    assert!(!html.contains("Letta: not configured"), "{html}");
    assert!(html.contains("Letta 0.16.8"), "{html}");
}

#[tokio::test]
async fn a_page_whose_data_failed_is_an_error_and_not_kept() {
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    letta_admin::with_pool!(&app.state.db, |pool| sqlx::query(
        "ALTER TABLE persons RENAME TO persons_gone"
    )
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let r = op.get(app.url("/persons")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("form-error"));
    assert!(app.state.pages.is_empty(), "a failed page is never kept");
}

#[tokio::test]
async fn a_person_created_through_another_instance_shows_at_the_next_load() {
    // The persons generation is in the database: a write through instance A invalidates the
    // page instance B keeps.
    let fake = FakeLetta::start().await;
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
    let op = a.signed_in("olga", Role::Operator).await;
    a.connect_to_fake(&op, &fake, "5").await;
    let staff = b.signed_in("sam", Role::Staff).await;
    let (html, _) = persons_page(&staff, &b, "/persons").await;
    assert!(!html.contains("Ada Lovelace"), "{html}");
    // Kept: the same page again comes from B's cache.
    let hits = b.state.pages.hits();
    persons_page(&staff, &b, "/persons").await;
    assert!(b.state.pages.hits() > hits, "B keeps its persons page");

    let created = a
        .call(
            &op,
            "operator/persons/create",
            &[
                ("form[username]", "ada"),
                ("form[display_name]", "Ada Lovelace"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let (html, _) = persons_page(&staff, &b, "/persons").await;
    assert!(
        html.contains("Ada Lovelace") && html.contains("1 person in all"),
        "{html}"
    );
}

/// How many of the page's serialized resources hold a persons list.
fn serialized_lists(html: &str) -> usize {
    html.split("__RESOLVED_RESOURCES[")
        .skip(1)
        .filter(|r| {
            r.split("\";")
                .next()
                .unwrap_or("")
                .contains("\\\"persons\\\":[")
        })
        .count()
}

/// One render, one fetch: the screen under the frame is built once, so the persons list query
/// runs once and its answer is sent once (a `<Suspense>` above `<Outlet/>` built it at least
/// three times, and more each time a resource finished later than another).
#[tokio::test]
async fn a_page_fetches_and_sends_its_data_once() {
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    for i in 0..3 {
        add_person(&app, &format!("once{i}"), &format!("Once {i}")).await;
    }
    let (html, _) = persons_page(&op, &app, "/persons?fresh=1").await;
    assert_eq!(serialized_lists(&html), 1, "{html}");
    assert_eq!(html.matches("Once 1").count(), 2, "table and data: {html}");
}

/// Many uncached renders at once all finish (they spun forever while the frame's `<Suspense>`
/// kept finding new resources). The client's timeout only keeps a hang from hanging the test.
#[tokio::test]
async fn many_uncached_pages_at_once_all_render() {
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    for i in 0..60 {
        add_person(&app, &format!("many{i:02}"), &format!("Many {i}")).await;
    }
    let pages = (0..16).map(|i| {
        let (op, url) = (op.clone(), app.url(&format!("/persons?render={i}")));
        async move {
            let r = op
                .get(url)
                .timeout(std::time::Duration::from_secs(60))
                .send()
                .await
                .expect("answered");
            (r.status(), r.text().await.unwrap_or_default())
        }
    });
    for (status, html) in futures::future::join_all(pages).await {
        assert_eq!(status, 200);
        assert!(html.contains("many00"), "{html}");
        assert_eq!(serialized_lists(&html), 1);
    }
}

/// Building an app renders it once to list its routes, with resource loading switched off by
/// a process-wide flag (leptos_server's `SuppressResourceLoad`). A page rendering on another
/// thread at that moment used to get resources that never load: its render never ended. The
/// routes are now generated once per process (src/startup.rs), so apps built while another
/// serves (as in every test binary) leave its pages alone.
#[tokio::test]
async fn pages_render_while_other_apps_are_built() {
    let app = common::spawn_app_with(|c| c.workers = 2).await;
    for i in 0..30 {
        add_person(&app, &format!("p{i}"), &format!("Person {i}")).await;
    }
    let op = app.signed_in("olga", Role::Operator).await;
    for round in 0..20 {
        let builds = tokio::spawn(async {
            futures::future::join_all((0..4).map(|_| async { drop(spawn_app().await) })).await;
        });
        let pages = (0..16).map(|j| {
            let (c, url) = (op.clone(), app.url(&format!("/persons?round={round}-{j}")));
            async move {
                // Sooner than the suite's client timeout: a page that hangs fails here.
                tokio::time::timeout(std::time::Duration::from_secs(15), c.get(url).send())
                    .await
                    .map(|r| r.map(|r| r.status()))
            }
        });
        for status in futures::future::join_all(pages).await {
            let status = status.expect("the page is answered").expect("the request");
            assert_eq!(status.as_u16(), 200);
        }
        builds.await.unwrap();
    }
}

/// A page view's reads (the session, its user, the list's state and its page) are answered on
/// the serving thread on SQLite (src/db/reader.rs), falling back to the pool with a warning if
/// they cannot be: every kind of list page is right, and none fell back.
#[tokio::test]
async fn a_page_views_reads_are_answered_without_falling_back() {
    common::capture_warnings();
    let app = common::spawn_app_with(|c| c.workers = 2).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let staff = app.signed_in("sam", Role::Staff).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(add_person(&app, &format!("reader{i}"), &format!("Reader {i}")).await);
    }
    letta_admin::db::persons::set_health(&app.state.db, ids[2], "unlinked", Some("gone"))
        .await
        .unwrap();
    let (all, _) = persons_page(&op, &app, "/persons").await;
    assert!(
        all.contains("4 persons in all") && all.contains("reader3"),
        "{all}"
    );
    let (found, _) = persons_page(&staff, &app, "/persons?q=READER&sort=newest").await;
    let order: Vec<_> = ["reader3", "reader2", "reader1", "reader0"]
        .iter()
        .map(|u| found.find(&format!(">{u}<")).expect(u))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first: {found}"
    );
    let (after, _) = persons_page(
        &op,
        &app,
        &format!(
            "/persons?sort=username&after_key=reader1&after_id={}",
            ids[1]
        ),
    )
    .await;
    assert!(
        after.contains(">reader2<") && !after.contains(">reader1<"),
        "{after}"
    );
    let (problems, _) = persons_page(&op, &app, "/persons?problems=1").await;
    assert!(
        problems.contains("1 person with a problem") && problems.contains(">reader2<"),
        "{problems}"
    );
    assert!(!problems.contains(">reader0<"), "{problems}");
    // Other tests' apps log too (one data failed on purpose): this app's database only.
    let db = app.state.config.data_dir.join("letta-admin.db");
    let logged = common::warnings_logged();
    let fell_back: Vec<_> = logged
        .lines()
        .filter(|l| l.contains("through the pool") && l.contains(&*db.to_string_lossy()))
        .collect();
    assert!(fell_back.is_empty(), "{fell_back:?}");
}

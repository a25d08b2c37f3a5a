//! How built assets and pages travel: precompressed files with the right encoding, a year of
//! caching only for content-hashed names, never for a miss; pages compressed on the fly.
mod common;

use common::{client, spawn_app, spawn_app_with_site};
use letta_admin::auth::Role;

/// A site root with one "built" stylesheet and its precompressed brotli and gzip copies.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("letta_admin.abc123.css"), "body { color: red }").unwrap();
    std::fs::write(pkg.join("letta_admin.abc123.css.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("letta_admin.abc123.css.gz"), b"gzip bytes").unwrap();
    dir
}

async fn get(
    c: &reqwest::Client,
    url: &str,
    encoding: &str,
) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let r = c
        .get(url)
        .header("accept-encoding", encoding)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (status, enc, cache) = (
        r.status().as_u16(),
        header("content-encoding"),
        header("cache-control"),
    );
    (status, enc, cache, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_served_precompressed() {
    let site = site();
    let app = spawn_app_with_site(|_| {}, site.path().to_str().unwrap(), true).await;
    let c = client();
    let url = app.url("/pkg/letta_admin.abc123.css");

    let (status, enc, cache, body) = get(&c, &url, "br, gzip").await;
    assert_eq!(status, 200);
    assert_eq!(enc.as_deref(), Some("br"));
    assert_eq!(body, b"brotli bytes");
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let (_, enc, _, body) = get(&c, &url, "gzip").await;
    assert_eq!(
        (enc.as_deref(), body.as_slice()),
        (Some("gzip"), &b"gzip bytes"[..])
    );
    let (_, enc, _, body) = get(&c, &url, "identity").await;
    assert_eq!((enc, body.as_slice()), (None, &b"body { color: red }"[..]));

    // A miss is never cached: the next build may well have that name.
    let (status, _, cache, _) = get(&c, &app.url("/pkg/letta_admin.nothere.css"), "br").await;
    assert_eq!(status, 404);
    assert_eq!(cache.as_deref(), Some("no-cache"));
}

#[tokio::test]
async fn unhashed_assets_are_revalidated() {
    let site = site();
    let app = spawn_app_with_site(|_| {}, site.path().to_str().unwrap(), false).await;
    let (status, _, cache, _) = get(&client(), &app.url("/pkg/letta_admin.abc123.css"), "br").await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-cache"));
}

#[tokio::test]
async fn pages_are_compressed_for_browsers_that_accept_it() {
    let app = spawn_app().await;
    app.add_user("ada", Role::Admin).await;
    let c = client();
    let (status, enc, _, body) = get(&c, &app.url("/login"), "br, gzip").await;
    assert_eq!(status, 200);
    assert_eq!(enc.as_deref(), Some("br"));
    let (_, plain_enc, _, plain) = get(&c, &app.url("/login"), "identity").await;
    assert_eq!(plain_enc, None);
    assert!(
        String::from_utf8_lossy(&plain).contains("Sign in"),
        "{}",
        String::from_utf8_lossy(&plain)
    );
    assert!(
        body.len() < plain.len() / 2,
        "{} vs {}",
        body.len(),
        plain.len()
    );
    // The API is not compressed here: the chat stream must reach the browser as it is written.
    let r = c
        .post(app.url("/api/public/setup_status"))
        .header("accept", "application/json")
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());
}

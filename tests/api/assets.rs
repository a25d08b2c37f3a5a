//! How built assets and pages travel: precompressed files with the right encoding, a year of
//! caching only for content-hashed names, never for a miss; pages compressed on the fly.
use crate::common;

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
    // What `cargo leptos build --split` adds: the hydration JS and main wasm, the split loader
    // and the lazy chunks.
    for name in [
        "letta_admin.def456.js",
        "letta_admin.ghi789.wasm",
        "__wasm_split.jkl012.js",
        "chunk_12.mno345.wasm",
        "split___chat_route_view_1.pqr678.wasm",
    ] {
        std::fs::write(pkg.join(name), name).unwrap();
    }
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

/// The hydration JS and the main wasm are named before the split loader's final name is
/// written into them (see `assets::is_immutable`), so a browser must ask again each time; a
/// 304 answers while the file is unchanged.
#[tokio::test]
async fn the_entry_js_and_wasm_are_revalidated_and_the_rest_kept_for_a_year() {
    let site = site();
    let app = spawn_app_with_site(|_| {}, site.path().to_str().unwrap(), true).await;
    let c = client();
    for (name, policy) in [
        ("letta_admin.def456.js", "no-cache"),
        ("letta_admin.ghi789.wasm", "no-cache"),
        (
            "__wasm_split.jkl012.js",
            "public, max-age=31536000, immutable",
        ),
        (
            "chunk_12.mno345.wasm",
            "public, max-age=31536000, immutable",
        ),
        (
            "split___chat_route_view_1.pqr678.wasm",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let (status, _, cache, body) = get(&c, &app.url(&format!("/pkg/{name}")), "br").await;
        assert_eq!((status, body.as_slice()), (200, name.as_bytes()), "{name}");
        assert_eq!(cache.as_deref(), Some(policy), "{name}");
    }

    let url = app.url("/pkg/letta_admin.def456.js");
    let r = c.get(&url).send().await.unwrap();
    let modified = r.headers()["last-modified"].clone();
    let again = c
        .get(&url)
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["cache-control"], "no-cache");
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

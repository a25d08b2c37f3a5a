//! [ssr] Rendered pages kept in memory while nothing they show has changed.
//!
//! The persons list is the screen operators and staff open over and over. Rendering it (Leptos
//! SSR of 50 rows, their query, the frame) costs well over a millisecond of CPU, against a few
//! tens of microseconds for a static file. What its HTML shows is a function of:
//!
//! - the URL (search, sort, cursor), the signed-in user (id, name, role) and what else of the
//!   request the page shows (the theme cookie): the cache KEY;
//! - the `persons` table, the Letta connection badge and, for operators, the verify-all
//!   progress: the DEPENDENCIES, a fingerprint taken before and after the render. An entry is
//!   stored only if it did not change meanwhile, and served only while it is still the same.
//!
//! This module is the cache only; the page's owner says what its key's variant and its
//! fingerprint are (`features::persons::service::ListSnapshot`, wired in `startup.rs`).
//! The table's part of that fingerprint is the persons generation, bumped after every write
//! has finished, so a render that raced a write is never stored under the newer generation.
//! Each hit gets a fresh CSP nonce: the render's own nonce is replaced in the HTML, and the
//! policy header names the new one. Only complete 200 responses without cookies are kept.

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, Request, StatusCode},
    response::Response,
};

/// At most this many pages are kept; a full cache starts over (entries are ~25 KB, so the
/// worst case is a few MB, and a cache this small refills in a few renders).
const CAPACITY: usize = 128;

/// The largest page body that is kept.
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    uri: String,
    /// Who is signed in and what else of the request the page shows (its theme), hashed.
    variant: u64,
}

impl Key {
    /// The page at the request's URL for `variant`: everything beyond the URL that the page
    /// shows of the request (the user, the theme).
    pub fn new(req: &Request<Body>, variant: impl Hash) -> Key {
        let mut h = DefaultHasher::new();
        variant.hash(&mut h);
        Key {
            uri: req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            variant: h.finish(),
        }
    }
}

struct Entry {
    deps: u64,
    nonce: String,
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
    hits: AtomicU64,
}

impl PageCache {
    /// The page for `key` if it was rendered with the same dependencies, with `nonce` in place
    /// of the render's own.
    pub fn get(&self, key: &Key, deps: u64, nonce: &str) -> Option<Response> {
        let entry = self.entries.lock().ok()?.get(key).cloned()?;
        if entry.deps != deps {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        let mut res = Response::new(Body::from(entry.body.replace(&entry.nonce, nonce)));
        *res.status_mut() = entry.status;
        *res.headers_mut() = entry.headers.clone();
        Some(res)
    }

    /// Keeps a rendered page (only a 200 without cookies). Returns the response to send.
    pub async fn put(&self, key: Key, deps: u64, nonce: &str, res: Response) -> Response {
        if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
            return res;
        }
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            // Too large or broken: nothing is kept and the client gets an error rather than
            // half a page.
            Err(e) => {
                tracing::error!(error = %e, "page body could not be read");
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return r;
            }
        };
        if let (Ok(text), Ok(mut entries)) = (std::str::from_utf8(&bytes), self.entries.lock()) {
            // An entry of older dependencies is never served again; it is replaced when its key
            // renders again, or dropped with the rest when the cache is full. (Dropping all of
            // them here would make operators and staff, whose fingerprints differ, evict each
            // other's pages.)
            if entries.len() >= CAPACITY && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(
                key,
                Arc::new(Entry {
                    deps,
                    nonce: nonce.to_string(),
                    status: parts.status,
                    headers: parts.headers.clone(),
                    body: text.to_string(),
                }),
            );
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    /// How many answers came from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A nonce for a cached page: the same form as Leptos's own (16 random bytes, URL-safe base64).
pub fn fresh_nonce() -> String {
    leptos::nonce::Nonce::new().to_string()
}

/// The CSP header for a page answered from the cache.
pub fn with_csp(mut res: Response, nonce: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&crate::security::page_csp(nonce)) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

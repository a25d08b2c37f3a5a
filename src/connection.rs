//! The live Letta connection: built from the settings in the database, swapped at once when an
//! operator saves new ones (no restart), and the one place the stored password is decrypted.

use secrecy::{ExposeSecret, SecretString};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

use crate::{
    config::Config,
    crypto::SecretBox,
    db,
    error::AppError,
    letta::{http_client, Connection, LettaClient, LettaError},
};

pub const KEY_BASE_URL: &str = "letta.base_url";
pub const KEY_PASSWORD: &str = "letta.password";
pub const KEY_TIMEOUT: &str = "letta.timeout_secs";
/// The associated data the password is sealed with: a sealed value for anything else does
/// not decrypt as the Letta password.
pub const PASSWORD_PURPOSE: &str = "letta.password";
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// A value sealed with the key the first instance on a Postgres database used: every later
/// instance must open it, or it would store (and fail to read) the Letta password under a key
/// of its own.
pub const KEY_CHECK: &str = "crypto.key_check";
const KEY_CHECK_PURPOSE: &str = "crypto.key_check";

/// On Postgres, where replicas on several hosts share the database: refuses to start with a
/// key other than the one the database's secrets are sealed with (the first instance's). On
/// SQLite the key file lives beside the database, and backup/restore check the pair.
pub async fn ensure_shared_key(db: &db::Db, secrets: &SecretBox) -> Result<(), String> {
    if db.dialect() != db::Dialect::Postgres {
        return Ok(());
    }
    let sealed = secrets
        .seal(KEY_CHECK_PURPOSE, "letta-admin")
        .map_err(|e| e.to_string())?;
    let read = |e: sqlx::Error| format!("reading the secret key check from the database: {e}");
    db::settings::put_if_absent(db, KEY_CHECK, &sealed, "first instance")
        .await
        .map_err(read)?;
    let stored = db::settings::get(db, KEY_CHECK).await.map_err(read)?;
    match stored {
        Some(row) if secrets.open(KEY_CHECK_PURPOSE, &row.value).is_ok() => Ok(()),
        _ => Err(
            "this instance's secret key is not the one the other instances on this \
                  database use (their Letta password could not be decrypted, nor this one's \
                  by them): give every instance the same LETTA_ADMIN_SECRET_KEY or \
                  LETTA_ADMIN_SECRET_KEY_FILE"
                .into(),
        ),
    }
}

/// The settings as stored (password already decrypted: server memory only, a secret type
/// whose `Debug` is redacted).
#[derive(Clone, Debug, Default)]
pub struct LettaSettings {
    pub base_url: String,
    pub password: Option<SecretString>,
    pub timeout: Duration,
}

/// The outcome of the last background check, for the header badge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Health {
    NotConfigured,
    Connected { version: String },
    WrongPassword,
    Unreachable,
}

#[derive(Clone)]
pub struct LettaHub {
    http: reqwest::Client,
    client: Arc<RwLock<Option<LettaClient>>>,
    health: Arc<RwLock<Option<(Instant, Health)>>>,
    /// Bumped by every reload: a check that started against an older client does not record
    /// its outcome.
    generation: Arc<AtomicU64>,
    /// A background re-check is under way (one at a time).
    rechecking: Arc<AtomicBool>,
    /// The settings as of the last reload (see [`LettaHub::follow_settings`]).
    seen: Arc<std::sync::Mutex<Option<u64>>>,
    /// What the server holds, as last read for the Overview (with the generation it was read
    /// under). A tokio mutex: concurrent readers wait for one read instead of each asking.
    snapshot: Arc<tokio::sync::Mutex<Option<(Instant, u64, ServerSnapshot)>>>,
}

/// The Letta server at a glance: its version, how long the health check took, and how many
/// agents, identities and blocks it holds, read at `read_at` (UTC ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSnapshot {
    pub host: String,
    pub version: String,
    pub latency_ms: u64,
    pub agents: u64,
    pub identities: u64,
    pub blocks: u64,
    pub read_at: i64,
}

impl LettaHub {
    /// Copies the environment's first-run defaults into the database (once: a value that was
    /// ever set, even cleared, is not overwritten), then connects from the database.
    pub async fn start(
        db: &db::Db,
        secrets: &SecretBox,
        config: &Config,
    ) -> Result<LettaHub, AppError> {
        if let Some(url) = &config.letta_base_url {
            if db::settings::put_if_absent(db, KEY_BASE_URL, url, "environment").await? {
                tracing::info!(url, "Letta URL taken from LETTA_BASE_URL (first run)");
            }
        }
        if let Some(pw) = &config.letta_password {
            let sealed = secrets
                .seal(PASSWORD_PURPOSE, pw.expose_secret())
                .map_err(internal)?;
            if db::settings::put_if_absent(db, KEY_PASSWORD, &sealed, "environment").await? {
                tracing::info!("Letta password taken from LETTA_SERVER_PASSWORD (first run)");
            }
        }
        let hub = LettaHub {
            http: http_client(),
            client: Arc::new(RwLock::new(None)),
            health: Arc::new(RwLock::new(None)),
            generation: Arc::new(AtomicU64::new(0)),
            rechecking: Arc::new(AtomicBool::new(false)),
            seen: Default::default(),
            snapshot: Default::default(),
        };
        hub.reload(db, secrets).await?;
        Ok(hub)
    }

    /// The shared pooled HTTP client (also for testing unsaved settings).
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// Follows settings saved through other dashboard instances on the same database: every
    /// `every`, the settings rows are compared with what this instance last loaded, and the
    /// client is rebuilt when they differ (so no instance keeps using an old URL or password,
    /// and its connection badge follows).
    pub fn follow_settings(&self, db: db::Db, secrets: SecretBox, every: Duration) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Ok(now) = settings_fingerprint(&db).await else {
                    continue;
                };
                let seen = *hub.seen.lock().unwrap_or_else(|e| e.into_inner());
                if seen != Some(now) {
                    if let Err(e) = hub.reload(&db, &secrets).await {
                        tracing::error!(error = %e, "reloading the Letta settings");
                    }
                }
            }
        });
    }

    /// Rebuilds the live client from the database; every later request uses it.
    pub async fn reload(&self, db: &db::Db, secrets: &SecretBox) -> Result<(), AppError> {
        let stamp = settings_fingerprint(db).await.ok();
        let settings = load(db, secrets).await?;
        let client = Connection::parse(&settings.base_url, settings.password, settings.timeout)
            .ok()
            .map(|conn| LettaClient::new(self.http.clone(), conn));
        *self.client.write().map_err(internal)? = client;
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.health.write().map_err(internal)? = None;
        *self.seen.lock().map_err(internal)? = stamp;
        Ok(())
    }

    /// The client for a request, or a message that tells an operator what to do.
    pub fn client(&self) -> Result<LettaClient, AppError> {
        self.client
            .read()
            .map_err(internal)?
            .clone()
            .ok_or_else(|| AppError::Upstream("The Letta server is not configured yet: an operator can set it on the Settings page.".into()))
    }

    /// The connection's health for the header badge, which every page shows. Only the first
    /// check (and the first after a settings change) is waited for. After that a result older
    /// than `max_age` is still answered at once while one background task checks again, so a
    /// page render never waits on a slow or unreachable Letta.
    pub async fn health(&self, max_age: Duration) -> Health {
        let cached = self.health.read().ok().and_then(|g| g.clone());
        match cached {
            Some((at, h)) if at.elapsed() < max_age => h,
            Some((_, h)) => {
                if !self.rechecking.swap(true, Ordering::SeqCst) {
                    let hub = self.clone();
                    tokio::spawn(async move {
                        hub.check().await;
                        hub.rechecking.store(false, Ordering::SeqCst);
                    });
                }
                h
            }
            None => self.check().await,
        }
    }

    /// The server's version and counts, read at most once per `max_age` (and again after a
    /// settings change). A failed read is not kept: the next caller asks again.
    pub async fn snapshot(&self, max_age: Duration) -> Result<ServerSnapshot, AppError> {
        let mut cached = self.snapshot.lock().await;
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some((at, g, snap)) = cached.as_ref() {
            if *g == generation && at.elapsed() < max_age {
                return Ok(snap.clone());
            }
        }
        let client = self.client()?;
        let started = Instant::now();
        let health = client.health().await.map_err(upstream)?;
        let latency_ms = started.elapsed().as_millis() as u64;
        let (agents_api, identities_api, blocks_api) =
            (client.agents(), client.identities(), client.blocks());
        let all = Default::default();
        let (agents, identities, blocks) = tokio::try_join!(
            agents_api.count(&all),
            identities_api.count(),
            blocks_api.count(None),
        )
        .map_err(upstream)?;
        let snap = ServerSnapshot {
            host: client
                .connection()
                .base_url
                .host_str()
                .unwrap_or_default()
                .to_string(),
            version: health.version,
            latency_ms,
            agents,
            identities,
            blocks,
            read_at: db::now_ms(),
        };
        *cached = Some((Instant::now(), generation, snap.clone()));
        Ok(snap)
    }

    /// Asks Letta now and records the outcome, unless the settings changed meanwhile.
    async fn check(&self) -> Health {
        let generation = self.generation.load(Ordering::SeqCst);
        let client = self.client.read().ok().and_then(|c| c.clone());
        let health = match client {
            None => Health::NotConfigured,
            Some(c) => match c.health().await {
                Err(_) => Health::Unreachable,
                Ok(h) => match c.check_auth().await {
                    Ok(()) => Health::Connected { version: h.version },
                    Err(LettaError::Unauthorized { .. }) => Health::WrongPassword,
                    Err(_) => Health::Unreachable,
                },
            },
        };
        if let Ok(mut guard) = self.health.write() {
            if self.generation.load(Ordering::SeqCst) == generation {
                *guard = Some((Instant::now(), health.clone()));
            }
        }
        health
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "Letta settings");
    AppError::Internal
}

pub async fn load(db: &db::Db, secrets: &SecretBox) -> Result<LettaSettings, AppError> {
    let base_url = db::settings::get(db, KEY_BASE_URL)
        .await?
        .map(|r| r.value)
        .unwrap_or_default();
    let password = match db::settings::get(db, KEY_PASSWORD).await? {
        Some(r) if !r.value.is_empty() => Some(SecretString::from(
            secrets.open(PASSWORD_PURPOSE, &r.value).map_err(internal)?,
        )),
        _ => None,
    };
    let timeout = db::settings::get(db, KEY_TIMEOUT)
        .await?
        .and_then(|r| r.value.parse::<u64>().ok())
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    Ok(LettaSettings {
        base_url,
        password,
        timeout: Duration::from_secs(timeout),
    })
}

/// A hash of every settings row (key, value, time of change).
async fn settings_fingerprint(db: &db::Db) -> Result<u64, sqlx::Error> {
    use std::hash::{Hash, Hasher};
    let rows = db::settings::fingerprint(db).await?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rows.hash(&mut h);
    Ok(h.finish())
}

/// Maps a Letta failure to what a browser may see, logging the detail (the raw body) here,
/// on the server. The one place this translation happens.
pub fn upstream(e: LettaError) -> AppError {
    // The error's own text is ours and safe at WARN; the server's body (raw SQL, persona
    // values, the input it rejected) only at debug.
    tracing::warn!(error = %e, "Letta call failed");
    if let Some(detail) = e.log_detail() {
        tracing::debug!(error = %e, detail, "Letta call failed: the server's answer");
    }
    match e {
        LettaError::NotConfigured | LettaError::InvalidBaseUrl => AppError::Upstream(
            "The Letta server is not configured yet: an operator can set it on the Settings page.".into(),
        ),
        LettaError::Transport { .. } => AppError::Upstream("The Letta server is unreachable right now.".into()),
        LettaError::Timeout => AppError::Upstream("The Letta server did not answer in time.".into()),
        LettaError::Tls { .. } => AppError::Upstream("The secure connection to the Letta server failed.".into()),
        LettaError::Unauthorized { .. } => AppError::Upstream(
            "The Letta server refused the dashboard's password: an operator can fix it on the Settings page.".into(),
        ),
        LettaError::NotFound { .. } => AppError::NotFound("That no longer exists on the Letta server.".into()),
        LettaError::Conflict { .. } => AppError::Conflict("The Letta server refused: it conflicts with existing data.".into()),
        LettaError::Validation { message, .. } => AppError::Validation {
            field: None,
            message: format!("The Letta server rejected the input: {message}"),
        },
        LettaError::Server { status, .. } => AppError::Upstream(format!("The Letta server failed (HTTP {status}). Try again.")),
        LettaError::Status { status, .. } => AppError::Upstream(format!("The Letta server answered HTTP {status}.")),
        LettaError::Decode { .. } => {
            AppError::Upstream("The Letta server sent an answer the dashboard does not understand.".into())
        }
    }
}

impl From<LettaError> for AppError {
    fn from(e: LettaError) -> Self {
        upstream(e)
    }
}

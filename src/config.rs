//! Typed settings from the environment, read once at start.
//!
//! `LETTA_BASE_URL` / `LETTA_SERVER_PASSWORD` are only first-run defaults: they are copied into
//! the database once, and the settings page owns them after that.

use std::{path::PathBuf, time::Duration};

use secrecy::SecretString;

pub const DEFAULT_PERSONA_LIMIT: i64 = 5000;
/// Running plus waiting chat turns per user: a few tabs or background runs, not a queue that
/// keeps everyone else waiting.
pub const DEFAULT_CHAT_TURNS_PER_USER: usize = 3;
/// How many days the turn ledger keeps an entry, unless `LETTA_ADMIN_LEDGER_DAYS` says otherwise.
pub const DEFAULT_LEDGER_DAYS: u32 = 90;

#[derive(Clone)]
pub struct Config {
    /// Where the SQLite file and the secret key file live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` URL of the dashboard's database. May hold a password:
    /// only ever shown through [`crate::db::redact_url`].
    pub database_url: String,
    /// Connections in the Postgres pool (unused on SQLite).
    pub db_max_connections: u32,
    /// 32-byte key (hex) for encrypting secrets at rest; if absent a key file is used.
    pub secret_key_hex: Option<SecretString>,
    /// A key file outside the data directory (`LETTA_ADMIN_SECRET_KEY_FILE`, e.g. a mounted
    /// secret every replica shares): read, never created.
    pub secret_key_file: Option<PathBuf>,
    pub letta_base_url: Option<String>,
    pub letta_password: Option<SecretString>,
    /// Set the `Secure` flag on the session cookie (serve over https).
    pub cookie_secure: bool,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    /// The character limit new persona blocks get unless the form says otherwise.
    pub persona_limit: i64,
    /// How long a chat turn waits for another conversation on the same agent.
    pub chat_wait: Duration,
    /// The longest a chat turn may take (the stream, or a background run) before it is stopped.
    pub chat_turn_max: Duration,
    /// How often the sweeper retries blocks left in the chat journal.
    pub chat_sweep_every: Duration,
    /// The most chat turns one user may have running or waiting at once.
    pub chat_turns_per_user: usize,
    /// How long the turn ledger keeps an entry.
    pub ledger_days: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<crate::proxy::Cidr>,
    /// An instance (a dashboard process) whose heartbeat is older than this is dead: its chat
    /// turns lose their agents and its attached blocks are swept by the others.
    pub instance_expiry: Duration,
    /// The bearer token `/metrics` asks for; without one `/metrics` is off (404).
    pub metrics_token: Option<SecretString>,
    /// Threads that serve requests, each with a runtime of its own (see `crate::serve`).
    pub workers: usize,
}

impl std::fmt::Debug for Config {
    // Hand-written so no secret can reach a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &crate::db::redact_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("secret_key", &self.secret_key_hex.as_ref().map(|_| "set"))
            .field("secret_key_file", &self.secret_key_file)
            .field("letta_base_url", &self.letta_base_url)
            .field(
                "letta_password",
                &self.letta_password.as_ref().map(|_| "set"),
            )
            .field("cookie_secure", &self.cookie_secure)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "set"))
            .field("workers", &self.workers)
            .finish()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn seconds(name: &str, default: u64) -> Result<Duration, String> {
    match var(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{name} must be a positive number of seconds, got {v:?}")),
    }
}

fn minutes(name: &str, default: u64) -> Result<Duration, String> {
    match var(name) {
        None => Ok(Duration::from_secs(default * 60)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|m| *m > 0)
            .map(|m| Duration::from_secs(m * 60))
            .ok_or_else(|| format!("{name} must be a positive number of minutes, got {v:?}")),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let data_dir = PathBuf::from(var("LETTA_ADMIN_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("letta-admin.db").display()));
        let cookie_secure = match var("LETTA_ADMIN_COOKIE_SECURE").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(v) => {
                return Err(format!(
                    "LETTA_ADMIN_COOKIE_SECURE must be true or false, got {v:?}"
                ))
            }
        };
        let secret_key_hex = var("LETTA_ADMIN_SECRET_KEY");
        let secret_key_file = var("LETTA_ADMIN_SECRET_KEY_FILE").map(PathBuf::from);
        if secret_key_hex.is_some() && secret_key_file.is_some() {
            return Err(
                "set LETTA_ADMIN_SECRET_KEY or LETTA_ADMIN_SECRET_KEY_FILE, not both".into(),
            );
        }
        Ok(Config {
            data_dir,
            database_url,
            db_max_connections: match var("LETTA_ADMIN_DB_MAX_CONNECTIONS") {
                None => crate::db::DEFAULT_PG_CONNECTIONS,
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (2..=200).contains(n))
                    .ok_or_else(|| {
                        format!("LETTA_ADMIN_DB_MAX_CONNECTIONS must be 2 to 200, got {v:?}")
                    })?,
            },
            secret_key_hex: secret_key_hex.map(SecretString::from),
            secret_key_file,
            letta_base_url: var("LETTA_BASE_URL"),
            letta_password: var("LETTA_SERVER_PASSWORD").map(SecretString::from),
            cookie_secure,
            session_idle: minutes("LETTA_ADMIN_SESSION_IDLE_MINUTES", 60)?,
            session_absolute: minutes("LETTA_ADMIN_SESSION_MAX_MINUTES", 12 * 60)?,
            persona_limit: match var("LETTA_ADMIN_PERSONA_LIMIT") {
                None => DEFAULT_PERSONA_LIMIT,
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (100..=1_000_000).contains(n))
                    .ok_or_else(|| {
                        format!("LETTA_ADMIN_PERSONA_LIMIT must be 100 to 1000000, got {v:?}")
                    })?,
            },
            chat_wait: seconds("LETTA_ADMIN_CHAT_WAIT_SECONDS", 60)?,
            chat_turn_max: seconds("LETTA_ADMIN_CHAT_TURN_MAX_SECONDS", 600)?,
            chat_sweep_every: seconds("LETTA_ADMIN_CHAT_SWEEP_SECONDS", 30)?,
            chat_turns_per_user: match var("LETTA_ADMIN_CHAT_TURNS_PER_USER") {
                None => DEFAULT_CHAT_TURNS_PER_USER,
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        format!("LETTA_ADMIN_CHAT_TURNS_PER_USER must be 1 to 100, got {v:?}")
                    })?,
            },
            ledger_days: match var("LETTA_ADMIN_LEDGER_DAYS") {
                None => DEFAULT_LEDGER_DAYS,
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=3650).contains(n))
                    .ok_or_else(|| {
                        format!("LETTA_ADMIN_LEDGER_DAYS must be 1 to 3650, got {v:?}")
                    })?,
            },
            instance_expiry: seconds("LETTA_ADMIN_INSTANCE_EXPIRY_SECONDS", 10)?,
            metrics_token: match var("LETTA_ADMIN_METRICS_TOKEN") {
                Some(t) if t.trim().len() < 16 => {
                    return Err("LETTA_ADMIN_METRICS_TOKEN must be at least 16 characters".into())
                }
                t => t.map(|t| SecretString::from(t.trim().to_string())),
            },
            trusted_proxies: match var("LETTA_ADMIN_TRUSTED_PROXIES") {
                None => vec![],
                Some(v) => crate::proxy::Cidr::parse_list(&v)
                    .map_err(|e| format!("LETTA_ADMIN_TRUSTED_PROXIES: {e}"))?,
            },
            workers: workers_from_env()?,
        })
    }

    /// A configuration for tests: everything inside `dir`.
    pub fn for_dir(dir: &std::path::Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            database_url: format!("sqlite://{}", dir.join("letta-admin.db").display()),
            db_max_connections: crate::db::DEFAULT_PG_CONNECTIONS,
            secret_key_hex: None,
            secret_key_file: None,
            letta_base_url: None,
            letta_password: None,
            cookie_secure: false,
            session_idle: Duration::from_secs(3600),
            session_absolute: Duration::from_secs(12 * 3600),
            persona_limit: DEFAULT_PERSONA_LIMIT,
            chat_wait: Duration::from_secs(60),
            chat_turn_max: Duration::from_secs(600),
            chat_sweep_every: Duration::from_secs(30),
            chat_turns_per_user: DEFAULT_CHAT_TURNS_PER_USER,
            ledger_days: DEFAULT_LEDGER_DAYS,
            trusted_proxies: vec![],
            instance_expiry: Duration::from_secs(10),
            metrics_token: None,
            // Tests follow LETTA_ADMIN_WORKERS too (scripts/test.sh sets 2), else one runtime.
            workers: match var("LETTA_ADMIN_WORKERS") {
                Some(_) => workers_from_env().unwrap_or(1),
                None => 1,
            },
        }
    }
}

/// `LETTA_ADMIN_WORKERS`: 1 to 64, default the cores this process may use.
fn workers_from_env() -> Result<usize, String> {
    match var("LETTA_ADMIN_WORKERS") {
        None => Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(64)),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| format!("LETTA_ADMIN_WORKERS must be 1 to 64, got {v:?}")),
    }
}

//! This process as one instance among the dashboards sharing a database.
//!
//! Every process registers itself (`instances`: id, host, pid, started, heartbeat) and renews
//! its heartbeat every fifth of the expiry. An instance whose heartbeat is older than the
//! expiry is dead: its chat tickets are void (another instance's turn may take the agent) and
//! the sweeper of any live instance detaches the persona blocks its journal rows name. A
//! process that finds its own heartbeat expired (it was paused, or its clock jumped) never
//! acts under that id again: it registers a new one, so whatever the old id still held stays
//! void. A restarted process is a new instance.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::db;

#[derive(Clone)]
pub struct Instance(Arc<Inner>);

struct Inner {
    id: RwLock<String>,
    expiry: Duration,
    db: db::Db,
    /// No other live instance at the last heartbeat: caches of what Letta holds can only have
    /// been changed through this process.
    alone: AtomicBool,
    /// Stopped cleanly: no more heartbeats (and no new id).
    stopped: AtomicBool,
    /// The database server's clock minus this machine's, in ms (0 on SQLite): instances on
    /// several machines judge heartbeats and tickets by one clock. Measured at every
    /// heartbeat.
    clock_offset_ms: AtomicI64,
}

fn new_id() -> String {
    let mut buf = [0u8; 8];
    if getrandom::fill(&mut buf).is_err() {
        buf = (db::now_ms() as u64 ^ ((std::process::id() as u64) << 32)).to_le_bytes();
    }
    format!("inst-{}", hex::encode(buf))
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

impl Instance {
    /// Registers this process and starts its heartbeat.
    pub async fn start(db: &db::Db, expiry: Duration) -> Result<Instance, sqlx::Error> {
        let id = new_id();
        let offset = clock_offset(db).await?;
        db::instances::register(db, &id, &host(), std::process::id(), db::now_ms() + offset)
            .await?;
        let instance = Instance(Arc::new(Inner {
            id: RwLock::new(id),
            expiry,
            db: db.clone(),
            alone: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            clock_offset_ms: AtomicI64::new(offset),
        }));
        instance.refresh_alone().await;
        let beat = instance.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(beat.heartbeat_every());
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if beat.0.stopped.load(Ordering::SeqCst) {
                    return;
                }
                beat.heartbeat().await;
            }
        });
        Ok(instance)
    }

    pub fn id(&self) -> String {
        self.0.id.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Now, in UTC ms by the clock every instance on the database shares (the database
    /// server's on Postgres, see [`clock_offset`]): for heartbeats, tickets and liveness.
    pub fn now_ms(&self) -> i64 {
        db::now_ms() + self.0.clock_offset_ms.load(Ordering::Relaxed)
    }

    pub fn expiry(&self) -> Duration {
        self.0.expiry
    }

    pub fn expiry_ms(&self) -> i64 {
        self.0.expiry.as_millis() as i64
    }

    fn heartbeat_every(&self) -> Duration {
        (self.0.expiry / 5).max(Duration::from_millis(100))
    }

    /// Whether no other instance was alive at the last heartbeat.
    pub fn alone(&self) -> bool {
        self.0.alone.load(Ordering::Relaxed)
    }

    async fn refresh_alone(&self) {
        let now = self.now_ms();
        if let Ok(all) = db::instances::all(&self.0.db).await {
            let me = self.id();
            let others = all
                .iter()
                .filter(|i| i.id != me && i.heartbeat_at >= now - self.expiry_ms())
                .count();
            self.0.alone.store(others == 0, Ordering::Relaxed);
        }
    }

    async fn heartbeat(&self) {
        let id = self.id();
        match clock_offset(&self.0.db).await {
            Ok(offset) => self.0.clock_offset_ms.store(offset, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "reading the database server's clock"),
        }
        match db::instances::heartbeat(&self.0.db, &id, self.now_ms(), self.expiry_ms()).await {
            Ok(true) => {}
            // Stopped while this heartbeat ran: the row is gone on purpose.
            Ok(false) if self.0.stopped.load(Ordering::SeqCst) => return,
            Ok(false) => {
                // Paused past the expiry: others may have taken this instance's agents and
                // swept its blocks. Whatever still runs under the old id is fenced off (its
                // tickets are void); new work goes on as a new instance.
                let fresh = new_id();
                tracing::error!(
                    old = id,
                    new = fresh,
                    "this instance's heartbeat expired (was the process paused?): its chat turns are void; continuing as a new instance"
                );
                match db::instances::register(
                    &self.0.db,
                    &fresh,
                    &host(),
                    std::process::id(),
                    self.now_ms(),
                )
                .await
                {
                    Ok(()) => *self.0.id.write().unwrap_or_else(|e| e.into_inner()) = fresh,
                    Err(e) => tracing::error!(error = %e, "could not register a new instance"),
                }
            }
            Err(e) => tracing::error!(error = %e, "instance heartbeat"),
        }
        self.refresh_alone().await;
    }

    /// Whether the instance `id` is alive.
    pub async fn is_alive(&self, id: &str) -> Result<bool, sqlx::Error> {
        db::instances::is_alive(&self.0.db, id, self.now_ms(), self.expiry_ms()).await
    }

    /// A clean stop: the instance ends at once (no one waits for its expiry).
    pub async fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        if let Err(e) = db::instances::deregister(&self.0.db, &self.id()).await {
            tracing::error!(error = %e, "could not deregister this instance");
        }
    }
}

/// The database server's clock minus this machine's, in ms: 0 on SQLite (one machine). The
/// server's reading is taken as of the middle of the round trip.
async fn clock_offset(db: &db::Db) -> Result<i64, sqlx::Error> {
    let before = db::now_ms();
    let server = db::instances::server_clock_ms(db).await?;
    let after = db::now_ms();
    Ok(server.map_or(0, |s| s - (before + after) / 2))
}

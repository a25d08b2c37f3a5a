//! The session store on either backend: tower-sessions-sqlx-store's SQLite or Postgres store
//! (table `tower_sessions` on SQLite, `tower_sessions.session` on Postgres). Sessions live in
//! the database, so any instance behind a load balancer can answer any request.

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion, SessionStore},
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::Db;

#[derive(Clone, Debug)]
pub enum Sessions {
    /// The store, and its pool for [`Sessions::load`]'s read on the serving thread.
    Sqlite(SqliteStore, sqlx::SqlitePool),
    Postgres(PostgresStore),
}

impl Sessions {
    /// The store for `db`, its table created if missing.
    pub async fn open(db: &Db) -> Result<Sessions, sqlx::Error> {
        match db {
            Db::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Ok(Sessions::Sqlite(store, pool.clone()))
            }
            Db::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                // The store's own migration is not safe against a replica running it at the
                // same moment (on a duplicate schema it returns before the table exists): one
                // instance at a time, under a session advisory lock on a connection of its own.
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1, 0)")
                    .bind(super::lock_ns::SESSION_SCHEMA)
                    .execute(&mut *conn)
                    .await?;
                let migrated = store.migrate().await;
                let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, 0)")
                    .bind(super::lock_ns::SESSION_SCHEMA)
                    .execute(&mut *conn)
                    .await;
                migrated?;
                unlocked?;
                Ok(Sessions::Postgres(store))
            }
        }
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s, _) => s.create(record).await,
            Sessions::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s, _) => s.save(record).await,
            Sessions::Postgres(s) => s.save(record).await,
        }
    }

    /// Every request with a session cookie loads it: on SQLite on the serving thread
    /// (`super::reader`), the same row the store reads, expired when its record says so (the
    /// store writes the record's expiry into its `expiry_date` column beside it).
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(s, pool) => {
                let data = super::reader::query_optional(
                    pool,
                    "SELECT data FROM tower_sessions WHERE id = $1",
                    &[&id.to_string()],
                    |r| r.get::<_, Vec<u8>>(0),
                );
                match data.map(|d| d.map(|d| rmp_serde::from_slice::<Record>(&d))) {
                    Some(None) => Ok(None),
                    Some(Some(Ok(record))) => Ok((record.expiry_date
                        > time::OffsetDateTime::now_utc())
                    .then_some(record)),
                    // Not readable here or not decodable: the store says why.
                    Some(Some(Err(_))) | None => s.load(id).await,
                }
            }
            Sessions::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s, _) => s.delete(id).await,
            Sessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s, _) => s.delete_expired().await,
            Sessions::Postgres(s) => s.delete_expired().await,
        }
    }
}

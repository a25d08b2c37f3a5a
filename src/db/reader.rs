//! [ssr] The reads behind every page view, on SQLite, answered on the thread that serves the
//! request.
//!
//! sqlx-sqlite runs each statement on the thread of its connection: the statement goes there
//! and its rows come back, two thread hand-offs per statement. With one serving runtime the
//! second core absorbs them; with one runtime per core (src/serve.rs) that thread has to
//! preempt a serving thread for every statement, and a persons page cost about 45% more CPU on
//! two runtimes than on one (scripts/wrk-bench.sh: the same requests per second from 1.3 and
//! 1.9 cores). The second core bought nothing.
//!
//! So the few statements every page view makes (the session, its user, the persons list's
//! state and page) run here instead: synchronously, on a read-only connection of the calling
//! thread's own, opened on first use (one per thread and database file; a serving thread's
//! lives as long as the thread). In WAL mode a reader never waits for a writer and sees every
//! committed write; these statements are index lookups and short range scans that take tens of
//! microseconds, less than the two hand-offs they replace, and on a current-thread runtime a
//! read this short holds up nothing a render of the same page would not. The statements are
//! the same text the pool runs (Postgres-style `$1` parameters, bound by number).
//!
//! Anything unusual (an in-memory database, a failed open or statement) answers `None`, and
//! the caller runs the same statement through the pool, which reports what is wrong. Writes
//! and everything else always go through the pool.

use std::{
    cell::RefCell,
    collections::{hash_map::Entry, HashMap},
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, Row, ToSql};
use sqlx::SqlitePool;

thread_local! {
    static READERS: RefCell<HashMap<PathBuf, Connection>> = RefCell::new(HashMap::new());
}

/// The rows of `sql` with `args` (`$1` is `args[0]`), each made by `row`, read on this thread
/// from the file behind `pool`; `None` if that cannot be done here (see the module docs).
pub fn query<T>(
    pool: &SqlitePool,
    sql: &str,
    args: &[&dyn ToSql],
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Option<Vec<T>> {
    let options = pool.connect_options();
    let path = options.get_filename();
    // sqlx names an in-memory database `file:sqlx-in-memory-<n>` (shared cache): not a file.
    let in_memory = path
        .to_str()
        .is_some_and(|p| p.is_empty() || p == ":memory:" || p.starts_with("file:"));
    if in_memory {
        return None;
    }
    let result = READERS.with(|readers| {
        // Never nested (nothing here calls back out); if it were, the pool answers.
        let mut readers = readers.try_borrow_mut().ok()?;
        let conn = match readers.entry(path.to_path_buf()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => match open(path) {
                Ok(c) => v.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, database = %path.display(), "cannot open a reader on the database; reading through the pool");
                    return None;
                }
            },
        };
        Some(run(conn, sql, args, row))
    })?;
    match result {
        Ok(rows) => Some(rows),
        Err(e) => {
            tracing::warn!(error = %e, database = %path.display(), "a read on the serving thread failed; reading through the pool");
            None
        }
    }
}

/// The first row, if any (see [`query`]).
pub fn query_optional<T>(
    pool: &SqlitePool,
    sql: &str,
    args: &[&dyn ToSql],
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Option<Option<T>> {
    query(pool, sql, args, row).map(|rows| rows.into_iter().next())
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(1))?;
    // As the pool's connections (src/db/mod.rs): 1 MiB of page cache.
    conn.pragma_update(None, "cache_size", -1024)?;
    Ok(conn)
}

fn run<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for i in 1..=stmt.parameter_count() {
        // `$4` is the fourth argument wherever it stands in the text (SQLite numbers named
        // parameters in the order they first appear).
        let name = stmt.parameter_name(i).unwrap_or_default().to_string();
        let arg = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n))
            .ok_or(rusqlite::Error::InvalidParameterName(name))?;
        stmt.raw_bind_parameter(i, arg)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool(dir: &Path) -> SqlitePool {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("t.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn reads_what_the_pool_committed_with_parameters_bound_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        sqlx::query("CREATE TABLE t (a INTEGER, b TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        for (a, b) in [(1, "x"), (2, "y"), (3, "z")] {
            sqlx::query("INSERT INTO t VALUES ($1, $2)")
                .bind(a)
                .bind(b)
                .execute(&pool)
                .await
                .unwrap();
        }
        // $2 stands before $1 in the text.
        let sql = "SELECT a, b FROM t WHERE b <> $2 AND a >= $1 ORDER BY a";
        let rows = query(&pool, sql, &[&2, &"z"], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        });
        assert_eq!(rows, Some(vec![(2, "y".to_string())]));
        // A later write shows at the next read (a new read transaction per statement).
        sqlx::query("INSERT INTO t VALUES (4, 'w')")
            .execute(&pool)
            .await
            .unwrap();
        let rows = query(&pool, sql, &[&2, &"z"], |r| r.get::<_, i64>(0));
        assert_eq!(rows, Some(vec![2, 4]));
    }

    #[tokio::test]
    async fn what_it_cannot_read_goes_back_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        // No such table; a parameter without an argument.
        assert!(query(&pool, "SELECT a FROM missing", &[], |r| r.get::<_, i64>(0)).is_none());
        assert!(query(&pool, "SELECT $3", &[&1], |r| r.get::<_, i64>(0)).is_none());
        let memory = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        assert!(query(&memory, "SELECT 1", &[], |r| r.get::<_, i64>(0)).is_none());
    }
}

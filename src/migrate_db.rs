//! `letta-admin migrate-db --to postgres://… [--replace]`: moves the configured SQLite database
//! to Postgres, losing nothing the dashboard owns.
//!
//! 1. The source is the configured SQLite file. It is refused while a dashboard instance
//!    registered in it is alive, and then held with `BEGIN IMMEDIATE` for the whole copy: a
//!    dashboard starting meanwhile cannot write to it (it waits, then fails to start), and
//!    every table is read from one snapshot. The file is never changed.
//! 2. The chat journal must be empty: a journal row is a block still attached to an agent, and
//!    only the dashboard that journaled it (or its sweeper) may detach it.
//! 3. The target gets its schema from the Postgres migrations. A target that already holds
//!    dashboard data is refused unless `--replace` (then its rows go, sessions included, in
//!    the same transaction as the copy; never while a dashboard uses it).
//! 4. Every table is copied in ONE transaction on the target, column by column by the
//!    target's column types; the identity sequences are moved past the copied ids (and past
//!    SQLite's AUTOINCREMENT high-water marks, so a fencing token is never handed out twice).
//! 5. Row counts per table, source and target, are printed; any difference rolls the whole
//!    copy back. Sessions are not copied: everyone signs in again.
//!
//! The secret key stays the same: the Letta password moves still encrypted.
//!
//! The SQL here works on tables as tables (a copy), not on the dashboard's data, so like
//! `backup` it lives beside the commands rather than in `db/`.

use futures::TryStreamExt;
use sqlx::{
    sqlite::SqliteRow, Column as _, Connection as _, PgConnection, Postgres, QueryBuilder,
    Row as _, SqliteConnection, ValueRef as _,
};

use crate::{backup, config::Config, db, startup::BoxError};

/// Every table the dashboard's migrations create, in an order that satisfies the foreign keys.
/// A table missing from here and from [`NOT_COPIED`] stops the command: a new table must be
/// placed in one of the two lists, never forgotten.
const COPIED: [&str; 15] = [
    "users",
    "settings",
    "audit_log",
    "login_attempts",
    "persons",
    "block_history",
    "saga_steps",
    "chat_runs",
    "chat_turns",
    "persons_verify",
    "generations",
    "scenarios",
    "scenario_runs",
    "scenario_run_steps",
    // Last: the persons trigger on the target counted the copied rows already; the copy
    // replaces that with the source's own row.
    "person_count",
];

/// Tables left behind, and why.
const NOT_COPIED: [(&str, &str); 5] = [
    (
        "chat_attachments",
        "the chat journal: must be empty (checked above)",
    ),
    (
        "instances",
        "the processes that used the SQLite file: none is running",
    ),
    (
        "agent_tickets",
        "queue places of processes that are gone (their id sequence is carried over)",
    ),
    ("tower_sessions", "sessions: everyone signs in again"),
    ("_sqlx_migrations", "the target has its own migrations"),
];

/// Rows per INSERT: well under Postgres's 65,535 bind parameters for the widest table.
const BATCH_ROWS: usize = 500;

/// `letta-admin migrate-db --to URL [--replace]`.
pub async fn run(config: &Config, target_url: &str, replace: bool) -> Result<(), BoxError> {
    if db::is_postgres(&config.database_url) {
        return Err(format!(
            "DATABASE_URL already names a Postgres database ({}): migrate-db copies the SQLite \
             database a dashboard uses to Postgres",
            db::redact_url(&config.database_url)
        )
        .into());
    }
    if !db::is_postgres(target_url) {
        return Err("--to takes a Postgres URL (postgres://user:password@host/database)".into());
    }
    let shown_target = db::redact_url(target_url);
    let source_path = backup::database_file(config)?;
    if !source_path.is_file() {
        return Err(format!(
            "there is no database at {} (check LETTA_ADMIN_DATA_DIR and DATABASE_URL)",
            source_path.display()
        )
        .into());
    }
    backup::refuse_if_live(config, &source_path).await?;
    let key = backup::current_key(config)?;

    // The source at this binary's schema: what a start would do (nothing runs on it now).
    let source_db = db::connect(&config.database_url).await?;
    let db::Db::Sqlite(pool) = &source_db else {
        unreachable!("a SQLite URL opens a SQLite database")
    };
    let opens = backup::password_opens(pool, key.secrets()).await?;
    if opens == Some(false) {
        return Err(
            "the secret key does not decrypt the Letta password stored in the SQLite \
             database: a dashboard on Postgres could not use it either. Configure the key \
             this database was written with (LETTA_ADMIN_SECRET_KEY, LETTA_ADMIN_SECRET_KEY_FILE \
             or the data directory's secret.key) and migrate again"
                .into(),
        );
    }
    let mut source = pool.acquire().await?.detach();
    source_db.close().await;
    // Held to the end: no dashboard writes to the file while it is copied.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut source)
        .await
        .map_err(|e| format!("cannot lock {}: {e}", source_path.display()))?;
    let result = copy(config, &mut source, target_url, &shown_target, replace).await;
    let _ = sqlx::query("ROLLBACK").execute(&mut source).await;
    let _ = source.close().await;
    let counts = result?;

    println!("Migrated {} to {shown_target}.", source_path.display());
    println!("  {:<18} {:>9} {:>9}", "table", "SQLite", "Postgres");
    for (table, here, there) in &counts {
        println!("  {table:<18} {here:>9} {there:>9}");
    }
    println!("  Sessions were not copied: everyone signs in again.");
    match (&key, opens) {
        (_, None) => println!("No Letta password is stored: no key is needed for it."),
        (backup::Key::File { path, .. }, Some(_)) => println!(
            "The secret key stays the same: the Letta password moved still encrypted with {}. \
             Every dashboard on Postgres needs that key: keep it in the data directory, or \
             point LETTA_ADMIN_SECRET_KEY_FILE at a copy of it (replicas).",
            path.display()
        ),
        (_, Some(_)) => println!(
            "The secret key stays the same: the Letta password moved still encrypted with the \
             key configured now (LETTA_ADMIN_SECRET_KEY or LETTA_ADMIN_SECRET_KEY_FILE). Every \
             dashboard on Postgres needs that same key."
        ),
    }
    println!(
        "Next: start the dashboard with DATABASE_URL set to the Postgres URL. The SQLite file \
         was not changed; keep it (and a backup) until the move has proved itself."
    );
    Ok(())
}

/// The copy, inside the source's read lock. Returns each table's row counts, SQLite's and
/// Postgres's (equal, or it failed).
async fn copy(
    config: &Config,
    source: &mut SqliteConnection,
    target_url: &str,
    shown_target: &str,
    replace: bool,
) -> Result<Vec<(&'static str, i64, i64)>, BoxError> {
    // The instances again, under the lock: one that started a moment ago is seen now.
    let expiry_ms = config.instance_expiry.as_millis() as i64;
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE heartbeat_at >= $1")
        .bind(db::now_ms() - expiry_ms)
        .fetch_one(&mut *source)
        .await?;
    if live > 0 {
        return Err(
            "a dashboard started on the SQLite database: stop every dashboard first".into(),
        );
    }
    let journal: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chat_attachments")
        .fetch_one(&mut *source)
        .await?;
    if journal > 0 {
        return Err(format!(
            "the chat journal holds {journal} row(s): a person's block is still attached to an \
             agent (or may be). Start the dashboard on SQLite once: its sweeper detaches them \
             (Chat activity shows them), then stop it and migrate again. Nothing was copied"
        )
        .into());
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut *source)
    .await?;
    if let Some(t) = tables
        .iter()
        .find(|t| !COPIED.contains(&t.as_str()) && !NOT_COPIED.iter().any(|(n, _)| n == t))
    {
        return Err(format!(
            "the SQLite database has a table this version does not know how to move ({t}): \
             migrate with the letta-admin version that wrote it"
        )
        .into());
    }

    // The target at this binary's schema (the migrations hold an advisory lock while they
    // run), then one transaction for all of the rest.
    db::connect_with(target_url, 2).await?.close().await;
    let mut target = PgConnection::connect(target_url)
        .await
        .map_err(|e| format!("cannot connect to {shown_target}: {e}"))?;
    let mut tx = target.begin().await?;
    // Nobody else writes the dashboard's tables while the copy runs.
    let mut lock = String::from("LOCK TABLE ");
    lock.push_str(&COPIED.join(", "));
    lock.push_str(", chat_attachments, instances, agent_tickets IN EXCLUSIVE MODE");
    sqlx::query(&lock).execute(&mut *tx).await?;

    // By the database server's clock, the one its instances beat by (src/instance.rs), not
    // this machine's.
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM instances WHERE heartbeat_at >= \
         CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) - $1",
    )
    .bind(expiry_ms)
    .fetch_one(&mut *tx)
    .await?;
    if live > 0 {
        return Err(format!(
            "a dashboard is running on {shown_target}: stop it first (nothing was copied)"
        )
        .into());
    }
    let mut held = Vec::new();
    for table in ["users", "persons", "audit_log", "settings", "chat_turns"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            held.push(format!("{table} {n}"));
        }
    }
    if !held.is_empty() && !replace {
        return Err(format!(
            "{shown_target} already holds dashboard data ({}): pass --replace to replace it \
             with the SQLite database's (nothing was copied)",
            held.join(", ")
        )
        .into());
    }
    // Whatever is there goes: a replaced target's rows and sessions, and a fresh one's seeds.
    let mut clear = String::from("TRUNCATE ");
    clear.push_str(&COPIED.join(", "));
    clear.push_str(", chat_attachments, instances, agent_tickets");
    sqlx::query(&clear).execute(&mut *tx).await?;
    let sessions: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('tower_sessions.session')::text")
            .fetch_one(&mut *tx)
            .await?;
    if sessions.is_some() {
        sqlx::query("TRUNCATE tower_sessions.session")
            .execute(&mut *tx)
            .await?;
    }

    let mut counts = Vec::new();
    for table in COPIED {
        let copied = copy_table(source, &mut tx, table).await?;
        let there: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        let here: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *source)
            .await?;
        if there != here || copied as i64 != here {
            return Err(format!(
                "{table}: {here} row(s) in SQLite but {there} in Postgres after the copy; the \
                 transaction was rolled back and {shown_target} is as it was"
            )
            .into());
        }
        counts.push((table, here, there));
    }
    carry_sequences(source, &mut tx).await?;
    tx.commit().await?;
    let _ = target.close().await;
    Ok(counts)
}

/// A value on its way, typed by the target's column.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// Copies `table` (columns as the target has them; the source must have every one of them).
async fn copy_table(
    source: &mut SqliteConnection,
    tx: &mut PgConnection,
    table: &'static str,
) -> Result<usize, BoxError> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    let source_columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(&mut *source)
            .await?;
    let missing: Vec<&str> = columns
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| !source_columns.iter().any(|s| s == c))
        .collect();
    let extra: Vec<&str> = source_columns
        .iter()
        .map(String::as_str)
        .filter(|s| !columns.iter().any(|(c, _)| c == s))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(format!(
            "{table}: the SQLite and Postgres schemas differ (only in Postgres: {missing:?}; \
             only in SQLite: {extra:?})"
        )
        .into());
    }
    let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
    // Table and column names come from the schemas, never from input.
    let select = format!("SELECT {} FROM {table} ORDER BY rowid", names.join(", "));
    // Streamed, a batch at a time: a long audit log is never all in memory.
    let mut rows = sqlx::query(&select)
        .fetch(&mut *source)
        .try_chunks(BATCH_ROWS);
    let mut copied = 0;
    while let Some(chunk) = rows.try_next().await.map_err(|e| e.1)? {
        let mut values = Vec::with_capacity(chunk.len());
        for row in &chunk {
            let mut out = Vec::with_capacity(columns.len());
            for (i, (name, kind)) in columns.iter().enumerate() {
                out.push(read(row, i, kind).map_err(|e| format!("{table}.{name}: {e}"))?);
            }
            values.push(out);
        }
        let mut insert: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("INSERT INTO {table} ({}) ", names.join(", ")));
        insert.push_values(values, |mut b, row| {
            for v in row {
                match v {
                    Value::Int(v) => b.push_bind(v),
                    Value::Text(v) => b.push_bind(v),
                    Value::Bool(v) => b.push_bind(v),
                };
            }
        });
        copied += insert.build().execute(&mut *tx).await?.rows_affected() as usize;
    }
    Ok(copied)
}

/// The source's value in column `i`, as the target's type `kind` wants it.
fn read(row: &SqliteRow, i: usize, kind: &str) -> Result<Value, String> {
    let null = row.try_get_raw(i).map_err(|e| e.to_string())?.is_null();
    let get_err = |e: sqlx::Error| format!("{e} (column {})", row.column(i).name());
    Ok(match kind {
        "bigint" | "integer" | "smallint" => Value::Int(if null {
            None
        } else {
            Some(row.try_get::<i64, _>(i).map_err(get_err)?)
        }),
        "text" | "character varying" => Value::Text(if null {
            None
        } else {
            Some(row.try_get::<String, _>(i).map_err(get_err)?)
        }),
        "boolean" => Value::Bool(if null {
            None
        } else {
            Some(row.try_get::<i64, _>(i).map_err(get_err)? != 0)
        }),
        other => return Err(format!("no copy for the Postgres type {other}")),
    })
}

/// Every identity column's sequence moves past the copied ids, and past SQLite's
/// AUTOINCREMENT high-water mark (ids it handed out and deleted since, fencing tokens
/// included, are never handed out again).
async fn carry_sequences(
    source: &mut SqliteConnection,
    tx: &mut PgConnection,
) -> Result<(), BoxError> {
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in identities {
        let high: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = $1")
                .bind(&table)
                .fetch_optional(&mut *source)
                .await
                .unwrap_or(None);
        let max: Option<i64> = sqlx::query_scalar(&format!("SELECT MAX({column}) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        let next = high.unwrap_or(0).max(max.unwrap_or(0));
        if next > 0 {
            let _: Option<i64> =
                sqlx::query_scalar("SELECT setval(pg_get_serial_sequence($1, $2), $3, true)")
                    .bind(&table)
                    .bind(&column)
                    .bind(next)
                    .fetch_one(&mut *tx)
                    .await?;
        }
    }
    Ok(())
}

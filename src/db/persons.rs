use super::Db;
use serde::{Deserialize, Serialize};

/// The `persons` generation (read by [`list_state`]): bumped after every write to `persons`
/// (all of them are in this file, each one after its statement or transaction has finished),
/// so whatever is derived from the table (the rendered persons list in `crate::page_cache`)
/// can tell that it is out of date. A bump always comes after the change is visible, so a
/// reader that saw the old generation before and after reading the table cannot have read a
/// half-old state under the new one. In the database: a write through one dashboard instance
/// invalidates the caches of all of them.
///
/// Marks the table changed: also after a failed write, which may have been committed before
/// its error arrived (a second invalidation costs one render).
async fn changed<T>(db: &Db, result: T) -> T {
    if let Err(e) = crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE generations SET value = value + 1 WHERE name = 'persons'"
    )
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
    {
        // The page cache then misses (it cannot read the generation either) or serves a page
        // from before this write: logged loudly.
        tracing::error!(error = %e, "could not bump the persons generation");
    }
    result
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersonRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub notes: String,
    pub identity_id: Option<String>,
    pub block_id: Option<String>,
    pub block_limit: i64,
    pub health: String,
    pub health_detail: Option<String>,
    pub checked_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, username, display_name, notes, identity_id, block_id, block_limit, \
                       health, health_detail, checked_at, created_at";

/// A person as a list shows them (the persons list, the chat's person picker): five of the
/// eleven columns, so a page of them is half the values to copy out of SQLite.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct PersonListRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub health: String,
    pub created_at: i64,
}

const LIST_COLUMNS: &str = "id, username, display_name, health, created_at";

impl From<PersonRow> for PersonListRow {
    fn from(p: PersonRow) -> PersonListRow {
        PersonListRow {
            id: p.id,
            username: p.username,
            display_name: p.display_name,
            health: p.health,
            created_at: p.created_at,
        }
    }
}

pub struct NewPerson<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub notes: &'a str,
    pub identity_id: &'a str,
    pub block_id: &'a str,
    pub block_limit: i64,
    pub initial_value: &'a str,
    pub version_source: &'a str,
    pub actor: Option<&'a str>,
}

/// Inserts the person and the first version of their persona block, in one transaction.
pub async fn insert(db: &Db, p: &NewPerson<'_>) -> Result<PersonRow, sqlx::Error> {
    changed(db, insert_tx(db, p).await).await
}

async fn insert_tx(db: &Db, p: &NewPerson<'_>) -> Result<PersonRow, sqlx::Error> {
    let now = super::now_ms();
    crate::with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let row: PersonRow = sqlx::query_as(&format!(
            "INSERT INTO persons (username, display_name, display_key, notes, identity_id, block_id, \
             block_limit, health, checked_at, created_at, updated_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'ok', $8, $8, $8, $9) RETURNING {COLUMNS}"
        ))
        .bind(p.username)
        .bind(p.display_name)
        .bind(p.display_name.to_lowercase())
        .bind(p.notes)
        .bind(p.identity_id)
        .bind(p.block_id)
        .bind(p.block_limit)
        .bind(now)
        .bind(p.actor)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO block_history (person_id, value, source, actor, at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(row.id)
        .bind(p.initial_value)
        .bind(p.version_source)
        .bind(p.actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    })
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<PersonRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM persons WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<PersonRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM persons WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(pool)
    .await)
}

/// The person whose persona block this is, if any.
pub async fn by_block(db: &Db, block_id: &str) -> Result<Option<PersonRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM persons WHERE block_id = $1"
    ))
    .bind(block_id)
    .fetch_optional(pool)
    .await)
}

pub async fn by_identity(db: &Db, identity_id: &str) -> Result<Option<PersonRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM persons WHERE identity_id = $1"
    ))
    .bind(identity_id)
    .fetch_optional(pool)
    .await)
}

/// The orders the list offers. Each is backed by an index, so a page is an index range scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PersonSort {
    #[default]
    Username,
    DisplayName,
    Newest,
}

/// Keyset cursor: the sort key and id of the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub key: String,
    pub id: i64,
}

/// One page of persons. `search` is a prefix of the username or of the display name (case
/// insensitive): a prefix, so it is an index range scan even over 100,000 rows.
pub async fn page(
    db: &Db,
    search: &str,
    sort: PersonSort,
    after: Option<&Cursor>,
    problems: bool,
    limit: i64,
) -> Result<Vec<PersonListRow>, sqlx::Error> {
    let prefix = search.trim().to_lowercase();
    // Problems only: few rows, found through the partial index of migration 0010.
    let health = if problems {
        " AND health NOT IN ('ok', 'unknown')"
    } else {
        ""
    };
    // Upper bound of the prefix range: the prefix followed by the highest character.
    let upper = format!("{prefix}\u{10FFFF}");
    let (key_col, dir, cmp) = match sort {
        PersonSort::Username => ("username", "ASC", ">"),
        PersonSort::DisplayName => ("display_key", "ASC", ">"),
        PersonSort::Newest => ("created_at", "DESC", "<"),
    };
    let (after_key, after_id) = match after {
        Some(c) => (Some(c.key.clone()), Some(c.id)),
        None => (None, None),
    };
    // For created_at the cursor key is a number.
    let key_expr = if sort == PersonSort::Newest {
        "CAST($4 AS BIGINT)"
    } else {
        "$4"
    };
    let cursor = format!("($4 IS NULL OR ({key_col}, id) {cmp} ({key_expr}, $5))");
    let order = format!("ORDER BY {key_col} {dir}, id {dir}");
    let sql = if prefix.is_empty() {
        format!("SELECT {LIST_COLUMNS} FROM persons WHERE {cursor}{health} {order} LIMIT $3")
    } else {
        // Two indexed range scans, merged; the sort then covers the matches only.
        format!(
            "SELECT {LIST_COLUMNS} FROM persons WHERE id IN ( \
               SELECT id FROM persons WHERE username >= $1 AND username < $2 \
               UNION SELECT id FROM persons WHERE display_key >= $1 AND display_key < $2) \
             AND {cursor}{health} {order} LIMIT $3"
        )
    };
    // Every persons page view: on SQLite on the serving thread (`super::reader`).
    if let Db::Sqlite(pool) = db {
        let args: [&dyn rusqlite::ToSql; 5] = [&prefix, &upper, &limit, &after_key, &after_id];
        let rows = super::reader::query(pool, &sql, &args, |r| {
            Ok(PersonListRow {
                id: r.get("id")?,
                username: r.get("username")?,
                display_name: r.get("display_name")?,
                health: r.get("health")?,
                created_at: r.get("created_at")?,
            })
        });
        if let Some(rows) = rows {
            return Ok(rows);
        }
    }
    crate::with_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(&prefix)
        .bind(&upper)
        .bind(limit)
        .bind(after_key)
        .bind(after_id)
        .fetch_all(pool)
        .await)
}

/// How many persons there are: a counter the migration's triggers keep (not a scan).
pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT n FROM person_count WHERE id = 1"
    )
    .fetch_one(pool)
    .await)
}

pub async fn all_ids(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM persons ORDER BY id"
    )
    .fetch_all(pool)
    .await)
}

pub async fn all(db: &Db) -> Result<Vec<PersonRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM persons ORDER BY username"
    ))
    .fetch_all(pool)
    .await)
}

pub async fn set_health(
    db: &Db,
    id: i64,
    health: &str,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    changed(
        db,
        crate::with_pool!(db, |pool| sqlx::query(
            "UPDATE persons SET health = $1, health_detail = $2, checked_at = $3 WHERE id = $4",
        )
        .bind(health)
        .bind(detail)
        .bind(super::now_ms())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())),
    )
    .await?;
    Ok(())
}

pub async fn set_identity(db: &Db, id: i64, identity_id: Option<&str>) -> Result<(), sqlx::Error> {
    changed(
        db,
        crate::with_pool!(db, |pool| sqlx::query(
            "UPDATE persons SET identity_id = $1, updated_at = $2 WHERE id = $3"
        )
        .bind(identity_id)
        .bind(super::now_ms())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())),
    )
    .await?;
    Ok(())
}

pub async fn set_block(db: &Db, id: i64, block_id: Option<&str>) -> Result<(), sqlx::Error> {
    changed(
        db,
        crate::with_pool!(db, |pool| sqlx::query(
            "UPDATE persons SET block_id = $1, updated_at = $2 WHERE id = $3"
        )
        .bind(block_id)
        .bind(super::now_ms())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())),
    )
    .await?;
    Ok(())
}

pub async fn update_details(
    db: &Db,
    id: i64,
    display_name: &str,
    notes: &str,
) -> Result<(), sqlx::Error> {
    changed(
        db,
        crate::with_pool!(db, |pool| sqlx::query("UPDATE persons SET display_name = $1, display_key = $2, notes = $3, updated_at = $4 WHERE id = $5")
            .bind(display_name)
            .bind(display_name.to_lowercase())
            .bind(notes)
            .bind(super::now_ms())
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())),
    )
    .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    changed(
        db,
        crate::with_pool!(db, |pool| sqlx::query("DELETE FROM persons WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())),
    )
    .await?;
    Ok(())
}

/// The shared "Verify all" pass (`persons_verify`, one row).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct VerifyRow {
    /// Running, and its instance still alive (a dead owner's pass is over).
    pub running: bool,
    pub total: i64,
    pub done: i64,
    /// JSON `[[username, health, detail], …]`.
    pub problems: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// Claims the pass for `instance_id` unless another live instance runs one: one statement (on
/// Postgres the second of two concurrent claims waits for the first's row lock, then finds
/// the row running under a live instance).
pub async fn verify_claim(
    db: &Db,
    instance_id: &str,
    total: i64,
    now_ms: i64,
    expiry_ms: i64,
) -> Result<bool, sqlx::Error> {
    let claimed = crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE persons_verify SET running = TRUE, total = $1, done = 0, problems = '[]', \
         started_at = $2, finished_at = NULL, instance_id = $3 \
         WHERE id = 1 AND (running = FALSE OR instance_id IS NULL OR instance_id NOT IN \
               (SELECT id FROM instances WHERE heartbeat_at >= $2 - $4))",
    )
    .bind(total)
    .bind(now_ms)
    .bind(instance_id)
    .bind(expiry_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(claimed == 1)
}

/// The owner's progress (and, with `finished_at`, the end of its pass).
pub async fn verify_record(
    db: &Db,
    instance_id: &str,
    done: i64,
    problems_json: &str,
    finished_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE persons_verify SET done = $2, problems = $3, finished_at = $4, \
         running = CASE WHEN $4 IS NULL THEN running ELSE FALSE END \
         WHERE id = 1 AND instance_id = $1",
    )
    .bind(instance_id)
    .bind(done)
    .bind(problems_json)
    .bind(finished_at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn verify_state(db: &Db, now_ms: i64, expiry_ms: i64) -> Result<VerifyRow, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT (v.running = TRUE AND EXISTS (SELECT 1 FROM instances i \
                 WHERE i.id = v.instance_id AND i.heartbeat_at >= $1 - $2)) AS running, \
                v.total, v.done, v.problems, v.started_at, v.finished_at \
         FROM persons_verify v WHERE v.id = 1",
    )
    .bind(now_ms)
    .bind(expiry_ms)
    .fetch_one(pool)
    .await)
}

/// What the persons list shows of the table beside its rows, read in ONE statement: the
/// generation (bumped by `changed`), the number of persons and the "Verify all" pass (as
/// [`verify_state`]). The persons page reads it before and after its render (the page cache's
/// fingerprint) and the render shows the first reading, so a page costs two statements here
/// instead of six, each a round trip to the database's thread or server.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct ListState {
    pub generation: i64,
    pub persons: i64,
    #[sqlx(flatten)]
    pub verify: VerifyRow,
}

pub async fn list_state(db: &Db, now_ms: i64, expiry_ms: i64) -> Result<ListState, sqlx::Error> {
    const SQL: &str = "SELECT g.value AS generation, c.n AS persons, \
                (v.running = TRUE AND EXISTS (SELECT 1 FROM instances i \
                 WHERE i.id = v.instance_id AND i.heartbeat_at >= $1 - $2)) AS running, \
                v.total, v.done, v.problems, v.started_at, v.finished_at \
         FROM generations g, person_count c, persons_verify v \
         WHERE g.name = 'persons' AND c.id = 1 AND v.id = 1";
    // Read twice per persons page view: on SQLite on the serving thread (`super::reader`).
    if let Db::Sqlite(pool) = db {
        let row = super::reader::query_optional(pool, SQL, &[&now_ms, &expiry_ms], |r| {
            Ok(ListState {
                generation: r.get("generation")?,
                persons: r.get("persons")?,
                verify: VerifyRow {
                    running: r.get("running")?,
                    total: r.get("total")?,
                    done: r.get("done")?,
                    problems: r.get("problems")?,
                    started_at: r.get("started_at")?,
                    finished_at: r.get("finished_at")?,
                },
            })
        });
        if let Some(Some(row)) = row {
            return Ok(row);
        }
    }
    crate::with_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(now_ms)
        .bind(expiry_ms)
        .fetch_one(pool)
        .await)
}

/// Persons whose last check found a problem (the partial index of migration 0010).
pub async fn problem_count(db: &Db) -> Result<i64, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM persons WHERE health NOT IN ('ok', 'unknown')"
    )
    .fetch_one(pool)
    .await)
}

/// What the last checks found: persons with a problem, persons never checked, and when the
/// newest check ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSummary {
    pub problems: i64,
    pub unchecked: i64,
    pub last_checked: Option<i64>,
}

pub async fn health_summary(db: &Db) -> Result<HealthSummary, sqlx::Error> {
    let problems = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM persons WHERE health NOT IN ('ok', 'unknown')"
    )
    .fetch_one(pool)
    .await)?;
    let unchecked = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM persons WHERE health = 'unknown'"
    )
    .fetch_one(pool)
    .await)?;
    let last_checked = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT MAX(checked_at) FROM persons"
    )
    .fetch_one(pool)
    .await)?;
    Ok(HealthSummary {
        problems,
        unchecked,
        last_checked,
    })
}

/// The first persons (by username) whose last check found a problem.
pub async fn with_problems(db: &Db, limit: i64) -> Result<Vec<PersonRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM persons WHERE health NOT IN ('ok', 'unknown') \
         ORDER BY username LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await)
}

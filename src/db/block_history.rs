//! Every value of a core memory block the dashboard wrote or saw (`block_history`): the
//! persona editor's and the agent page's history and restore, one table for both. A person's
//! block is kept by person (its history survives a repaired block with a new id), any other
//! block by its Letta id.

use super::Db;

/// Whose history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of<'a> {
    /// A person's persona block.
    Person(i64),
    /// Any other block, by its Letta id.
    Block(&'a str),
}

impl Of<'_> {
    /// The rows of this history (`$1` is the key).
    fn filter(self) -> &'static str {
        match self {
            Of::Person(_) => "person_id = $1",
            Of::Block(_) => "block_id = $1",
        }
    }
}

/// Binds the key of an [`Of`] as `$1`.
macro_rules! bind_of {
    ($query:expr, $of:expr) => {
        match $of {
            Of::Person(id) => $query.bind(id),
            Of::Block(id) => $query.bind(id),
        }
    };
}

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct VersionRow {
    pub id: i64,
    pub at: i64,
    pub source: String,
    pub actor: Option<String>,
    pub value: String,
}

/// The newest value the dashboard knows (wrote or saw).
pub async fn last_known_value(db: &Db, of: Of<'_>) -> Result<Option<String>, sqlx::Error> {
    let sql = format!(
        "SELECT value FROM block_history WHERE {} ORDER BY id DESC LIMIT 1",
        of.filter()
    );
    crate::with_pool!(db, |pool| bind_of!(sqlx::query_scalar(&sql), of)
        .fetch_optional(pool)
        .await)
}

/// Keeps `value`, written by `actor` (none: seen in Letta) through `source`.
pub async fn add(
    db: &Db,
    of: Of<'_>,
    value: &str,
    source: &str,
    actor: Option<&str>,
) -> Result<(), sqlx::Error> {
    let (person_id, block_id) = match of {
        Of::Person(id) => (Some(id), None),
        Of::Block(id) => (None, Some(id)),
    };
    crate::with_pool!(db, |pool| sqlx::query(
        "INSERT INTO block_history (person_id, block_id, value, source, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(person_id)
    .bind(block_id)
    .bind(value)
    .bind(source)
    .bind(actor)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The history, newest first (the latest 100: what the editors show).
pub async fn list(db: &Db, of: Of<'_>) -> Result<Vec<VersionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT id, at, source, actor, value FROM block_history WHERE {} \
         ORDER BY id DESC LIMIT 100",
        of.filter()
    );
    crate::with_pool!(db, |pool| bind_of!(sqlx::query_as(&sql), of)
        .fetch_all(pool)
        .await)
}

/// One kept value of this history (`None`: no such version, or another block's).
pub async fn get(db: &Db, of: Of<'_>, id: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = format!(
        "SELECT value FROM block_history WHERE {} AND id = $2",
        of.filter()
    );
    crate::with_pool!(db, |pool| bind_of!(sqlx::query_scalar(&sql), of)
        .bind(id)
        .fetch_optional(pool)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{sqlite::SqliteConnectOptions, Connection, SqliteConnection};

    /// person_id, block_id, value, source, actor, at
    type Row = (
        Option<i64>,
        Option<String>,
        String,
        String,
        Option<String>,
        i64,
    );

    /// The migration to one table keeps every version of both old tables, each in its own
    /// history and order, and the functions read them back.
    #[tokio::test]
    async fn both_old_histories_move_into_one_table() {
        let mut c = SqliteConnection::connect_with(
            &SqliteConnectOptions::new()
                .in_memory(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
        let before: [&str; 10] = [
            include_str!("../../migrations/0001_accounts.sql"),
            include_str!("../../migrations/0002_persons.sql"),
            include_str!("../../migrations/0003_block_versions.sql"),
            include_str!("../../migrations/0004_chat.sql"),
            include_str!("../../migrations/0005_person_count.sql"),
            include_str!("../../migrations/0006_login_throttle.sql"),
            include_str!("../../migrations/0007_instances.sql"),
            include_str!("../../migrations/0008_turn_ledger.sql"),
            include_str!("../../migrations/0009_verify_all.sql"),
            include_str!("../../migrations/0010_person_health_index.sql"),
        ];
        for sql in before {
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO persons (id, username, display_name, display_key, block_limit, \
               created_at, updated_at) VALUES (7, 'ann', 'Ann', 'ann', 5000, 1, 1);
             INSERT INTO persona_versions (person_id, value, source, actor, at) VALUES
               (7, 'p1', 'create', 'root', 10), (7, 'p2', 'editor', 'root', 20);
             INSERT INTO block_versions (block_id, value, source, actor, at) VALUES
               ('block-1', 'b1', 'observed', NULL, 15), ('block-1', 'b2', 'editor', 'op', 25);",
        )
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::raw_sql(include_str!("../../migrations/0011_block_history.sql"))
            .execute(&mut c)
            .await
            .unwrap();
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT person_id, block_id, value, source, actor, at FROM block_history ORDER BY id",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    Some(7),
                    None,
                    "p1".into(),
                    "create".into(),
                    Some("root".into()),
                    10
                ),
                (
                    Some(7),
                    None,
                    "p2".into(),
                    "editor".into(),
                    Some("root".into()),
                    20
                ),
                (
                    None,
                    Some("block-1".into()),
                    "b1".into(),
                    "observed".into(),
                    None,
                    15
                ),
                (
                    None,
                    Some("block-1".into()),
                    "b2".into(),
                    "editor".into(),
                    Some("op".into()),
                    25
                ),
            ]
        );
        for gone in ["persona_versions", "block_versions"] {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            )
            .bind(gone)
            .fetch_one(&mut c)
            .await
            .unwrap();
            assert_eq!(n, 0, "{gone}");
        }
        // A row is a person's or a block's, never both or neither.
        for bad in [
            "INSERT INTO block_history (person_id, block_id, value, source, at) VALUES (7, 'block-1', 'x', 's', 1)",
            "INSERT INTO block_history (person_id, block_id, value, source, at) VALUES (NULL, NULL, 'x', 's', 1)",
        ] {
            assert!(sqlx::query(bad).execute(&mut c).await.is_err(), "{bad}");
        }
        c.close().await.unwrap();
    }

    /// The two histories stay apart in the one table: a version id of one is not found
    /// through the other.
    #[tokio::test]
    async fn each_history_reads_only_its_own_rows() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::for_dir(dir.path());
        let db = crate::db::connect(&config.database_url).await.unwrap();
        sqlx::query(
            "INSERT INTO persons (id, username, display_name, display_key, block_limit, \
               created_at, updated_at) VALUES (7, 'ann', 'Ann', 'ann', 5000, 1, 1)",
        )
        .execute(db.as_sqlite().unwrap())
        .await
        .unwrap();
        let (ann, block) = (Of::Person(7), Of::Block("block-1"));
        add(&db, ann, "persona one", "create", Some("root"))
            .await
            .unwrap();
        add(&db, block, "block one", "editor", None).await.unwrap();
        add(&db, ann, "persona two", "editor", Some("root"))
            .await
            .unwrap();
        assert_eq!(
            last_known_value(&db, ann).await.unwrap().as_deref(),
            Some("persona two")
        );
        assert_eq!(
            last_known_value(&db, block).await.unwrap().as_deref(),
            Some("block one")
        );
        assert_eq!(
            last_known_value(&db, Of::Block("block-2")).await.unwrap(),
            None
        );
        let persona = list(&db, ann).await.unwrap();
        assert_eq!(
            persona.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
            ["persona two", "persona one"]
        );
        let blocks = list(&db, block).await.unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].actor, None);
        assert_eq!(
            get(&db, block, blocks[0].id).await.unwrap().as_deref(),
            Some("block one")
        );
        assert_eq!(get(&db, ann, blocks[0].id).await.unwrap(), None);
        assert_eq!(get(&db, block, persona[0].id).await.unwrap(), None);
    }
}

//! Backup and restore from the shell: `letta-admin backup PATH [--force]` and
//! `letta-admin restore PATH`.
//!
//! A backup is two files that belong together: the database, copied with SQLite's
//! `VACUUM INTO` (the snapshot of one read transaction, so it is consistent while dashboards
//! keep writing beside it in WAL mode), and the secret key as `PATH.key`, without which the
//! Letta password stored encrypted in the database is lost. Both are written owner-only
//! (0600): the database holds password hashes and live session ids, and whoever holds both
//! files can read the Letta password.
//!
//! A restore replaces the database of a data directory that no dashboard uses (no live
//! instance in its `instances` table), after checking the backup (`PRAGMA integrity_check`,
//! migrations this binary knows, a key that opens its stored password). The previous
//! database is kept beside it as `<name>.before-restore-<timestamp>`.
//!
//! The SQL here is SQLite's own file maintenance (`VACUUM INTO`, `integrity_check`,
//! `wal_checkpoint`), not the dashboard's data, so it lives here rather than in `db/`: a
//! Postgres backend is backed up with Postgres's own tools (pg_dump) plus the same key file.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    ConnectOptions, SqlitePool,
};

use crate::{
    config::Config,
    connection::{KEY_PASSWORD, PASSWORD_PURPOSE},
    crypto::SecretBox,
    db,
    startup::BoxError,
};

/// The key file's name in the data directory (`crypto`'s, which keeps it private).
const KEY_FILE: &str = "secret.key";

/// The tables whose row counts a backup and a restore print: what an operator recognises.
const COUNTED: [&str; 4] = ["users", "persons", "block_history", "audit_log"];

/// These commands copy SQLite files; a Postgres database has its own tools.
fn sqlite_only(config: &Config, command: &str) -> Result<(), BoxError> {
    if db::is_postgres(&config.database_url) {
        return Err(format!(
            "letta-admin {command} works on the SQLite database only, and DATABASE_URL names a \
             Postgres database ({}). Back it up with Postgres's own tools: pg_dump --format=custom \
             (consistent while the dashboards run) and pg_restore into an empty database; keep \
             the secret key (LETTA_ADMIN_SECRET_KEY, LETTA_ADMIN_SECRET_KEY_FILE or the key file) \
             with the dump, or the Letta password in it cannot be decrypted",
            db::redact_url(&config.database_url)
        )
        .into());
    }
    Ok(())
}

/// The key file that belongs to the backup `path`: `PATH.key`.
pub fn key_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// `letta-admin backup PATH [--force]`.
pub async fn backup(config: &Config, target: &Path, force: bool) -> Result<(), BoxError> {
    sqlite_only(config, "backup")?;
    let source = database_file(config)?;
    if !source.is_file() {
        return Err(format!(
            "there is no database at {} (check LETTA_ADMIN_DATA_DIR and DATABASE_URL)",
            source.display()
        )
        .into());
    }
    let target = std::path::absolute(target)?;
    utf8(&target)?;
    if target.is_dir() {
        return Err(format!(
            "{} is a directory: give the backup's file name",
            target.display()
        )
        .into());
    }
    if same_file(&source, &target) {
        return Err("the backup cannot be the database itself".into());
    }
    let key = current_key(config)?;
    let key_file = key_path(&target);
    if !force {
        // The key file too: a stale one beside a new backup would pass for its pair.
        for path in [&target, &key_file] {
            if path.symlink_metadata().is_ok() {
                return Err(format!(
                    "{} exists: pass --force to overwrite it (nothing was written)",
                    path.display()
                )
                .into());
            }
        }
    }

    // The snapshot goes to a file of its own first, so a failed backup leaves nothing
    // half-written under the operator's name (and an old backup stays whole until the new one
    // has passed its check). SQLite writes into an existing file if it is empty: created here
    // 0600, the copy never exists with wider permissions.
    let dir = parent(&target);
    let staged = Staged::create(&dir, &target, "partial")?;
    let live = open(&source, true).await?;
    let snapshot = vacuum_into(&live, staged.path()).await;
    live.close().await;
    snapshot.map_err(|e| format!("copying {}: {e}", source.display()))?;
    File::open(staged.path())?.sync_all()?;

    // 1. The copy checked as written.
    let copy = open(staged.path(), true).await?;
    let checked = integrity(&copy).await;
    let counts = counts(&copy).await;
    let opens = password_opens(&copy, key.secrets()).await;
    copy.close().await;
    checked
        .map_err(|e| format!("the copy fails PRAGMA integrity_check ({e}); nothing was written"))?;
    let (counts, opens) = (counts?, opens?);

    // 2. Both files under their names: the key staged first, so the database is never there
    //    without it.
    let staged_key = match &key {
        Key::File { text, .. } => {
            let k = Staged::create(&dir, &key_file, "partial")?;
            k.write(text.as_bytes())?;
            Some(k)
        }
        Key::Environment(_) | Key::Missing(_) => None,
    };
    staged.commit(&target)?;
    println!("Backup written: {} (mode 0600)", target.display());
    println!("  integrity_check: ok");
    println!("  rows: {counts}");
    match &key {
        Key::File { path, .. } => {
            staged_key
                .expect("staged for a key file")
                .commit(&key_file)?;
            println!(
                "Key file written: {} (mode 0600, a copy of {})",
                key_file.display(),
                path.display()
            );
            eprintln!(
                "\nWARNING: {} and {} belong together. The key decrypts the Letta server \
                 password stored in the database: restored without it, the dashboard has lost \
                 that password (and does not start until the key is back). Anyone holding both \
                 files can read the Letta password; the database alone holds password hashes \
                 and live session ids. Keep both as private as the data directory.\n",
                target.display(),
                key_file.display()
            );
        }
        Key::Environment(_) => {
            remove_stale(&key_file)?;
            println!(
                "No key file written: the secret key comes from LETTA_ADMIN_SECRET_KEY, not \
                 from a file."
            );
            eprintln!(
                "\nWARNING: keep the value of LETTA_ADMIN_SECRET_KEY with this backup. It \
                 decrypts the Letta server password stored in the database: without it that \
                 password is lost. Anyone holding the backup and that value can read the Letta \
                 password.\n"
            );
        }
        Key::Missing(path) => {
            remove_stale(&key_file)?;
            println!(
                "No key file written: LETTA_ADMIN_SECRET_KEY is not set and there is no key \
                 file at {}.",
                path.display()
            );
        }
    }
    match (opens, &key) {
        (None, _) => println!("The database holds no Letta password (no key is needed for it)."),
        (Some(true), _) => println!("The key decrypts the Letta password stored in the copy."),
        (Some(false), Key::Missing(_)) => eprintln!(
            "WARNING: the database holds an encrypted Letta password but no key was found: \
             that password cannot be recovered from this backup."
        ),
        (Some(false), _) => eprintln!(
            "WARNING: the key does not decrypt the Letta password stored in the database: a \
             dashboard restored from this backup would not start with it."
        ),
    }
    Ok(())
}

/// `letta-admin restore PATH`.
pub async fn restore(config: &Config, source: &Path) -> Result<(), BoxError> {
    sqlite_only(config, "restore")?;
    let target = database_file(config)?;
    let source = std::path::absolute(source)?;
    if !source.is_file() {
        return Err(format!("there is no backup file at {}", source.display()).into());
    }
    if same_file(&source, &target) {
        return Err("the backup is the configured database itself".into());
    }
    let backup_key_path = key_path(&source);

    // 1.–3. The backup, its key, and nobody on the database; nothing is touched before these.
    let backup = open(&source, true)
        .await
        .map_err(|e| format!("cannot open the backup {}: {e}", source.display()))?;
    let (counts, plan) = match examine(config, &backup, &source, &target).await {
        Ok(examined) => examined,
        Err(e) => {
            backup.close().await;
            return Err(format!("{e}; nothing was changed").into());
        }
    };

    // 4. The backup copied next to the database (a rename away from its place), checked
    //    again as copied, and the key file staged beside the current one.
    let dir = parent(&target);
    private_dir(&dir)?;
    private_dir(&config.data_dir)?;
    let staged = Staged::create(&dir, &target, "restore")?;
    let copied = vacuum_into(&backup, staged.path()).await;
    backup.close().await;
    copied.map_err(|e| format!("copying the backup: {e}; nothing was changed"))?;
    File::open(staged.path())?.sync_all()?;
    let copy = open(staged.path(), false).await?;
    let prepared = async {
        integrity(&copy)
            .await
            .map_err(|e| format!("the copied backup fails PRAGMA integrity_check ({e})"))?;
        // The backup's instances ran on another database, none of them on this one: forget
        // them (and their tickets), so neither a starting dashboard nor the next restore waits
        // for their heartbeats to expire. Their journal rows are swept at the next start.
        for instance in instances(&copy).await? {
            db::instances::deregister(&db::Db::Sqlite(copy.clone()), &instance.id).await?;
        }
        Ok::<_, BoxError>(())
    }
    .await;
    copy.close().await;
    prepared.map_err(|e| format!("{e}; nothing was changed"))?;
    let key_file = config.data_dir.join(KEY_FILE);
    let staged_key = match &plan {
        KeyPlan::Install { text, .. } => {
            let k = Staged::create(&config.data_dir, &key_file, "restore")?;
            k.write(text.as_bytes())?;
            Some(k)
        }
        _ => None,
    };

    // 5. Once more right before the swap: no dashboard started in the meantime.
    refuse_if_live(config, &target)
        .await
        .map_err(|e| format!("{e}; nothing was changed"))?;

    // 6. The previous database moves aside whole, with its journal files. Its WAL is folded
    //    into it first; a `-wal` that still holds pages moves with it (SQLite pairs the files
    //    by name), and so does a `-journal`. Nothing of the old database may stay under the
    //    live names: SQLite would replay a leftover WAL onto the restored file (a WAL does not
    //    say which database it belongs to). The `-shm` is only an index, rebuilt on open.
    let stamp = timestamp()?;
    let kept = if target.exists() {
        checkpoint(&target).await;
        let kept = free_name(
            &dir,
            &format!("{}.before-restore-{stamp}", file_name(&target)),
        );
        std::fs::rename(&target, &kept)?;
        set_private(&kept)?;
        for suffix in ["-wal", "-journal"] {
            let old = with_suffix(&target, suffix);
            // The checkpoint leaves an empty WAL behind: nothing in it to keep.
            if std::fs::metadata(&old).is_ok_and(|m| m.len() == 0) {
                remove_if_exists(&old)?;
            } else if old.exists() {
                let moved = with_suffix(&kept, suffix);
                std::fs::rename(&old, &moved)?;
                set_private(&moved)?;
            }
        }
        remove_if_exists(&with_suffix(&target, "-shm"))?;
        Some(kept)
    } else {
        for suffix in ["-wal", "-shm", "-journal"] {
            remove_if_exists(&with_suffix(&target, suffix))?;
        }
        None
    };

    // 7. The backup into place.
    staged.commit(&target)?;
    println!(
        "Backup {}: integrity_check ok; rows: {counts}",
        source.display()
    );
    if let Some(kept) = &kept {
        println!("Previous database kept as {} (mode 0600)", kept.display());
    }
    println!("Restored into {} (mode 0600)", target.display());

    // 8. The key.
    match (&plan, staged_key) {
        (KeyPlan::Install { text, .. }, Some(staged_key)) => {
            match std::fs::read_to_string(&key_file) {
                Ok(old) if old.trim() == text.trim() => {
                    drop(staged_key);
                    println!(
                        "Key: {} holds the key already in {}: kept and used",
                        backup_key_path.display(),
                        key_file.display()
                    );
                }
                Ok(_) => {
                    let old_key = free_name(
                        &config.data_dir,
                        &format!("{KEY_FILE}.before-restore-{stamp}"),
                    );
                    std::fs::rename(&key_file, &old_key)?;
                    staged_key.commit(&key_file)?;
                    println!(
                        "Key: the backup's key file {} is now {} (the previous key is kept as \
                         {}: the kept database needs it)",
                        backup_key_path.display(),
                        key_file.display(),
                        old_key.display()
                    );
                }
                Err(_) => {
                    staged_key.commit(&key_file)?;
                    println!(
                        "Key: the backup's key file {} is now {}",
                        backup_key_path.display(),
                        key_file.display()
                    );
                }
            }
        }
        (KeyPlan::Keep { path, .. }, _) => println!(
            "Key: there is no {} beside the backup: the current key file {} is kept and used",
            backup_key_path.display(),
            path.display()
        ),
        (KeyPlan::Environment { ignored, .. }, _) => {
            println!("Key: LETTA_ADMIN_SECRET_KEY is set: the dashboard keeps using it");
            if let Some(ignored) = ignored {
                println!(
                    "  ({} is not copied: no key file is read while that variable is set)",
                    ignored.display()
                );
            }
        }
        (_, _) => println!(
            "Key: none (no {} beside the backup, no key file in the data directory); the \
             backup holds no Letta password, and a dashboard creates a new key file at its \
             next start",
            backup_key_path.display()
        ),
    }
    Ok(())
}

/// A restore's checks, before anything is changed: the backup is a sound letta-admin
/// database this binary can run, the key the restored dashboard will use opens its stored
/// password (a dashboard whose key does not refuses to start), and no dashboard uses the
/// configured database.
async fn examine(
    config: &Config,
    backup: &SqlitePool,
    source: &Path,
    target: &Path,
) -> Result<(RowCounts, KeyPlan), BoxError> {
    integrity(backup).await.map_err(|e| {
        format!(
            "the backup {} fails PRAGMA integrity_check ({e})",
            source.display()
        )
    })?;
    known_migrations(backup, source).await?;
    let counts = counts(backup).await?;

    let backup_key_path = key_path(source);
    let plan = match (current_key(config)?, read_key_file(&backup_key_path)?) {
        (Key::Environment(secrets), beside) => KeyPlan::Environment {
            secrets,
            ignored: beside.map(|_| backup_key_path.clone()),
        },
        (_, Some((text, secrets))) => KeyPlan::Install { text, secrets },
        (Key::File { path, secrets, .. }, None) => KeyPlan::Keep { path, secrets },
        (Key::Missing(_), None) => KeyPlan::None,
    };
    if password_opens(backup, plan.secrets()).await? == Some(false) {
        let which = match &plan {
            KeyPlan::Environment { .. } => "LETTA_ADMIN_SECRET_KEY does not decrypt it".into(),
            KeyPlan::Install { .. } => format!("{} does not decrypt it", backup_key_path.display()),
            KeyPlan::Keep { path, .. } => format!(
                "there is no {} beside the backup and the current key file {} does not \
                 decrypt it",
                backup_key_path.display(),
                path.display()
            ),
            KeyPlan::None => format!(
                "there is no key to decrypt it (no {} beside the backup, no \
                 LETTA_ADMIN_SECRET_KEY, no key file in the data directory)",
                backup_key_path.display()
            ),
        };
        return Err(format!(
            "the backup holds an encrypted Letta password and {which}: a dashboard on it would \
             not start. Put the backup's key file beside it as {} (or set \
             LETTA_ADMIN_SECRET_KEY to the key in use when it was taken)",
            backup_key_path.display()
        )
        .into());
    }

    refuse_if_live(config, target).await?;
    Ok((counts, plan))
}

/// Where the secret key comes from now.
pub(crate) enum Key {
    Environment(SecretBox),
    File {
        path: PathBuf,
        text: String,
        secrets: SecretBox,
    },
    /// No key anywhere: a dashboard's next start creates `path`.
    Missing(PathBuf),
}

impl Key {
    pub(crate) fn secrets(&self) -> Option<&SecretBox> {
        match self {
            Key::Environment(s) | Key::File { secrets: s, .. } => Some(s),
            Key::Missing(_) => None,
        }
    }
}

/// The key a restored dashboard will use.
enum KeyPlan {
    /// `LETTA_ADMIN_SECRET_KEY` wins over any file; `ignored`: a key file beside the backup.
    Environment {
        secrets: SecretBox,
        ignored: Option<PathBuf>,
    },
    /// The key file beside the backup replaces the data directory's.
    Install { text: String, secrets: SecretBox },
    /// No key file beside the backup: the data directory's stays.
    Keep { path: PathBuf, secrets: SecretBox },
    /// No key anywhere.
    None,
}

impl KeyPlan {
    fn secrets(&self) -> Option<&SecretBox> {
        match self {
            KeyPlan::Environment { secrets, .. }
            | KeyPlan::Install { secrets, .. }
            | KeyPlan::Keep { secrets, .. } => Some(secrets),
            KeyPlan::None => None,
        }
    }
}

pub(crate) fn current_key(config: &Config) -> Result<Key, BoxError> {
    // A key file outside the data directory is kept like the variable: the commands neither
    // copy nor replace it.
    if let Some(path) = &config.secret_key_file {
        return Ok(Key::Environment(SecretBox::from_file(path)?));
    }
    if let Some(hex) = &config.secret_key_hex {
        return Ok(Key::Environment(SecretBox::load(
            Some(secrecy::ExposeSecret::expose_secret(hex)),
            &config.data_dir,
        )?));
    }
    let path = config.data_dir.join(KEY_FILE);
    Ok(match read_key_file(&path)? {
        Some((text, secrets)) => Key::File {
            path: std::path::absolute(&path)?,
            text,
            secrets,
        },
        None => Key::Missing(std::path::absolute(&path)?),
    })
}

/// A key file's text and key; `None` if there is no such file.
fn read_key_file(path: &Path) -> Result<Option<(String, SecretBox)>, BoxError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let secrets = SecretBox::load(Some(text.trim()), Path::new("."))
                .map_err(|_| format!("{} is not a key file (64 hex characters)", path.display()))?;
            Ok(Some((text, secrets)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
    }
}

/// Whether `secrets` opens the Letta password stored in the database (`None`: none stored).
pub(crate) async fn password_opens(
    db: &SqlitePool,
    secrets: Option<&SecretBox>,
) -> Result<Option<bool>, BoxError> {
    let sealed = db::settings::get(&db::Db::Sqlite(db.clone()), KEY_PASSWORD)
        .await?
        .map(|r| r.value)
        .filter(|v| !v.is_empty());
    Ok(sealed.map(|s| secrets.is_some_and(|b| b.open(PASSWORD_PURPOSE, &s).is_ok())))
}

/// Refuses while any dashboard instance registered in the database at `path` is alive.
pub(crate) async fn refuse_if_live(config: &Config, path: &Path) -> Result<(), BoxError> {
    if !path.exists() {
        return Ok(());
    }
    let found = async {
        let current = open(path, true).await?;
        let found = instances(&current).await;
        current.close().await;
        found
    }
    .await;
    let instances = match found {
        Ok(all) => all,
        Err(e) => {
            return Err(format!(
                "cannot read the dashboard instances of {} ({e}), so whether a dashboard uses \
                 it is unknown. If none does, move it away and restore again",
                path.display()
            )
            .into())
        }
    };
    let now = db::now_ms();
    let expiry_ms = config.instance_expiry.as_millis() as i64;
    let live: Vec<String> = instances
        .iter()
        .filter(|i| i.heartbeat_at >= now - expiry_ms)
        .map(|i| {
            format!(
                "host {}, pid {} (last heartbeat {:.1} s ago)",
                i.host,
                i.pid,
                (now - i.heartbeat_at).max(0) as f64 / 1000.0
            )
        })
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    Err(format!(
        "a dashboard is using {}: {}. Stop every dashboard on this data directory first (a \
         process that was killed counts as running until its heartbeat is {} s old)",
        path.display(),
        live.join("; "),
        config.instance_expiry.as_secs()
    )
    .into())
}

/// The dashboard instances registered in the database (none in one from before instances
/// existed).
async fn instances(db: &SqlitePool) -> Result<Vec<db::instances::InstanceRow>, sqlx::Error> {
    match db::instances::all(&db::Db::Sqlite(db.clone())).await {
        Err(sqlx::Error::Database(e)) if e.message().contains("no such table") => Ok(vec![]),
        found => found,
    }
}

/// The migrations the database has run must all be known to this binary (an older backup is
/// fine: the next start runs the rest).
async fn known_migrations(db: &SqlitePool, path: &Path) -> Result<(), BoxError> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(db)
            .await
            .map_err(|_| {
                format!(
                    "{} is not a letta-admin database (it has no migrations)",
                    path.display()
                )
            })?;
    let known = sqlx::migrate!("./migrations");
    if let Some(v) = applied
        .iter()
        .find(|v| !known.iter().any(|m| m.version == **v))
    {
        return Err(format!(
            "{} was written by a newer letta-admin (its migration {v} is unknown to this one): \
             restore it with that version",
            path.display()
        )
        .into());
    }
    Ok(())
}

/// One connection to the SQLite file at `path` (never created, never migrated).
async fn open(path: &Path, read_only: bool) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        // A large database takes more than a second to copy: not worth sqlx's slow-query
        // warning.
        .disable_statement_logging();
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
}

/// A consistent copy of `db` into the empty file at `file`.
async fn vacuum_into(db: &SqlitePool, file: &Path) -> Result<(), BoxError> {
    // VACUUM INTO takes an expression: the name is bound, never spliced into the SQL, so any
    // file name (quotes included) is safe. It is absolute, so never read as a `file:` URI.
    sqlx::query("VACUUM INTO $1")
        .bind(utf8(file)?)
        .execute(db)
        .await?;
    Ok(())
}

/// `Err` with the first problems unless `PRAGMA integrity_check` says exactly `ok`.
async fn integrity(db: &SqlitePool) -> Result<(), String> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(db)
        .await
        .map_err(|e| e.to_string())?;
    if rows == ["ok"] {
        Ok(())
    } else {
        Err(rows.into_iter().take(5).collect::<Vec<_>>().join("; "))
    }
}

/// Folds the database's WAL into its main file (best effort: a damaged database, the reason
/// for many a restore, may refuse; its WAL then moves aside with it).
async fn checkpoint(path: &Path) {
    let done = async {
        let db = open(path, false).await?;
        let r = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&db)
            .await;
        db.close().await;
        r
    }
    .await;
    if let Err(e) = done {
        eprintln!(
            "note: could not checkpoint the previous database ({e}); its -wal file is kept with it"
        );
    }
}

pub struct RowCounts(Vec<(&'static str, Option<i64>)>);

impl std::fmt::Display for RowCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (table, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match n {
                Some(n) => write!(f, "{table} {n}")?,
                None => write!(f, "{table} (no such table)")?,
            }
        }
        Ok(())
    }
}

async fn counts(db: &SqlitePool) -> Result<RowCounts, sqlx::Error> {
    let mut out = Vec::new();
    for table in COUNTED {
        // The names are the constants above, never input.
        let n = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db)
            .await;
        out.push((
            table,
            match n {
                Ok(n) => Some(n),
                Err(sqlx::Error::Database(e)) if e.message().contains("no such table") => None,
                Err(e) => return Err(e),
            },
        ));
    }
    Ok(RowCounts(out))
}

pub(crate) fn database_file(config: &Config) -> Result<PathBuf, BoxError> {
    let path = db::sqlite_path(&config.database_url)
        .ok_or("DATABASE_URL names no SQLite file: an in-memory database has nothing to copy")?;
    let path = std::path::absolute(path)?;
    utf8(&path)?;
    Ok(path)
}

fn utf8(path: &Path) -> Result<&str, BoxError> {
    path.to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8 (SQLite needs it)", path.display()).into())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => a == b,
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `dir/name`, or `dir/name-2`, `-3`… if that is taken (two restores within a second).
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.join(name);
    let mut n = 2;
    while path.symlink_metadata().is_ok() {
        path = dir.join(format!("{name}-{n}"));
        n += 1;
    }
    path
}

fn timestamp() -> Result<String, BoxError> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    Ok(time::OffsetDateTime::now_utc().format(&format)?)
}

fn set_private(path: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// The directory created 0700 if missing (as the dashboard creates its data directory).
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A key file from an earlier backup at this name (`--force`): it would pass for this one's.
fn remove_stale(key_file: &Path) -> std::io::Result<()> {
    if key_file.exists() {
        std::fs::remove_file(key_file)?;
        println!("Removed the earlier key file {}", key_file.display());
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        eprintln!("note: could not sync {}: {e}", dir.display());
    }
}

/// A new, empty, owner-only file beside its final name, removed unless committed.
struct Staged(Option<PathBuf>);

impl Staged {
    fn create(dir: &Path, final_path: &Path, what: &str) -> Result<Staged, BoxError> {
        let path = dir.join(format!(
            ".{}.{what}-{}",
            file_name(final_path),
            std::process::id()
        ));
        // Left by an earlier run of this same pid (a reused pid after a crash).
        remove_if_exists(&path)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Staged(Some(path)))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("not yet committed")
    }

    fn write(&self, contents: &[u8]) -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).open(self.path())?;
        f.write_all(contents)?;
        f.sync_all()
    }

    /// Renames the file to `path` (replacing what is there), 0600.
    fn commit(mut self, path: &Path) -> Result<(), BoxError> {
        set_private(self.path())?;
        std::fs::rename(self.path(), path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        self.0 = None;
        sync_dir(&parent(path));
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = std::fs::remove_file(&path) {
                eprintln!("note: could not remove {}: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_the_backup_name_with_key_appended() {
        assert_eq!(
            key_path(Path::new("/b/it's.db")),
            PathBuf::from("/b/it's.db.key")
        );
    }

    #[test]
    fn a_taken_name_gets_a_number() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_name(dir.path(), "x"), dir.path().join("x"));
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert_eq!(free_name(dir.path(), "x"), dir.path().join("x-2"));
    }
}

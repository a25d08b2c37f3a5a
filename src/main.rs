use std::{io::BufRead, process::ExitCode};

use letta_admin::{auth::Role, cli, config::Config, startup::Application};

/// mimalloc instead of glibc's malloc: a page render allocates thousands of small values on
/// every runtime thread at once, and glibc's arenas spent about a fifth of the server's CPU
/// in malloc and free under the load bench (perf, 2 runtimes). See the README's Performance.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
letta-admin: admin dashboard for a self-hosted Letta server

USAGE:
    letta-admin                              start the dashboard (the default)
    letta-admin serve                        the same
    letta-admin create-user <name> <role>    create a user (role: admin, operator, staff);
                                             the password is read from standard input
    letta-admin reset-password <name>        set a new password (read from standard input)
                                             and end the user's sessions; also re-enables them
    letta-admin backup <path> [--force]      copy the database to <path> (safe while the
                                             dashboard runs) and the secret key file to
                                             <path>.key; --force replaces existing files
    letta-admin restore <path>               replace the database with the backup <path> (and
                                             the key file with <path>.key if there is one);
                                             refused while a dashboard uses the database
    letta-admin migrate-db --to <postgres-url> [--replace]
                                             copy the SQLite database to Postgres (stop the
                                             dashboards first; the secret key stays the same);
                                             --replace replaces dashboard data already there

Configuration comes from environment variables: see the README.";

/// Log lines as text, or with `LETTA_ADMIN_LOG_FORMAT=json` as one JSON object per line (with
/// the request's or chat turn's span fields, e.g. `request_id`, on each).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn,sqlx=warn"));
    match std::env::var("LETTA_ADMIN_LOG_FORMAT").as_deref() {
        Ok("json") => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(filter)
            .init(),
        _ => tracing_subscriber::fmt().with_env_filter(filter).init(),
    }
}

fn read_password() -> Result<String, String> {
    eprintln!("Password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

// The main runtime starts the app, runs its background work (the heartbeat, the sweeper,
// session and sign-in pruning, the settings watch) and the accept loop. Requests are served
// on `LETTA_ADMIN_WORKERS` single-threaded runtimes of their own (src/serve.rs explains why:
// one server-side render must never be polled by two threads). Its one worker thread is
// what serves requests when LETTA_ADMIN_WORKERS=1. Database work runs on sqlx's threads,
// except the reads every page view makes on SQLite, which run on the serving thread itself
// (src/db/reader.rs explains why); password hashing runs on a pool of its own.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> ExitCode {
    letta_admin::auth::password::keep_hash_memory_off_the_heap();
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.as_slice() {
        [] | ["serve"] => serve(config).await,
        ["create-user", name, role] => match Role::parse(role) {
            Some(role) => match read_password() {
                Ok(pw) => cli::create_user(&config, name, role, pw).await,
                Err(e) => Err(e.into()),
            },
            None => Err(format!("unknown role {role:?}: use admin, operator or staff").into()),
        },
        ["reset-password", name] => match read_password() {
            Ok(pw) => cli::reset_password(&config, name, pw).await,
            Err(e) => Err(e.into()),
        },
        ["backup", path] => letta_admin::backup::backup(&config, path.as_ref(), false).await,
        ["backup", "--force", path] | ["backup", path, "--force"] => {
            letta_admin::backup::backup(&config, path.as_ref(), true).await
        }
        ["restore", path] => letta_admin::backup::restore(&config, path.as_ref()).await,
        ["migrate-db", "--to", url] => letta_admin::migrate_db::run(&config, url, false).await,
        ["migrate-db", "--to", url, "--replace"] | ["migrate-db", "--replace", "--to", url] => {
            letta_admin::migrate_db::run(&config, url, true).await
        }
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), letta_admin::startup::BoxError> {
    let mut leptos_options = leptos::config::get_configuration(None)?.leptos_options;
    letta_admin::assets::detect_hashed_names(&mut leptos_options);
    tracing::info!(?config, "starting");
    Application::build(config, leptos_options)
        .await?
        .run_until_stopped()
        .await
}

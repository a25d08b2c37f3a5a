//! Builds the whole application (database, sessions, state, router) and binds it, so `main`
//! and the tests start exactly the same thing; tests bind port 0.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{from_fn, from_fn_with_state, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use leptos::{config::LeptosOptions, nonce::Nonce, prelude::provide_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use leptos_router::SsrMode;
use tower_http::{
    compression::{CompressionLayer, CompressionLevel},
    services::ServeDir,
};
use tower_sessions::{cookie::SameSite, ExpiredDeletion, Expiry, Session, SessionManagerLayer};

use crate::db::sessions::Sessions;

use crate::{
    app::{shell, App},
    auth::{
        guard::{api_guard, session_user, RequestUser},
        setup_token::SetupToken,
    },
    components::theme::theme_of,
    config::Config,
    connection::LettaHub,
    crypto::SecretBox,
    db,
    features::persons::service::ListSnapshot,
    page_cache,
    security::{page_csp, require_same_origin, security_headers},
    state::AppState,
};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The session cookie's name. A dashboard configured for https only uses the `__Host-`
/// prefix: browsers then accept the cookie only with `Secure`, `Path=/` and no `Domain`, so
/// no other host (a sibling subdomain, a plain-http page) can set or shadow it. Without that
/// configuration the cookie is still marked `Secure` on every https request a trusted proxy
/// reports (see `proxy`), but keeps a plain name so plain-http access keeps working.
pub fn session_cookie_name(https_only: bool) -> &'static str {
    if https_only {
        "__Host-letta_admin_session"
    } else {
        "letta_admin_session"
    }
}

/// The data directory holds the database (session ids, password hashes) and the secret key:
/// created 0700, and tightened if an older version left it open to others.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    pub addr: SocketAddr,
    /// The one-time setup token, while no admin exists (also printed to the log).
    pub setup_token: Option<String>,
    pub state: AppState,
}

impl Application {
    pub async fn build(
        config: Config,
        leptos_options: LeptosOptions,
    ) -> Result<Application, BoxError> {
        private_dir(&config.data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        crate::observability::metrics();
        let pool = db::connect_with(&config.database_url, config.db_max_connections).await?;
        let secrets = SecretBox::for_config(&config)?;
        crate::connection::ensure_shared_key(&pool, &secrets).await?;

        let setup_token = if db::users::count_active_admins(&pool).await? == 0 {
            let token = hex::encode(crate::crypto::random_bytes::<16>()?);
            tracing::warn!(
                "No admin account exists yet. Create the first admin at /setup?token={token} \
                 (this token works until an admin exists; it changes on every start)"
            );
            Some(token)
        } else {
            None
        };

        let letta = LettaHub::start(&pool, &secrets, &config).await?;
        letta.follow_settings(pool.clone(), secrets.clone(), Duration::from_secs(2));
        let instance = crate::instance::Instance::start(&pool, config.instance_expiry).await?;
        let turns = crate::blocks::turns::Turns::with_locks(Arc::new(
            crate::blocks::lease::DbAgentLocks::new(pool.clone(), instance.clone()),
        ));
        let state = AppState {
            leptos_options: leptos_options.clone(),
            db: pool.clone(),
            config: Arc::new(config.clone()),
            secrets,
            setup: setup_token
                .clone()
                .map(SetupToken::open)
                .unwrap_or_default(),
            letta,
            blocks: crate::blocks::Blocks {
                locks: Default::default(),
                turns,
            },
            instance,
            pages: Default::default(),
        };
        // Undo the Letta steps of operations a crash interrupted.
        if let Ok(client) = state.letta.client() {
            if let Err(e) = crate::features::persons::saga::recover(&state.db, &client).await {
                tracing::error!(error = %e, "saga recovery failed");
            }
        }
        // Detach persona blocks a crash left attached: at once (in the background, so a slow
        // Letta does not delay the start; a turn on an agent clears that agent's leftovers
        // itself before attaching), then periodically.
        crate::features::chat::turn::spawn_sweeper(state.clone());

        let store = Sessions::open(&pool).await?;
        tokio::spawn(
            store
                .clone()
                .continuously_delete_expired(Duration::from_secs(300)),
        );
        // Sign-in attempts older than the throttle's window count for nothing: forgotten, so
        // a flood of failures does not grow the table for good.
        let attempts_db = pool.clone();
        tokio::spawn(async move {
            let window = crate::auth::api::ssr::THROTTLE_WINDOW.as_millis() as i64;
            let mut every = tokio::time::interval(Duration::from_secs(300));
            loop {
                every.tick().await;
                if let Err(e) = db::login_attempts::prune(&attempts_db, db::now_ms() - window).await
                {
                    tracing::error!(error = %e, "pruning old sign-in attempts");
                }
            }
        });
        let sessions = SessionManagerLayer::new(store)
            .with_name(session_cookie_name(config.cookie_secure))
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(config.cookie_secure)
            .with_expiry(Expiry::OnInactivity(
                tower_sessions::cookie::time::Duration::try_from(config.session_idle)
                    .unwrap_or(tower_sessions::cookie::time::Duration::HOUR),
            ));

        let router = router(state.clone(), sessions);
        let listener = tokio::net::TcpListener::bind(leptos_options.site_addr).await?;
        let addr = listener.local_addr()?;
        Ok(Application {
            listener,
            router,
            addr,
            setup_token,
            state,
        })
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the open requests and leaves the
    /// instance table. With more than one worker each request is served on one of several
    /// single-threaded runtimes (see `crate::serve` for why); with one, on the caller's.
    pub async fn run_until_stopped(self) -> Result<(), BoxError> {
        let workers = self.state.config.workers;
        tracing::info!(addr = %self.addr, workers, "letta-admin listening on http://{}", self.addr);
        if workers > 1 {
            let mut serving = crate::serve::Workers::start(self.listener, self.router, workers)?;
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = serving.lost_one() => {}
            }
            serving.drain().await;
            // Others need not wait for this instance's expiry: its tickets end now, and its
            // journal rows (a failed detach) are swept by any live instance. Before the
            // workers' runtimes end: the pools' connections may be driven by them.
            self.state.instance.stop().await;
            serving.finish().await;
            tracing::info!("stopped");
            return Ok(());
        }
        use axum::serve::ListenerExt;
        // Responses go out as soon as they are written: without TCP_NODELAY a streamed body
        // (a static file, a server-rendered page, a chat turn) can wait ~40 ms on the client's
        // delayed ACK (Nagle); the load bench showed exactly that on every request.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        self.state.instance.stop().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The app's routes, generated once per process. Generating them renders the app with
/// resource loading switched off, and leptos_server's switch (`SuppressResourceLoad`) is one
/// process-wide flag: a page rendering on another thread meanwhile creates resources that
/// never load, and its render never ends. A second app built in the same process (the tests
/// build many, while others serve) must not generate them again.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn router(state: AppState, sessions: SessionManagerLayer<Sessions>) -> Router {
    let routes = route_list();
    let site = std::path::PathBuf::from(&*state.leptos_options.site_root);
    let pkg = site.join(&*state.leptos_options.site_pkg_dir);
    // With content-hashed names (see `assets`) browsers keep a file for a year without asking,
    // except the two whose name does not follow their bytes (`assets::is_immutable`). Unhashed
    // names (debug builds) are revalidated on every use (cheap: 304). Only found files are
    // cacheable; a 404 stays no-cache. cargo-leptos --precompress writes .br and .gz beside each
    // file; ServeDir picks the one the browser accepts.
    let assets = tower::ServiceBuilder::new()
        .layer(from_fn_with_state(
            state.leptos_options.clone(),
            asset_cache_policy,
        ))
        .service(ServeDir::new(pkg).precompressed_br().precompressed_gzip());

    // Server-rendered pages are compressed on the fly (a quick level: the persons page is ~26 KB
    // of HTML, brotli 4 makes it ~3 KB in well under a millisecond). Only pages: the built
    // assets are precompressed, and the API's chat stream must not wait in an encoder.
    let compression = || CompressionLayer::new().quality(CompressionLevel::Precise(4));
    let streamed_pages = get(page_handler).layer(compression());
    let whole_pages = get(whole_page_handler).layer(compression());
    // Screens whose route says `ssr=SsrMode::Async` (src/app.rs: their data is all in our
    // database) are rendered whole and sent in one piece; the others stream, so a slow Letta
    // delays only the part of the screen that waits for it.
    // The persons list has its own handler in front of the renderer: src/page_cache.rs.
    let (whole, streamed): (Vec<_>, Vec<_>) = routes
        .into_iter()
        .filter(|r| r.path() != PERSONS_LIST)
        .partition(|r| matches!(r.mode(), SsrMode::Async));

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::observability::metrics_endpoint))
        .route(
            crate::features::persons::api::EXPORT_PATH,
            get(crate::features::persons::service::export_csv),
        )
        .route(
            &format!("{}/{{*fn_name}}", crate::auth::API_PREFIX),
            get(server_fn_handler).post(server_fn_handler),
        )
        .route(PERSONS_LIST, get(persons_list_page).layer(compression()))
        .leptos_routes_with_handler(whole, whole_pages)
        .leptos_routes_with_handler(streamed, streamed_pages)
        .nest_service(&format!("/{}", state.leptos_options.site_pkg_dir), assets)
        .route_service(
            "/favicon.ico",
            tower_http::services::ServeFile::new(site.join("favicon.ico")),
        )
        .fallback(page_handler)
        .layer(from_fn_with_state(state.clone(), api_guard))
        .layer(sessions)
        .layer(from_fn(require_same_origin))
        .layer(from_fn(security_headers))
        // Outermost: who the client is, then the request's id and span, so every layer's log
        // lines (a refused cross-origin write included) carry the id.
        .layer(from_fn(crate::observability::request_context))
        .layer(from_fn_with_state(
            std::sync::Arc::from(state.config.trusted_proxies.clone()),
            crate::proxy::client_info,
        ))
        .with_state(state)
}

/// `Cache-Control` for a file under /pkg (see `assets::is_immutable`).
async fn asset_cache_policy(
    State(options): State<LeptosOptions>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let immutable = crate::assets::is_immutable(&options, req.uri().path().trim_start_matches('/'));
    let mut res = next.run(req).await;
    let value = if immutable && res.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match db::ping(&state.db).await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    // The user `api_guard` already looked up, for the function's own guard.
    let user = req
        .extensions()
        .get::<RequestUser>()
        .cloned()
        .unwrap_or_default();
    leptos_axum::handle_server_fns_with_context(
        move || {
            provide_context(state.clone());
            provide_context(user.clone());
        },
        req,
    )
    .await
}

/// Renders a page out of order as a stream: the frame first, each suspended part when its
/// data is in.
async fn page_handler(State(state): State<AppState>, req: Request<Body>) -> Response {
    render_page(
        state,
        req,
        SsrMode::OutOfOrder,
        RequestUser::default(),
        Nonce::new(),
    )
    .await
}

/// Renders a page whole, then sends it: for screens whose data is local and quick. No
/// fallbacks and no chunk-swapping scripts in the HTML, one write and one compression pass;
/// on the persons page that is about 40% more pages per second than streaming it.
async fn whole_page_handler(State(state): State<AppState>, req: Request<Body>) -> Response {
    render_page(
        state,
        req,
        SsrMode::Async,
        RequestUser::default(),
        Nonce::new(),
    )
    .await
}

/// The persons list's path (src/app.rs).
const PERSONS_LIST: &str = "/persons";

/// The persons list, answered from the page cache while nothing it shows has changed (see
/// src/page_cache.rs); otherwise rendered whole and kept.
async fn persons_list_page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let user = match &session {
        Some(s) => session_user(&state, s).await.ok().flatten(),
        None => None,
    };
    // Signed out (the render redirects) or the lookup failed (the render says why).
    let Some(user) = user else {
        return whole_page_handler(State(state), req).await;
    };
    // The user as the frame shows them, and the theme as the page renders it
    // (`<html data-theme>`).
    let who = (user.id, &user.username, user.role);
    let key = page_cache::Key::new(&req, (who, theme_of(req.headers())));
    let before = ListSnapshot::read(&state).await;
    let deps = before.fingerprint(&state, &user).await;
    let nonce = page_cache::fresh_nonce();
    if let Some(hit) = state.pages.get(&key, deps, &nonce) {
        return page_cache::with_csp(hit, &nonce);
    }
    // The render shows the snapshot the fingerprint was taken of (its total and verify pass).
    let res = render_page_with(
        state.clone(),
        req,
        SsrMode::Async,
        RequestUser::known(Some(user.clone())),
        Nonce::from_value(nonce.clone()),
        move || provide_context(before.clone()),
    )
    .await;
    if ListSnapshot::read(&state)
        .await
        .fingerprint(&state, &user)
        .await
        != deps
    {
        return res;
    }
    state.pages.put(key, deps, &nonce, res).await
}

/// Renders a page with its CSP nonce: the hydration scripts carry it, and the policy names it,
/// so no other inline script can run. `user` is the session's user when the caller already
/// looked it up (the page's guards reuse it), else empty.
async fn render_page(
    state: AppState,
    req: Request<Body>,
    mode: SsrMode,
    user: RequestUser,
    nonce: Nonce,
) -> Response {
    render_page_with(state, req, mode, user, nonce, || {}).await
}

/// [`render_page`], with more in the render's context (`provide`).
async fn render_page_with(
    state: AppState,
    req: Request<Body>,
    mode: SsrMode,
    user: RequestUser,
    nonce: Nonce,
    provide: impl Fn() + Clone + Send + Sync + 'static,
) -> Response {
    let csp = page_csp(&nonce.to_string());
    let options = state.leptos_options.clone();
    // The user, before the render: the frame is drawn from it at once (see `PageUser`). The
    // guards of the server functions the page calls reuse the same lookup.
    let page_user = match req.extensions().get::<Session>() {
        Some(session) => user.get(&state, session).await,
        None => Ok(None),
    };
    let page_user = crate::auth::PageUser(page_user);
    let context = move || {
        provide_context(state.clone());
        provide_context(nonce.clone());
        provide_context(user.clone());
        provide_context(page_user.clone());
        provide();
    };
    let app = move || shell(options.clone());
    let mut res = match mode {
        SsrMode::Async => leptos_axum::render_app_async_with_context(context, app)(req).await,
        _ => leptos_axum::render_app_to_stream_with_context(context, app)(req).await,
    }
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing open requests");
}

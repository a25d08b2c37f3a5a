//! Serving on every core: several single-threaded runtimes, one request never on two threads.
//!
//! Leptos 0.8's reactive graph (reactive_graph 0.2.16) deadlocks when the futures of ONE
//! server-side render are polled by two threads at once: each thread holds one of the
//! render's `RwLock`s and waits for the other's (both parked in `write_contended`; upstream
//! leptos-rs/leptos#4673). A multi-threaded tokio runtime does exactly that: a render's
//! resources are tasks, and work stealing runs them wherever a worker is free. So the
//! dashboard never renders on a multi-threaded runtime. Instead:
//!
//! - `workers` threads (`LETTA_ADMIN_WORKERS`, default the cores) each run a
//!   **current-thread** runtime of their own. A connection is served entirely by one of them:
//!   every task a request spawns (the render's resources, a chat turn, verify-all, a
//!   background run) stays on that thread, so a render's locks are only ever taken by one
//!   thread. Different requests on different threads share no reactive state.
//! - ONE accept loop, on the process's main runtime, hands each new connection to the worker
//!   with the fewest open connections. (Several accept loops on the one socket would leave a
//!   keep-alive client on whichever thread won the race for its connection: a burst of
//!   connections often lands on one thread while the other idles.)
//! - Shutdown: the accept loop stops, every worker finishes its open requests (axum's graceful
//!   shutdown), and only then may the caller stop the instance. The worker runtimes are kept
//!   alive until [`Workers::finish`], because connections opened from them (Postgres sockets,
//!   Letta's HTTP connections in reqwest's pool) are driven by the runtime that opened them
//!   and are shared by every thread through the pools.
//!
//! What kept a second runtime from buying a second core's worth of pages was not in this
//! file: every SQLite statement was two hand-offs to a sqlx connection thread, which on two
//! busy cores has to preempt a serving thread each time. The reads of every page view now run
//! on the serving thread (src/db/reader.rs), and two runtimes serve about twice the uncached
//! persons pages of one (README, Performance).
//!
//! One more process-wide hazard, found when apps were built while others served (the tests):
//! listing the routes renders the app with resource loading off, by a flag that is global to
//! the process, so it must happen once, before serving (`startup::route_list`).
//!
//! With one worker the caller serves on its own runtime as before (see `startup`).

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    thread::JoinHandle,
    time::Duration,
};

use axum::{serve::ListenerExt, Router};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::{mpsc, watch},
};

/// The serving threads, started by [`Workers::start`].
pub struct Workers {
    threads: Vec<JoinHandle<()>>,
    /// Set to stop accepting and drain (the accept loop and every worker watch it).
    stop: watch::Sender<bool>,
    /// Set once the caller is done with the pools: the workers' runtimes may end.
    finish: watch::Sender<bool>,
    /// One message per worker whose server has returned (or whose thread panicked).
    drained: mpsc::UnboundedReceiver<()>,
    /// Workers whose message has not come yet.
    serving: usize,
    accept: tokio::task::JoinHandle<()>,
}

/// Tells [`Workers`] that a worker's server has returned, when dropped: also when its thread
/// unwinds from a panic.
struct Drained(mpsc::UnboundedSender<()>);

impl Drop for Drained {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// One worker as the accept loop sees it.
struct Slot {
    connections: mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>,
    open: Arc<AtomicUsize>,
}

impl Workers {
    /// Starts `n` worker threads serving `router`, and the accept loop on `listener` (on the
    /// caller's runtime).
    pub fn start(listener: tokio::net::TcpListener, router: Router, n: usize) -> io::Result<Self> {
        let (stop, stop_rx) = watch::channel(false);
        let (finish, finish_rx) = watch::channel(false);
        let (drained_tx, drained) = mpsc::unbounded_channel();
        let local = listener.local_addr()?;
        let mut slots = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            let open = Arc::new(AtomicUsize::new(0));
            slots.push(Slot {
                connections: tx,
                open: open.clone(),
            });
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name(format!("serve-{i}"))
                .build()?;
            let router = router.clone();
            let mut stop = stop_rx.clone();
            let mut finish = finish_rx.clone();
            let drained = Drained(drained_tx.clone());
            let thread = std::thread::Builder::new()
                .name(format!("serve-{i}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let incoming = Handed {
                            connections: rx,
                            open,
                            local,
                        };
                        let served = axum::serve(
                            incoming.tap_io(|_| {}),
                            router.into_make_service_with_connect_info::<SocketAddr>(),
                        )
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|s| *s).await;
                        })
                        .await;
                        if let Err(e) = served {
                            tracing::error!(error = %e, worker = i, "serving failed");
                        }
                        drop(drained);
                        let _ = finish.wait_for(|f| *f).await;
                    })
                })?;
            threads.push(thread);
        }
        let accept = tokio::spawn(accept_loop(listener, slots, stop_rx));
        Ok(Workers {
            threads,
            stop,
            finish,
            drained,
            serving: n,
            accept,
        })
    }

    /// Stops accepting, and returns once every worker has answered its open requests (or
    /// when one of them has stopped on its own, which ends the others too).
    pub async fn drain(&mut self) {
        let _ = self.stop.send(true);
        while self.serving > 0 {
            if self.drained.recv().await.is_none() {
                break;
            }
            self.serving -= 1;
        }
    }

    /// Resolves when a worker stops without being asked (its thread panicked or its server
    /// failed): the process should not go on with fewer workers than configured, unnoticed.
    pub async fn lost_one(&mut self) {
        if self.drained.recv().await.is_some() {
            self.serving -= 1;
        }
        tracing::error!("a serving thread stopped; shutting down");
    }

    /// Lets the worker runtimes end, and waits for their threads.
    pub async fn finish(mut self) {
        let _ = self.finish.send(true);
        self.accept.abort();
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

impl Drop for Workers {
    /// Dropped without `finish` (the serving future was dropped, as a test's app is): stop
    /// and let the threads end on their own once their connections close.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.finish.send(true);
        self.accept.abort();
    }
}

/// Accepts connections and hands each to the worker with the fewest open ones.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    slots: Vec<Slot>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: as axum's own loop does, wait a
                // moment rather than spin.
                tracing::error!(error = %e, "accepting a connection");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Responses go out as soon as they are written: without TCP_NODELAY a streamed body
        // can wait ~40 ms on the client's delayed ACK (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "handing a connection over");
                continue;
            }
        };
        let Some(slot) = slots.iter().min_by_key(|s| s.open.load(Ordering::Relaxed)) else {
            return;
        };
        slot.open.fetch_add(1, Ordering::Relaxed);
        if slot.connections.send((stream, addr)).is_err() {
            // That worker is gone (`lost_one` ends the process); the connection closes.
            slot.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A worker's side of the accept loop: the connections handed to it.
struct Handed {
    connections: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    open: Arc<AtomicUsize>,
    local: SocketAddr,
}

impl axum::serve::Listener for Handed {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            let Some((stream, addr)) = self.connections.recv().await else {
                // The accept loop has stopped: nothing more comes (the graceful shutdown
                // ends the server).
                std::future::pending::<()>().await;
                unreachable!()
            };
            let open = Open(self.open.clone());
            // Registered with THIS thread's runtime: the connection is driven here.
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => {
                    return (
                        Counted {
                            stream,
                            _open: open,
                        },
                        addr,
                    )
                }
                Err(e) => tracing::error!(error = %e, "taking a connection"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Counts a worker's open connection until dropped.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection that counts itself open on its worker while it lives.
pub struct Counted {
    stream: tokio::net::TcpStream,
    _open: Open,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// The name of the thread that answers, after an optional pause (`?ms=`).
    async fn which_thread(
        axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, u64>>,
    ) -> String {
        if let Some(ms) = q.get("ms") {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
        std::thread::current().name().unwrap_or("?").to_string()
    }

    fn client() -> reqwest::Client {
        // One connection per client: each client below is one keep-alive connection.
        reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn connections_are_spread_over_the_workers_and_each_stays_on_its_thread() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let router = Router::new().route("/", get(which_thread));
        let mut workers = Workers::start(listener, router, 2).unwrap();

        // Two connections open at once go to the two workers (the one with fewer open
        // connections gets the next), and every request on a connection is answered by the
        // same thread: the requests of one connection never meet two threads.
        let (a, b) = (client(), client());
        let slow = format!("{url}?ms=200");
        let (first_a, first_b) = tokio::join!(
            async { a.get(&slow).send().await.unwrap().text().await.unwrap() },
            async { b.get(&slow).send().await.unwrap().text().await.unwrap() },
        );
        let mut names = [first_a.clone(), first_b.clone()];
        names.sort();
        assert_eq!(names, ["serve-0", "serve-1"]);
        for _ in 0..5 {
            assert_eq!(
                a.get(&url).send().await.unwrap().text().await.unwrap(),
                first_a
            );
            assert_eq!(
                b.get(&url).send().await.unwrap().text().await.unwrap(),
                first_b
            );
        }

        // Draining finishes a request already running, and nothing new is accepted after.
        let running = tokio::spawn({
            let a = a.clone();
            let url = format!("{url}?ms=500");
            async move { a.get(&url).send().await.map(|r| r.status()) }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(b);
        tokio::time::timeout(Duration::from_secs(10), workers.drain())
            .await
            .expect("the workers drain");
        assert_eq!(running.await.unwrap().unwrap(), 200);
        assert!(client().get(&url).send().await.is_err(), "still accepting");
        workers.finish().await;
    }
}

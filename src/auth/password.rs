//! Password hashing with argon2id, always off the async runtime (it is deliberately slow).

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Checked on the server for every new password (setup, create, reset, CLI).
pub fn validate_new_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(AppError::invalid(
            "password",
            format!("Password must be at least {MIN_PASSWORD_LEN} characters."),
        ));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(AppError::invalid(
            "password",
            format!("Password must be at most {MAX_PASSWORD_LEN} characters."),
        ));
    }
    Ok(())
}

/// How long a sign-in waits for a free hashing worker before it is answered "busy": long
/// enough to ride out a burst of real users, short enough that a flood cannot pile up.
pub const SIGN_IN_WAIT: Duration = Duration::from_secs(3);
/// Setting a password (setup, the users page, the CLI) is rarer and worth a longer wait.
const SET_PASSWORD_WAIT: Duration = Duration::from_secs(30);
/// What a caller that found every worker busy is told to wait.
const BUSY_RETRY_SECS: u32 = 2;

/// The argon2 workers: a few dedicated threads, one per core (at most four), that do every
/// hash and verify in the process.
///
/// Each argon2id call allocates its whole memory cost (19 MiB with the default parameters).
/// Run on tokio's blocking pool, every sign-in got its own thread, and with it its own
/// allocation (and, with glibc, often its own malloc arena that keeps the memory): 120
/// parallel anonymous attempts took the process to 3 GB. Here at most `workers` hashes run at
/// once, always on the same few threads, so resident memory stays within a few argon2
/// instances of idle however many attempts arrive. A caller first takes a permit (waiting at
/// most its deadline), so the queue in front of the threads is never longer than the pool.
pub struct HashPool {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    workers: usize,
}

type Job = Box<dyn FnOnce() + Send>;

impl HashPool {
    fn start(workers: usize) -> HashPool {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        // A panicking job must not take the worker with it.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        HashPool {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            workers,
        }
    }

    /// The process's pool: one worker per available core, between one and four.
    pub fn global() -> &'static HashPool {
        static POOL: OnceLock<HashPool> = OnceLock::new();
        POOL.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            HashPool::start(cores.clamp(1, 4))
        })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `work` on a worker once one is free within `wait`; `Busy` otherwise.
    async fn run<T: Send + 'static>(
        &self,
        wait: Duration,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit =
            match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return Err(AppError::Busy {
                    message:
                        "The server is busy checking other passwords. Try again in a few seconds."
                            .into(),
                    retry_after_secs: BUSY_RETRY_SECS,
                }),
            };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        if self.jobs.send(job).is_err() {
            tracing::error!("password hashing threads are gone");
            return Err(AppError::Internal);
        }
        let out = rx.await.map_err(|_| {
            tracing::error!("password hashing job failed");
            AppError::Internal
        });
        drop(permit);
        out
    }
}

/// Makes every allocation of 1 MiB or more a mapping of its own, returned to the system when
/// freed. Each argon2 call allocates its 19 MiB and frees it again; glibc's default raises its
/// mmap threshold after the first such free, and from then on keeps the freed blocks in its
/// per-thread heaps: measured, 200 parallel sign-ins left the process 370 MB larger for good
/// even with two hashing threads, and with this call it peaked 47 MB above idle and went back.
/// Called once, first thing in `main`.
pub fn keep_hash_memory_off_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator tunable; it is called before other threads
    // allocate much, and any value is valid for M_MMAP_THRESHOLD up to 32 MiB.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

pub async fn hash(password: String) -> Result<String, AppError> {
    HashPool::global()
        .run(SET_PASSWORD_WAIT, move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

/// A real hash of a random password, verified against when the user does not exist so an
/// unknown username takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let pw = hex::encode(crate::crypto::random_bytes::<16>().unwrap_or([42; 16]));
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Verifies `password` against `stored`, or against a dummy hash when `stored` is `None`.
/// `Busy` when no hashing worker was free within [`SIGN_IN_WAIT`].
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    HashPool::global()
        .run(SIGN_IN_WAIT, move || {
            let exists = stored.is_some();
            let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
            let ok = PasswordHash::new(&stored)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && exists
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_pool_answers_busy_and_never_runs_more_than_its_workers() {
        let pool = Arc::new(HashPool::start(2));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        // Two jobs hold both workers until released.
        let mut held = vec![];
        for _ in 0..2 {
            let (pool, running, gate) = (pool.clone(), running.clone(), gate.clone());
            held.push(tokio::spawn(async move {
                pool.run(Duration::from_secs(30), move || {
                    running.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = gate.lock().unwrap().recv();
                })
                .await
            }));
        }
        while running.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        // A third caller finds no worker and is told to come back, without running.
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = ran.clone();
        let e = pool
            .run(Duration::from_millis(50), move || {
                r.store(true, std::sync::atomic::Ordering::SeqCst)
            })
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Busy { .. }), "{e:?}");
        assert_eq!(e.status(), 503);
        assert_eq!(e.retry_after_secs(), Some(BUSY_RETRY_SECS));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        // Once the workers are free, the next caller runs.
        release.send(()).unwrap();
        release.send(()).unwrap();
        for h in held {
            h.await.unwrap().unwrap();
        }
        assert_eq!(pool.run(Duration::from_secs(30), || 7).await.unwrap(), 7);
    }

    #[test]
    fn short_passwords_are_refused_beside_the_field() {
        let e = validate_new_password("short").unwrap_err();
        assert!(e.for_field("password").is_some());
        assert!(validate_new_password("long enough pw").is_ok());
    }
}

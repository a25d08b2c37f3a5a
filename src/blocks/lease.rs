//! One chat turn at a time per agent.
//!
//! The Letta server does not lock an agent (NOTES: Messages, Concurrency), so the dashboard
//! serialises the turns on each agent itself: [`AgentLocks`] is the small interface.
//! [`DbAgentLocks`] (what the dashboard runs) keeps the queue in the database, so it holds for
//! every dashboard process sharing it; [`LocalAgentLocks`] keeps fair queues in this process
//! only (for unit tests of the turn logic).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Notify;

/// Why a turn did not get the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockError {
    /// Other turns held the agent for the whole allowed wait.
    TimedOut,
    /// The queue could not be read or written (the database failed), or this instance lost
    /// its place (it was paused past its expiry).
    Unavailable,
}

/// Held while a turn owns its agent; dropping it lets the next turn in.
pub trait AgentLease: Send + Sync {
    /// Whether the turn still owns the agent, asked before each Letta write (attach, send,
    /// detach): a holder paused past its lease must not touch the agent after another turn
    /// took it.
    fn still_held(&self) -> BoxFuture<'_, bool>;

    /// Lets the next turn in, and returns once it may go. Dropping the lease does the same in
    /// the background; a turn that ends normally awaits this instead, so its release never
    /// races the next turn's queueing (on SQLite two writers at once means one sleeps in the
    /// busy handler, milliseconds on every turn).
    fn release(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Serialises chat turns per agent; turns on different agents never wait for each other.
pub trait AgentLocks: Send + Sync + 'static {
    /// Waits for `agent_id`, at most `wait`. While waiting, `on_position` hears how many turns
    /// are ahead (1 = next) whenever that changes. Dropping the future leaves the queue.
    fn acquire<'a>(
        &'a self,
        agent_id: &'a str,
        wait: Duration,
        on_position: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Result<Box<dyn AgentLease>, LockError>>;
}

#[derive(Default)]
struct Queue {
    tickets: Mutex<VecDeque<u64>>,
    changed: Notify,
}

/// Removes its ticket from the queue when dropped: on release, on timeout, or when the waiting
/// future is dropped.
struct Ticket {
    locks: Arc<QueueMap>,
    agent_id: String,
    queue: Arc<Queue>,
    id: u64,
}

/// The map a ticket needs to tidy up after itself.
type QueueMap = Mutex<HashMap<String, Arc<Queue>>>;

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut queues = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        let empty = {
            let mut tickets = self.queue.tickets.lock().unwrap_or_else(|e| e.into_inner());
            tickets.retain(|t| *t != self.id);
            tickets.is_empty()
        };
        if empty {
            // No one waits: forget the agent (checked under the map lock, so no new ticket
            // can be racing into this queue).
            if queues
                .get(&self.agent_id)
                .is_some_and(|q| Arc::ptr_eq(q, &self.queue))
            {
                queues.remove(&self.agent_id);
            }
        }
        drop(queues);
        self.queue.changed.notify_waiters();
    }
}

impl AgentLease for Ticket {
    // In one process nothing can take the agent while the ticket lives.
    fn still_held(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        drop(self);
        Box::pin(async {})
    }
}

/// In-process FIFO queues, one per agent with waiting or running turns. Cheap to clone.
#[derive(Default, Clone)]
pub struct LocalAgentLocks(Arc<LocalLocksState>);

#[derive(Default)]
struct LocalLocksState {
    queues: Arc<QueueMap>,
    next_ticket: AtomicU64,
}

impl LocalAgentLocks {
    /// Turns queued or running on `agent_id`.
    pub fn queued(&self, agent_id: &str) -> usize {
        let queues = self.0.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.get(agent_id).map_or(0, |q| {
            q.tickets.lock().unwrap_or_else(|e| e.into_inner()).len()
        })
    }
}

impl AgentLocks for LocalAgentLocks {
    fn acquire<'a>(
        &'a self,
        agent_id: &'a str,
        wait: Duration,
        on_position: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Result<Box<dyn AgentLease>, LockError>> {
        Box::pin(async move {
            let id = self.0.next_ticket.fetch_add(1, Ordering::Relaxed);
            let queue = {
                let mut queues = self.0.queues.lock().unwrap_or_else(|e| e.into_inner());
                let queue = queues.entry(agent_id.to_owned()).or_default().clone();
                queue
                    .tickets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_back(id);
                queue
            };
            let ticket = Ticket {
                locks: self.0.queues.clone(),
                agent_id: agent_id.to_owned(),
                queue: queue.clone(),
                id,
            };
            let deadline = tokio::time::Instant::now() + wait;
            let mut last = None;
            loop {
                // Register for the wake-up before looking, so a release in between is not lost.
                let changed = queue.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let ahead = queue
                    .tickets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .position(|t| *t == id)
                    .unwrap_or(0);
                if ahead == 0 {
                    return Ok(Box::new(ticket) as Box<dyn AgentLease>);
                }
                if last != Some(ahead) {
                    on_position(ahead);
                    last = Some(ahead);
                }
                if tokio::time::timeout_at(deadline, changed).await.is_err() {
                    return Err(LockError::TimedOut);
                }
            }
        })
    }
}

/// How often a waiting turn looks at the queue again when no release in this process woke it
/// (a release in another process is seen within this).
const DB_POLL: Duration = Duration::from_millis(50);

/// The agent queue in the database, shared by every dashboard instance on it.
///
/// Taking the agent is one statement: a ticket row (`agent_tickets`, ids in arrival order, so
/// first come, first served across processes). The turn holds the agent while its ticket is
/// the lowest live one for that agent; a ticket is live while its instance's heartbeat is
/// (see `instance`), which is how the lease is renewed: one heartbeat per process, not one
/// write per turn. The ticket id is the fencing token: [`AgentLease::still_held`] checks the
/// ticket is still the holder and its instance alive for at least a quarter of the expiry
/// more, before every Letta write. A process paused past its expiry finds its tickets void
/// and does not touch the agent again; the next live ticket has the agent by then.
#[derive(Clone)]
pub struct DbAgentLocks {
    db: crate::db::Db,
    instance: crate::instance::Instance,
    /// Woken when a lease of this process ends, so local waiters need not wait for a poll.
    released: Arc<Notify>,
}

impl DbAgentLocks {
    pub fn new(db: crate::db::Db, instance: crate::instance::Instance) -> Self {
        DbAgentLocks {
            db,
            instance,
            released: Arc::new(Notify::new()),
        }
    }

    async fn standing(&self, ticket: i64, margin_ms: i64) -> Result<Option<i64>, sqlx::Error> {
        crate::db::instances::standing(
            &self.db,
            ticket,
            self.instance.now_ms(),
            self.instance.expiry_ms(),
            margin_ms,
        )
        .await
    }
}

/// A ticket in the database; removed when dropped (released, timed out, or the waiting
/// future dropped).
struct DbTicket {
    locks: DbAgentLocks,
    id: i64,
    /// Released explicitly (see [`AgentLease::release`]): nothing left for `drop`.
    done: bool,
}

impl Drop for DbTicket {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (db, id, released) = (self.locks.db.clone(), self.id, self.locks.released.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = crate::db::instances::drop_ticket(&db, id).await {
                    // The ticket stays until this instance ends; the agent stays held by it.
                    tracing::error!(error = %e, ticket = id, "could not release an agent ticket");
                }
                released.notify_waiters();
            });
        }
    }
}

impl AgentLease for DbTicket {
    fn still_held(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let margin = self.locks.instance.expiry_ms() / 4;
            match self.locks.standing(self.id, margin).await {
                Ok(Some(0)) => true,
                Ok(_) => {
                    tracing::error!(
                        ticket = self.id,
                        "this turn no longer holds its agent (its lease expired); it stops here"
                    );
                    false
                }
                Err(e) => {
                    tracing::error!(error = %e, ticket = self.id, "lease check failed");
                    false
                }
            }
        })
    }

    fn release(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        self.done = true;
        let (db, id, released) = (self.locks.db.clone(), self.id, self.locks.released.clone());
        Box::pin(async move {
            if let Err(e) = crate::db::instances::drop_ticket(&db, id).await {
                tracing::error!(error = %e, ticket = id, "could not release an agent ticket");
            }
            released.notify_waiters();
        })
    }
}

impl AgentLocks for DbAgentLocks {
    fn acquire<'a>(
        &'a self,
        agent_id: &'a str,
        wait: Duration,
        on_position: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Result<Box<dyn AgentLease>, LockError>> {
        Box::pin(async move {
            let id = crate::db::instances::take_ticket(
                &self.db,
                agent_id,
                &self.instance.id(),
                self.instance.now_ms(),
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not queue for an agent");
                LockError::Unavailable
            })?;
            let ticket = DbTicket {
                locks: self.clone(),
                id,
                done: false,
            };
            let deadline = tokio::time::Instant::now() + wait;
            let mut last = None;
            loop {
                let released = self.released.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                match self.standing(id, 0).await {
                    Ok(Some(0)) => return Ok(Box::new(ticket) as Box<dyn AgentLease>),
                    Ok(Some(ahead)) => {
                        let ahead = ahead as usize;
                        if last != Some(ahead) {
                            on_position(ahead);
                            last = Some(ahead);
                        }
                    }
                    Ok(None) => return Err(LockError::Unavailable),
                    Err(e) => tracing::warn!(error = %e, "agent queue read failed; retrying"),
                }
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    return Err(LockError::TimedOut);
                }
                let nap = DB_POLL.min(deadline - now);
                tokio::select! {
                    _ = released => {}
                    _ = tokio::time::sleep(nap) => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn quiet(_: usize) {}

    #[tokio::test]
    async fn turns_on_one_agent_run_one_at_a_time_in_order() {
        let locks = LocalAgentLocks::default();
        let inside = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (locks, inside, order) = (locks.clone(), inside.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _lease = locks
                    .acquire("agent-1", Duration::from_secs(10), &quiet)
                    .await
                    .expect("lease");
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two turns inside");
                order.lock().unwrap().push(i);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
            // Queue them in a known order.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
        assert_eq!(locks.queued("agent-1"), 0, "queue forgotten when empty");
    }

    #[tokio::test]
    async fn different_agents_do_not_wait_for_each_other() {
        let locks = LocalAgentLocks::default();
        let _a = locks
            .acquire("agent-a", Duration::from_secs(1), &quiet)
            .await
            .unwrap();
        let b = locks
            .acquire("agent-b", Duration::from_millis(50), &quiet)
            .await;
        assert!(b.is_ok());
    }

    #[tokio::test]
    async fn waiting_reports_positions_and_times_out() {
        let locks = LocalAgentLocks::default();
        let first = locks
            .acquire("agent-1", Duration::from_secs(1), &quiet)
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let record = move |p: usize| seen2.lock().unwrap().push(p);
        let second = locks
            .acquire("agent-1", Duration::from_millis(30), &record)
            .await;
        assert_eq!(second.err(), Some(LockError::TimedOut));
        assert_eq!(*seen.lock().unwrap(), vec![1]);
        // The timed-out turn left the queue: only the holder remains.
        assert_eq!(locks.queued("agent-1"), 1);
        drop(first);
        assert_eq!(locks.queued("agent-1"), 0);
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_the_queue_and_positions_move_up() {
        let locks = LocalAgentLocks::default();
        let first = locks
            .acquire("agent-1", Duration::from_secs(1), &quiet)
            .await
            .unwrap();
        // A waiter that gives up (e.g. the browser went away).
        let gone = tokio::time::timeout(
            Duration::from_millis(20),
            locks.acquire("agent-1", Duration::from_secs(10), &quiet),
        )
        .await;
        assert!(gone.is_err());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (locks2, seen2) = (locks.clone(), seen.clone());
        let third = tokio::spawn(async move {
            let record = move |p: usize| seen2.lock().unwrap().push(p);
            locks2
                .acquire("agent-1", Duration::from_secs(5), &record)
                .await
                .map(|_| ())
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        third.await.unwrap().unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            vec![1],
            "next in line, not behind the gone one"
        );
    }
}

//! All-or-nothing Letta operations. Each step that changed Letta is journaled in the database
//! right after it succeeded; if a later step fails, the done steps are undone newest first. A
//! crash leaves the journal behind, and `recover` (run at every start) undoes it then.

use crate::db::Db;

use crate::{
    db,
    letta::{LettaClient, LettaError},
};

/// A step that changed something in Letta, and so has an undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    IdentityCreated {
        identity_id: String,
    },
    BlockCreated {
        block_id: String,
    },
    BlockLinked {
        block_id: String,
        identity_id: String,
    },
}

impl Step {
    fn journal(&self) -> (&'static str, &str, Option<&str>) {
        match self {
            Step::IdentityCreated { identity_id } => ("identity_created", identity_id, None),
            Step::BlockCreated { block_id } => ("block_created", block_id, None),
            Step::BlockLinked {
                block_id,
                identity_id,
            } => ("block_linked", block_id, Some(identity_id)),
        }
    }

    fn from_row(row: &db::saga::StepRow) -> Option<Step> {
        Some(match row.step.as_str() {
            "identity_created" => Step::IdentityCreated {
                identity_id: row.resource_id.clone(),
            },
            "block_created" => Step::BlockCreated {
                block_id: row.resource_id.clone(),
            },
            "block_linked" => Step::BlockLinked {
                block_id: row.resource_id.clone(),
                identity_id: row.other_id.clone()?,
            },
            _ => return None,
        })
    }

    /// Undoes the step. Already undone (404) counts as done.
    pub async fn undo(&self, client: &LettaClient) -> Result<(), LettaError> {
        let result = match self {
            Step::IdentityCreated { identity_id } => client.identities().delete(identity_id).await,
            Step::BlockCreated { block_id } => client.blocks().delete(block_id).await,
            Step::BlockLinked {
                block_id,
                identity_id,
            } => client
                .blocks()
                .detach_identity(block_id, identity_id)
                .await
                .map(|_| ()),
        };
        match result {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }
}

pub struct Saga<'a> {
    db: &'a Db,
    client: &'a LettaClient,
    id: String,
    kind: &'static str,
    done: Vec<(i64, Step)>,
}

impl<'a> Saga<'a> {
    pub fn begin(db: &'a Db, client: &'a LettaClient, kind: &'static str) -> Saga<'a> {
        let id = hex::encode(crate::crypto::random_bytes::<8>().unwrap_or_default());
        Saga {
            db,
            client,
            id,
            kind,
            done: vec![],
        }
    }

    /// Journals a step that has just succeeded in Letta.
    pub async fn did(&mut self, step: Step) -> Result<(), sqlx::Error> {
        let (name, resource, other) = step.journal();
        let row = db::saga::record(self.db, &self.id, self.kind, name, resource, other).await?;
        self.done.push((row, step));
        Ok(())
    }

    /// The whole succeeded: forget the journal.
    pub async fn complete(self) -> Result<(), sqlx::Error> {
        db::saga::finish(self.db, &self.id).await
    }

    /// Undoes every done step, newest first. Returns false if something could not be undone
    /// (its journal row stays, and the next start tries again).
    pub async fn undo(self) -> bool {
        let mut clean = true;
        for (row, step) in self.done.into_iter().rev() {
            match step.undo(self.client).await {
                Ok(()) => {
                    if let Err(e) = db::saga::remove_step(self.db, row).await {
                        tracing::error!(error = %e, "saga: could not clear a journal row");
                    }
                }
                Err(e) => {
                    clean = false;
                    tracing::error!(error = %e, ?step, saga = %self.id, "saga: undo failed; left for recovery");
                }
            }
        }
        clean
    }
}

/// Undoes the steps of sagas a crash interrupted. Returns how many steps were undone.
pub async fn recover(db: &Db, client: &LettaClient) -> Result<usize, sqlx::Error> {
    let mut undone = 0;
    for row in db::saga::pending(db).await? {
        let Some(step) = Step::from_row(&row) else {
            db::saga::remove_step(db, row.id).await?;
            continue;
        };
        match step.undo(client).await {
            Ok(()) => {
                db::saga::remove_step(db, row.id).await?;
                undone += 1;
            }
            Err(e) => tracing::warn!(error = %e, ?step, "saga recovery: undo failed, will retry"),
        }
    }
    if undone > 0 {
        tracing::info!(undone, "undid the steps of interrupted operations");
    }
    Ok(undone)
}

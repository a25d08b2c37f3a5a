//! Runs (`/v1/runs/...`): the server-side record of one agent turn, e.g. after
//! `messages().send_async`.

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{LettaMessage, MessageFilter, Run};

pub struct Runs<'a> {
    client: &'a LettaClient,
}

impl<'a> Runs<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Runs { client }
    }

    /// `GET /v1/runs/{run_id}`. Poll until `status.is_terminal()`.
    pub async fn get(&self, run_id: &str) -> Result<Run, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "runs", run_id]), &())
            .await
    }

    /// `GET /v1/runs/{run_id}/messages`: the messages of that turn (user message included).
    pub async fn messages(
        &self,
        run_id: &str,
        filter: &MessageFilter,
    ) -> Result<Vec<LettaMessage>, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "runs", run_id, "messages"]), filter)
            .await
    }
}

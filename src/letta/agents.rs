//! Agents (`/v1/agents/...`): CRUD, core-memory block links, identity links, context overview.

use reqwest::Method;

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{
    AgentCountFilter, AgentFilter, AgentState, Block, ContextWindowOverview, CreateAgentRequest,
    UpdateAgent,
};

pub struct Agents<'a> {
    client: &'a LettaClient,
}

impl<'a> Agents<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Agents { client }
    }

    /// `GET /v1/agents/`. 50 by default.
    ///
    /// The returned agents carry their `blocks` and `identity_ids` only because we send our own
    /// User-Agent (see [`crate::letta::client::http_client`]).
    pub async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentState>, LettaError> {
        self.client
            .get(ApiPath::collection(&["v1", "agents"]), filter)
            .await
    }

    /// `GET /v1/agents/count`: how many agents match (filters honoured).
    pub async fn count(&self, filter: &AgentCountFilter) -> Result<u64, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "agents", "count"]), filter)
            .await
    }

    /// `GET /v1/agents/{id}`.
    pub async fn get(&self, agent_id: &str) -> Result<AgentState, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "agents", agent_id]), &())
            .await
    }

    /// `POST /v1/agents/`.
    pub async fn create(&self, body: &CreateAgentRequest) -> Result<AgentState, LettaError> {
        self.client
            .post(ApiPath::collection(&["v1", "agents"]), body)
            .await
    }

    /// `PATCH /v1/agents/{id}`: changes the `Some` fields.
    pub async fn update(
        &self,
        agent_id: &str,
        body: &UpdateAgent,
    ) -> Result<AgentState, LettaError> {
        self.client
            .patch(ApiPath::item(&["v1", "agents", agent_id]), Some(body))
            .await
    }

    /// `DELETE /v1/agents/{id}`.
    pub async fn delete(&self, agent_id: &str) -> Result<(), LettaError> {
        self.client
            .delete(ApiPath::item(&["v1", "agents", agent_id]))
            .await
    }

    /// `PATCH /v1/agents/{id}/core-memory/blocks/attach/{block_id}`. Repeating it is harmless.
    ///
    /// Letta quirk (NOTES: Messages, Concurrency): the server does not lock an agent; two
    /// concurrent attaches of different persona blocks both succeed. Serialize per agent in the
    /// caller.
    pub async fn attach_block(
        &self,
        agent_id: &str,
        block_id: &str,
    ) -> Result<AgentState, LettaError> {
        self.client
            .patch::<_, ()>(
                ApiPath::item(&[
                    "v1",
                    "agents",
                    agent_id,
                    "core-memory",
                    "blocks",
                    "attach",
                    block_id,
                ]),
                None,
            )
            .await
    }

    /// `PATCH /v1/agents/{id}/core-memory/blocks/detach/{block_id}`.
    ///
    /// Letta quirk (NOTES: Agents): detaching a block that is not attached (e.g. a repeat) is a
    /// 404, [`LettaError::NotFound`]. A caller that only wants "not attached afterwards" can treat
    /// `err.is_not_found()` as success (a missing agent or block is also a 404).
    pub async fn detach_block(
        &self,
        agent_id: &str,
        block_id: &str,
    ) -> Result<AgentState, LettaError> {
        self.client
            .patch::<_, ()>(
                ApiPath::item(&[
                    "v1",
                    "agents",
                    agent_id,
                    "core-memory",
                    "blocks",
                    "detach",
                    block_id,
                ]),
                None,
            )
            .await
    }

    /// `GET /v1/agents/{id}/core-memory/blocks`: the blocks attached to the agent.
    pub async fn core_blocks(&self, agent_id: &str) -> Result<Vec<Block>, LettaError> {
        self.client
            .get(
                ApiPath::item(&["v1", "agents", agent_id, "core-memory", "blocks"]),
                &(),
            )
            .await
    }

    /// `PATCH /v1/agents/{id}/identities/attach/{identity_id}`.
    pub async fn attach_identity(
        &self,
        agent_id: &str,
        identity_id: &str,
    ) -> Result<(), LettaError> {
        self.client
            .send_unit::<()>(
                Method::PATCH,
                ApiPath::item(&[
                    "v1",
                    "agents",
                    agent_id,
                    "identities",
                    "attach",
                    identity_id,
                ]),
                None,
            )
            .await
    }

    /// `PATCH /v1/agents/{id}/identities/detach/{identity_id}`.
    pub async fn detach_identity(
        &self,
        agent_id: &str,
        identity_id: &str,
    ) -> Result<(), LettaError> {
        self.client
            .send_unit::<()>(
                Method::PATCH,
                ApiPath::item(&[
                    "v1",
                    "agents",
                    agent_id,
                    "identities",
                    "detach",
                    identity_id,
                ]),
                None,
            )
            .await
    }

    /// `GET /v1/agents/{id}/context`: token counts per context-window section (deprecated in the
    /// spec, works on 0.16.8).
    pub async fn context(&self, agent_id: &str) -> Result<ContextWindowOverview, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "agents", agent_id, "context"]), &())
            .await
    }
}

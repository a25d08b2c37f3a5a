//! Archival memory (`/v1/agents/{id}/archival-memory...`). There is no update route for
//! passages: edit = delete + create.

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{
    ArchivalMemorySearch, ArchivalMemorySearchResponse, CreateArchivalMemory, Passage,
    PassageFilter,
};

pub struct Passages<'a> {
    client: &'a LettaClient,
}

impl<'a> Passages<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Passages { client }
    }

    /// `GET /v1/agents/{id}/archival-memory`. The server sends each passage's `embedding`
    /// vector; [`Passage`] drops it while decoding (NOTES: Archival memory).
    pub async fn list(
        &self,
        agent_id: &str,
        filter: &PassageFilter,
    ) -> Result<Vec<Passage>, LettaError> {
        self.client
            .get(
                ApiPath::item(&["v1", "agents", agent_id, "archival-memory"]),
                filter,
            )
            .await
    }

    /// `GET /v1/agents/{id}/archival-memory/search`: semantic search.
    pub async fn search(
        &self,
        agent_id: &str,
        query: &ArchivalMemorySearch,
    ) -> Result<ArchivalMemorySearchResponse, LettaError> {
        self.client
            .get(
                ApiPath::item(&["v1", "agents", agent_id, "archival-memory", "search"]),
                query,
            )
            .await
    }

    /// `POST /v1/agents/{id}/archival-memory`. The server answers a LIST of passages (a long
    /// text may be split into several).
    pub async fn create(
        &self,
        agent_id: &str,
        text: &str,
        tags: &[String],
    ) -> Result<Vec<Passage>, LettaError> {
        let body = CreateArchivalMemory {
            text: text.to_owned(),
            tags: tags.to_vec(),
        };
        self.client
            .post(
                ApiPath::item(&["v1", "agents", agent_id, "archival-memory"]),
                &body,
            )
            .await
    }

    /// `DELETE /v1/agents/{id}/archival-memory/{passage_id}`.
    pub async fn delete(&self, agent_id: &str, passage_id: &str) -> Result<(), LettaError> {
        self.client
            .delete(ApiPath::item(&[
                "v1",
                "agents",
                agent_id,
                "archival-memory",
                passage_id,
            ]))
            .await
    }
}

//! Blocks (`/v1/blocks/...`).
//!
//! Letta quirk (NOTES: Blocks, "blocks list is unreliable"): `GET /v1/blocks/` pages oldest
//! first, never lists hidden/template blocks and its `label` filter rejects many labels, so this
//! client deliberately offers no block listing: keep block ids in the dashboard's database and
//! fetch blocks by id.

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{Block, BlockUpdate, CreateBlock};

pub struct Blocks<'a> {
    client: &'a LettaClient,
}

impl<'a> Blocks<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Blocks { client }
    }

    /// `POST /v1/blocks/`.
    ///
    /// Letta quirk (NOTES: Blocks): the server stores a `value` longer than `limit` and lets a
    /// `read_only` block be changed; check both before calling.
    pub async fn create(&self, body: &CreateBlock) -> Result<Block, LettaError> {
        self.client
            .post(ApiPath::collection(&["v1", "blocks"]), body)
            .await
    }

    /// `GET /v1/blocks/count`: how many blocks the server holds (templates aside), or how
    /// many have exactly `label`.
    pub async fn count(&self, label: Option<&str>) -> Result<u64, LettaError> {
        #[derive(serde::Serialize)]
        struct Query<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            label: Option<&'a str>,
        }
        self.client
            .get(ApiPath::item(&["v1", "blocks", "count"]), &Query { label })
            .await
    }

    /// `GET /v1/blocks/{id}`.
    pub async fn get(&self, block_id: &str) -> Result<Block, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "blocks", block_id]), &())
            .await
    }

    /// `PATCH /v1/blocks/{id}`: changes the `Some` fields (same caveat as [`Self::create`]).
    pub async fn update(&self, block_id: &str, body: &BlockUpdate) -> Result<Block, LettaError> {
        self.client
            .patch(ApiPath::item(&["v1", "blocks", block_id]), Some(body))
            .await
    }

    /// `DELETE /v1/blocks/{id}`. Also detaches the block from every agent.
    pub async fn delete(&self, block_id: &str) -> Result<(), LettaError> {
        self.client
            .delete(ApiPath::item(&["v1", "blocks", block_id]))
            .await
    }

    /// `PATCH /v1/blocks/{block_id}/identities/attach/{identity_id}`: link the block to an
    /// identity (then listed by `identities().blocks(identity_id)`).
    pub async fn attach_identity(
        &self,
        block_id: &str,
        identity_id: &str,
    ) -> Result<Block, LettaError> {
        self.client
            .patch::<_, ()>(
                ApiPath::item(&[
                    "v1",
                    "blocks",
                    block_id,
                    "identities",
                    "attach",
                    identity_id,
                ]),
                None,
            )
            .await
    }

    /// `PATCH /v1/blocks/{block_id}/identities/detach/{identity_id}`.
    pub async fn detach_identity(
        &self,
        block_id: &str,
        identity_id: &str,
    ) -> Result<Block, LettaError> {
        self.client
            .patch::<_, ()>(
                ApiPath::item(&[
                    "v1",
                    "blocks",
                    block_id,
                    "identities",
                    "detach",
                    identity_id,
                ]),
                None,
            )
            .await
    }
}

//! Models (`/v1/models/...`): the handles an agent can be created with.

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{EmbeddingModel, Model};

pub struct Models<'a> {
    client: &'a LettaClient,
}

impl<'a> Models<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Models { client }
    }

    /// `GET /v1/models/`: LLM models.
    pub async fn list(&self) -> Result<Vec<Model>, LettaError> {
        self.client
            .get(ApiPath::collection(&["v1", "models"]), &())
            .await
    }

    /// `GET /v1/models/embedding`.
    pub async fn embedding(&self) -> Result<Vec<EmbeddingModel>, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "models", "embedding"]), &())
            .await
    }
}

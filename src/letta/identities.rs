//! Identities (`/v1/identities/...`). All marked deprecated in the 0.16.8 spec; they work.

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{
    AgentState, Block, Identity, IdentityCreate, IdentityFilter, IdentityProperty, IdentityUpdate,
    Upserted,
};

pub struct Identities<'a> {
    client: &'a LettaClient,
}

impl<'a> Identities<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Identities { client }
    }

    /// `GET /v1/identities/`: newest first, 50 by default.
    pub async fn list(&self, filter: &IdentityFilter) -> Result<Vec<Identity>, LettaError> {
        self.client
            .get(ApiPath::collection(&["v1", "identities"]), filter)
            .await
    }

    /// `GET /v1/identities/count`.
    pub async fn count(&self) -> Result<u64, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "identities", "count"]), &())
            .await
    }

    /// `GET /v1/identities/{id}`.
    pub async fn get(&self, identity_id: &str) -> Result<Identity, LettaError> {
        self.client
            .get(ApiPath::item(&["v1", "identities", identity_id]), &())
            .await
    }

    /// The identity with exactly this `identifier_key`, if any.
    pub async fn find_by_key(&self, identifier_key: &str) -> Result<Option<Identity>, LettaError> {
        let found = self
            .list(&IdentityFilter {
                identifier_key: Some(identifier_key.to_owned()),
                limit: Some(2),
                ..IdentityFilter::default()
            })
            .await?;
        // The filter is exact on the server; checking again costs nothing.
        Ok(found
            .into_iter()
            .find(|i| i.identifier_key == identifier_key))
    }

    /// `POST /v1/identities/`. A duplicate `identifier_key` is [`LettaError::Conflict`].
    pub async fn create(&self, body: &IdentityCreate) -> Result<Identity, LettaError> {
        self.client
            .post(ApiPath::collection(&["v1", "identities"]), body)
            .await
    }

    /// `PUT /v1/identities/`: update the identity with `body.identifier_key`.
    ///
    /// Letta quirk (NOTES: Identities): despite being the "upsert" route it CANNOT create: for a
    /// new key it answers 404 ([`LettaError::NotFound`]). Use [`Self::upsert_by_key`].
    pub async fn upsert_existing(&self, body: &IdentityCreate) -> Result<Identity, LettaError> {
        self.client
            .put(ApiPath::collection(&["v1", "identities"]), body)
            .await
    }

    /// Create or update by `identifier_key`: look the key up, then PUT (exists) or POST (new),
    /// because the server's upsert cannot create (see [`Self::upsert_existing`]).
    ///
    /// Not atomic: if another writer creates the same key between the lookup and the POST, the
    /// POST fails with [`LettaError::Conflict`]; we then retry once as an update.
    pub async fn upsert_by_key(
        &self,
        body: &IdentityCreate,
    ) -> Result<(Identity, Upserted), LettaError> {
        if self.find_by_key(&body.identifier_key).await?.is_some() {
            return Ok((self.upsert_existing(body).await?, Upserted::Updated));
        }
        match self.create(body).await {
            Ok(identity) => Ok((identity, Upserted::Created)),
            Err(LettaError::Conflict { .. }) => {
                Ok((self.upsert_existing(body).await?, Upserted::Updated))
            }
            Err(e) => Err(e),
        }
    }

    /// `PATCH /v1/identities/{id}`: changes the `Some` fields; `properties` are MERGED by key
    /// (NOTES: Identities).
    pub async fn update(
        &self,
        identity_id: &str,
        body: &IdentityUpdate,
    ) -> Result<Identity, LettaError> {
        self.client
            .patch(
                ApiPath::item(&["v1", "identities", identity_id]),
                Some(body),
            )
            .await
    }

    /// `PUT /v1/identities/{id}/properties` with a bare array: REPLACES all properties.
    /// (The spec declares an empty answer; 0.16.8 answers the updated identity.)
    pub async fn replace_properties(
        &self,
        identity_id: &str,
        properties: &[IdentityProperty],
    ) -> Result<Identity, LettaError> {
        self.client
            .put(
                ApiPath::item(&["v1", "identities", identity_id, "properties"]),
                properties,
            )
            .await
    }

    /// `DELETE /v1/identities/{id}`.
    pub async fn delete(&self, identity_id: &str) -> Result<(), LettaError> {
        self.client
            .delete(ApiPath::item(&["v1", "identities", identity_id]))
            .await
    }

    /// `GET /v1/identities/{id}/blocks`: the blocks really linked to this identity (the
    /// identity's own `block_ids` is always empty, NOTES: Identities).
    pub async fn blocks(&self, identity_id: &str) -> Result<Vec<Block>, LettaError> {
        self.client
            .get(
                ApiPath::item(&["v1", "identities", identity_id, "blocks"]),
                &(),
            )
            .await
    }

    /// `GET /v1/identities/{id}/agents`: the agents really linked to this identity.
    pub async fn agents(&self, identity_id: &str) -> Result<Vec<AgentState>, LettaError> {
        self.client
            .get(
                ApiPath::item(&["v1", "identities", identity_id, "agents"]),
                &(),
            )
            .await
    }
}

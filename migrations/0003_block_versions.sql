-- Every value of an agent's core memory block (other than a person's Persona_ block, whose
-- history is persona_versions) that the dashboard wrote or saw: the agent page's block history
-- and restore. Keyed by the Letta block id, which the dashboard keeps.

CREATE TABLE block_versions (
    id         INTEGER PRIMARY KEY,
    block_id   TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    actor      TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX block_versions_by_block ON block_versions (block_id, id);

-- The agent page flags persona blocks attached to an agent: find the person by block id.
CREATE INDEX persons_by_block ON persons (block_id);

-- One history for every core memory block the dashboard writes or sees (issue #19): the
-- persona editor's (persona_versions, kept per person) and the agent page's (block_versions,
-- kept per Letta block id) become one table. A row belongs to a person or to a block, never
-- both. Version ids are renumbered; within one history their order is kept.

CREATE TABLE block_history (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER REFERENCES persons (id) ON DELETE CASCADE,
    block_id   TEXT,
    value      TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    actor      TEXT,
    at         INTEGER NOT NULL,
    CHECK ((person_id IS NULL) <> (block_id IS NULL))
);

INSERT INTO block_history (person_id, block_id, value, source, actor, at)
    SELECT person_id, NULL, value, source, actor, at FROM persona_versions ORDER BY id;
INSERT INTO block_history (person_id, block_id, value, source, actor, at)
    SELECT NULL, block_id, value, source, actor, at FROM block_versions ORDER BY id;
DROP TABLE persona_versions;
DROP TABLE block_versions;

CREATE INDEX block_history_by_person ON block_history (person_id, id) WHERE person_id IS NOT NULL;
CREATE INDEX block_history_by_block ON block_history (block_id, id) WHERE block_id IS NOT NULL;

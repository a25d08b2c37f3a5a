-- Persons: the people agents talk to, each bound to a Letta identity (type user) and a core
-- memory block labelled Persona_<username>. The Letta ids are kept here and always used from
-- here: the server's block list is unreliable.

CREATE TABLE persons (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    -- lower(display_name), kept by the application: indexed for prefix search and sorting.
    display_key    TEXT    NOT NULL,
    notes          TEXT    NOT NULL DEFAULT '',
    identity_id    TEXT,
    block_id       TEXT,
    block_limit    INTEGER NOT NULL,
    -- Result of the last verification: ok, identity_missing, block_missing, unlinked,
    -- label_changed, unreachable, unknown (never checked).
    health         TEXT    NOT NULL DEFAULT 'unknown',
    health_detail  TEXT,
    checked_at     INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    created_by     TEXT
);
CREATE INDEX persons_by_display ON persons (display_key, id);
CREATE INDEX persons_by_created ON persons (created_at, id);
CREATE INDEX persons_by_identity ON persons (identity_id);

-- Every value of a persona block the dashboard wrote or saw: the editor's history and what a
-- repair restores from.
CREATE TABLE persona_versions (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    value      TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    actor      TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX persona_versions_by_person ON persona_versions (person_id, id);

-- The journal of multi-step Letta operations (sagas): one row per step done, removed when the
-- saga completes or is undone. Rows left by a crash are undone at the next start.
CREATE TABLE saga_steps (
    id           INTEGER PRIMARY KEY,
    saga_id      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    step         TEXT    NOT NULL,
    resource_id  TEXT    NOT NULL,
    other_id     TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX saga_steps_by_saga ON saga_steps (saga_id, id);

-- The turn ledger: one row per chat turn, streamed or in the background, written when the turn
-- is queued and completed when it ends (a turn whose instance died is ended as `interrupted` by
-- the sweeper). Kept for LETTA_ADMIN_LEDGER_DAYS days. The names are copies, so an entry stays
-- readable after the user or person is gone.
CREATE TABLE chat_turns (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id           TEXT    NOT NULL UNIQUE,
    instance_id       TEXT    NOT NULL,
    user_id           INTEGER NOT NULL,
    username          TEXT    NOT NULL,
    person_id         INTEGER NOT NULL,
    person            TEXT    NOT NULL,
    agent_id          TEXT    NOT NULL,
    background        INTEGER NOT NULL,
    queued_at         INTEGER NOT NULL,
    -- When the turn got the agent (NULL: it never did).
    started_at        INTEGER,
    -- NULL while the turn runs.
    ended_at          INTEGER,
    run_id            TEXT,
    -- complete, cancelled, stopped, timed_out, failed, interrupted (NULL while running).
    outcome           TEXT,
    reason            TEXT,
    -- attached, already (attached before the turn), failed; NULL: never tried.
    attach            TEXT,
    -- detached, failed (left in the journal), skipped (the lease was lost); NULL: nothing to do.
    detach            TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    total_tokens      INTEGER
);
CREATE INDEX chat_turns_queued ON chat_turns (queued_at);
CREATE INDEX chat_turns_agent ON chat_turns (agent_id, id);
CREATE INDEX chat_turns_person ON chat_turns (person_id, id);
CREATE INDEX chat_turns_running ON chat_turns (instance_id) WHERE ended_at IS NULL;
-- A user's own recent chats (the Overview).
CREATE INDEX chat_turns_user ON chat_turns (user_id, queued_at);

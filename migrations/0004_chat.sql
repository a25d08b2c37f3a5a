-- The chat journal: a row per persona block the dashboard attached to an agent for one turn.
-- Written BEFORE the attach, removed only after the detach succeeded; the sweeper detaches
-- whatever is left (a crash, a failed detach).
CREATE TABLE chat_attachments (
    turn_id    TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL,
    block_id   TEXT NOT NULL,
    person_id  INTEGER NOT NULL,
    -- Background turns: the Letta run the block is attached for.
    run_id     TEXT,
    started_at INTEGER NOT NULL
);
CREATE INDEX chat_attachments_agent ON chat_attachments (agent_id);
CREATE INDEX chat_attachments_person ON chat_attachments (person_id);

-- Background (async) turns, so the chat page can show them after a reload.
CREATE TABLE chat_runs (
    turn_id     TEXT PRIMARY KEY,
    run_id      TEXT,
    agent_id    TEXT NOT NULL,
    person_id   INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    message     TEXT NOT NULL,
    -- waiting | created | running | completed | failed | cancelled | error
    status      TEXT NOT NULL,
    detail      TEXT,
    -- The reply's text once the run is done.
    reply       TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX chat_runs_agent ON chat_runs (agent_id, created_at);

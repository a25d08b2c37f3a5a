-- Postgres twin of ../0004_chat.sql.

CREATE TABLE chat_attachments (
    turn_id    TEXT   PRIMARY KEY,
    agent_id   TEXT   NOT NULL,
    block_id   TEXT   NOT NULL,
    person_id  BIGINT NOT NULL,
    run_id     TEXT,
    started_at BIGINT NOT NULL
);
CREATE INDEX chat_attachments_agent ON chat_attachments (agent_id);
CREATE INDEX chat_attachments_person ON chat_attachments (person_id);

CREATE TABLE chat_runs (
    turn_id     TEXT   PRIMARY KEY,
    run_id      TEXT,
    agent_id    TEXT   NOT NULL,
    person_id   BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    message     TEXT   NOT NULL,
    -- waiting | created | running | completed | failed | cancelled | error
    status      TEXT   NOT NULL,
    detail      TEXT,
    reply       TEXT,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX chat_runs_agent ON chat_runs (agent_id, created_at);

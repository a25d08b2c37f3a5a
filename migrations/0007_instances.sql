-- Several dashboard processes on one database: each registers itself, and the chat lock and
-- journal name the instance that owns each row.

-- A running dashboard process. Alive while `heartbeat_at` is recent (the configured expiry);
-- a restarted process is a new instance with a new id.
CREATE TABLE instances (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- Chat turns waiting for or holding an agent, across every instance, in arrival order. The
-- lowest ticket of an agent whose instance is alive holds the agent; its id is the lease's
-- fencing token (AUTOINCREMENT: ids are never reused, so a newer holder always has a larger
-- one).
CREATE TABLE agent_tickets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    TEXT    NOT NULL,
    instance_id TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX agent_tickets_agent ON agent_tickets (agent_id, id);
CREATE INDEX agent_tickets_instance ON agent_tickets (instance_id);

-- NULL: written before instances existed (owned by no live instance: swept).
ALTER TABLE chat_attachments ADD COLUMN instance_id TEXT;
ALTER TABLE chat_runs ADD COLUMN instance_id TEXT;

-- Counters bumped after every write to a table whose derived views are cached (the rendered
-- persons list): in the database, so a write through any instance invalidates every
-- instance's cache.
CREATE TABLE generations (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO generations (name, value) VALUES ('persons', 0);

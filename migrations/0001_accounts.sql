-- Dashboard accounts, login throttling, audit log and settings.
-- Timestamps are UTC milliseconds since the epoch (portable: plain integers).

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'staff')),
    disabled       INTEGER NOT NULL DEFAULT 0,
    -- Bumped on password reset, disable and role change: sessions carrying an older epoch end.
    session_epoch  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE login_attempts (
    id           INTEGER PRIMARY KEY,
    username     TEXT    NOT NULL,
    client_addr  TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    succeeded    INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_username ON login_attempts (username, at);
CREATE INDEX login_attempts_by_addr ON login_attempts (client_addr, at);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor    TEXT,
    action   TEXT    NOT NULL,
    target   TEXT,
    outcome  TEXT    NOT NULL,
    detail   TEXT
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_at ON audit_log (at, id);

-- Key/value settings with provenance (where a value came from, when, by whom).
CREATE TABLE settings (
    key         TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT
);

-- Chat scenarios (issue #27): a named, ordered list of steps (a person and a message, with
-- optional expectations) that staff run against an agent, and every run of one with each
-- step's reply, tool calls, tokens, time and the outcome of each expectation.
--
-- `steps` (scenarios) and `steps` (runs, a snapshot taken when the run starts, so a later
-- edit does not change what an old run shows) are JSON arrays written and read only by
-- src/features/chat/scenarios; `tools` and `checks` likewise. The names (`owner`, `username`,
-- `person`) are copies, so a run stays readable after its user or person is gone.
CREATE TABLE scenarios (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    -- NULL: the agent is picked when the scenario is run.
    agent_id    TEXT,
    steps       TEXT    NOT NULL,
    owner_id    INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX scenarios_by_name ON scenarios (name);

CREATE TABLE scenario_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    scenario_id  INTEGER NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    agent_id     TEXT    NOT NULL,
    steps        TEXT    NOT NULL,
    user_id      INTEGER NOT NULL,
    username     TEXT    NOT NULL,
    -- The dashboard process running it: a run whose process died is ended as interrupted.
    instance_id  TEXT    NOT NULL,
    -- running, passed, failed, stopped, interrupted.
    status       TEXT    NOT NULL,
    reason       TEXT,
    -- Set by Stop; the run checks it between steps and while a step's turn runs.
    stop_at      INTEGER,
    stop_by      TEXT,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX scenario_runs_by_scenario ON scenario_runs (scenario_id, id);
CREATE INDEX scenario_runs_running ON scenario_runs (instance_id) WHERE ended_at IS NULL;

CREATE TABLE scenario_run_steps (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id            INTEGER NOT NULL REFERENCES scenario_runs (id) ON DELETE CASCADE,
    step_index        INTEGER NOT NULL,
    person_id         INTEGER NOT NULL,
    person            TEXT    NOT NULL,
    message           TEXT    NOT NULL,
    turn_id           TEXT,
    -- running, passed, failed (an expectation), error (the turn failed), stopped.
    status            TEXT    NOT NULL,
    reply             TEXT    NOT NULL,
    tools             TEXT    NOT NULL,
    checks            TEXT    NOT NULL,
    error             TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    total_tokens      INTEGER,
    elapsed_ms        INTEGER,
    -- 1: the block was detached (or had been attached before), 0: the detach failed.
    detached          INTEGER,
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER,
    UNIQUE (run_id, step_index)
);

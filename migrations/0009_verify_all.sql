-- The persons' "Verify all", shared by every dashboard instance on the database: one row. The
-- instance that claimed it runs the pass and records its progress here, so every instance
-- shows the same progress bar and none starts a second pass while the owner is alive.
-- (0008 is the turn ledger's.)
CREATE TABLE persons_verify (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    running     INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL,
    -- JSON: [[username, health, detail], …] of the persons that are not ok.
    problems    TEXT    NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    instance_id TEXT
);
INSERT INTO persons_verify (id, running, total, done, problems) VALUES (1, FALSE, 0, 0, '[]');

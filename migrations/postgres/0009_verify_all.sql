-- Postgres twin of ../0009_verify_all.sql.
CREATE TABLE persons_verify (
    id          BIGINT  PRIMARY KEY CHECK (id = 1),
    running     BOOLEAN NOT NULL,
    total       BIGINT  NOT NULL,
    done        BIGINT  NOT NULL,
    problems    TEXT    NOT NULL,
    started_at  BIGINT,
    finished_at BIGINT,
    instance_id TEXT
);
INSERT INTO persons_verify (id, running, total, done, problems) VALUES (1, FALSE, 0, 0, '[]');

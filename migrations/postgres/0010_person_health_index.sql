-- Postgres twin of ../0010_person_health_index.sql.

CREATE INDEX persons_problems ON persons (username) WHERE health NOT IN ('ok', 'unknown');
CREATE INDEX persons_unchecked ON persons (id) WHERE health = 'unknown';
CREATE INDEX persons_checked ON persons (checked_at);

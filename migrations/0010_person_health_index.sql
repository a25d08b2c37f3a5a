-- The Overview counts persons with problems at their last check, and when the last check ran,
-- without reading every person.
CREATE INDEX persons_problems ON persons (username) WHERE health NOT IN ('ok', 'unknown');
CREATE INDEX persons_unchecked ON persons (id) WHERE health = 'unknown';
CREATE INDEX persons_checked ON persons (checked_at);

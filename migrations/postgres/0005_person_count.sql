-- Postgres twin of ../0005_person_count.sql: the same counter, kept by PL/pgSQL triggers.
-- Concurrent inserts serialise on the counter's row until they commit (a short wait), and a
-- rolled-back insert rolls its increment back with it.
CREATE TABLE person_count (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO person_count (id, n) SELECT 1, COUNT(*) FROM persons;

CREATE FUNCTION person_count_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE person_count SET n = n + 1 WHERE id = 1;
    ELSE
        UPDATE person_count SET n = n - 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER person_count_insert AFTER INSERT ON persons
    FOR EACH ROW EXECUTE FUNCTION person_count_bump();
CREATE TRIGGER person_count_delete AFTER DELETE ON persons
    FOR EACH ROW EXECUTE FUNCTION person_count_bump();

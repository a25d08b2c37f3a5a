-- Postgres twin of ../0006_login_throttle.sql.
CREATE INDEX login_attempts_by_pair ON login_attempts (username, client_addr, at);

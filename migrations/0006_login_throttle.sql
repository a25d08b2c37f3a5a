-- Sign-in throttle: failures per (username, client address) are counted before each password check.
CREATE INDEX login_attempts_by_pair ON login_attempts (username, client_addr, at);

//! The integration tests: ONE test binary with a module per capability (zero2prod's layout).
//! Each module used to be a binary of its own, and each of those linked the whole app: one link
//! instead of 24 saves minutes of build and gigabytes of disk on this 2-core machine.
//!
//! All modules run in one process, at the same time (libtest's threads). Whatever is
//! process-wide is shared by every module's tests: the metrics recorder (tests read deltas),
//! the log subscriber (installed once for all: `common::capture_warnings`,
//! `common::capture_debug`), the route list and the password-hashing pool. Each app runs on a
//! runtime of its own that ends with it, so apps do not pile up over the run. Nothing here may
//! set environment variables or change the current directory.
//!
//! Run one capability with a filter on the module path: `cargo test --features ssr --test api
//! -- chat::` (a filter matches anywhere in `module::test_name`, so `chat::` does not match
//! `chat_contract::` or `chat_crash::`). `scripts/pg-tests.sh --cargo-args` names the modules
//! that run again on Postgres.

mod common;

mod access;
mod agents;
mod agents_contract;
mod assets;
mod auth;
mod backup;
mod chat;
mod chat_contract;
mod chat_crash;
mod csrf;
mod health;
mod hostile;
mod identities;
mod letta_contract;
mod letta_faults;
mod migrate_db;
mod overview;
mod page_cache;
mod persona;
mod persons;
mod persons_contract;
mod scenarios;
mod scenarios_contract;
mod secrets;
mod settings;
mod users;

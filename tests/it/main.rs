//! Every Rust integration test, in one test binary.
//!
//! Each `tests/*.rs` file used to be its own crate: its own binary linking
//! the whole library and its dependencies, which on CI's two cores was
//! minutes of linking. Here each former file is a module: its tests are
//! `<file>::<test>` in the binary `it` (`cargo test --test it sse::` runs
//! one file's).
//!
//! One process also means shared process state: tests run in parallel
//! threads of it, so none may set environment variables, change directory,
//! install a global subscriber or signal handler, or read this process's own
//! memory (the memory tests measure a spawned binary instead). `layout.rs`
//! checks that no test file is left outside this crate.

mod api;

mod challenges;
mod chat;
mod chat_identity;
mod claims;
mod cluster_lab;
mod common;
mod echo;
mod fanout;
mod faults;
mod faults_outage;
mod faults_proxy;
mod faults_unavailable;
mod flood;
mod grader;
mod har_memory;
mod hosts;
mod interview_cap;
mod lab;
mod layering;
mod layout;
mod learner_stores;
mod lesson_faults;
mod lessons;
mod limits;
mod load;
mod load_lab;
mod logging;
mod no_panic;
mod persistence;
mod polling;
mod redis;
mod reference_servers;
mod restart;
mod resume;
mod sandbox_caps;
mod security;
mod shutdown;
mod slow_consumer;
mod sse;
mod sse_rules;
mod storm;
mod timeouts;
mod tls;
mod topic_cap;
mod traffic;
mod traffic_bound;
mod traffic_catch_up;
mod traffic_learner;
mod vanish;
mod websocket;
mod workshop;

//! End-to-end tests of hybrid-store against a running stack: the Worker in workerd, the data API
//! and PostgreSQL. The tests live in `tests/`; run them with `cargo test -p e2e` after
//! `cargo xtask up` (they read `.local/stack.env`'s variables from the environment), or let
//! `cargo xtask test` run them against a throwaway stack.
//!
//! Design decision: the tests talk HTTP to the Worker only, except where they must prove the
//! database holds on its own (the data API directly) or that nothing was left behind (SQL), and
//! they FAIL, never skip, when the stack is not there.

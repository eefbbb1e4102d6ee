//! The routes' own code, one module per resource: what each route parses, which database
//! function it calls and what it answers. Authorization is not here: `app` has already enforced
//! [`crate::routes::Route::access`] and hands each handler the identity to call the database as.
//!
//! Design decision: handlers take the [`crate::db::Rpc`] as a generic parameter and return a
//! [`Reply`] (status + JSON), never a `worker::Response`, so they run natively in tests; `app`
//! alone renders HTTP.

pub mod clients;
pub mod data;
pub mod export;
pub mod inspect;
pub mod login;
pub mod uploads;

use serde_json::Value;

/// A successful JSON answer before it becomes a `Response`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// Answers a retried upload from the stored result (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            replayed: false,
        }
    }
}

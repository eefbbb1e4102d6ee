//! `hybrid-data-api`: a PostgREST-compatible data API for local development and tests. It serves
//! what the Worker and a frontend's `supabase-js` use of Supabase — the gateway's `apikey` check,
//! PostgREST's JWT auth, RPC under `/rest/v1/rpc/{fn}` and reads of tables and views under
//! `/rest/v1/{relation}` with PostgREST's modifiers, its OpenAPI root and CORS, and Supabase
//! Auth's public JWKS and `/auth/v1/user` — over a pool of connections that log in as
//! `authenticator`. What it does not implement answers 501 `PGRSTX501` naming the feature.
//!
//! Design decision: like PostgREST, every call is one SQL statement built from a schema cache of
//! the exposed functions (reloaded on `NOTIFY pgrst, 'reload schema'`), with the arguments sent as
//! one JSON parameter; PostgreSQL does all type conversion and applies argument defaults, so the
//! server never interprets argument values itself.

pub mod auth;
pub mod config;
pub mod error;
mod gotrue;
mod openapi;
pub mod query;
mod reload;
pub mod rpc;
pub mod schema;
pub mod server;

use std::future::Future;
use std::sync::{Arc, RwLock};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::net::TcpListener;
use tokio_postgres::NoTls;

pub use config::Config;

/// A startup failure (the pool cannot be built); runtime database outages are retried instead.
#[derive(Debug)]
pub struct StartError {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for StartError {}

/// Serves on `listener` until `shutdown` completes, then finishes in-flight requests and returns.
/// The database need not be up yet: `GET /` answers 503 until the schema cache has loaded.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let manager = Manager::from_config(
        config.db.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StartError {
            code: "pool_config",
            message: format!("cannot build the connection pool: {e}"),
        })?;
    let state = Arc::new(server::AppState {
        pool,
        auth: auth::Authenticator::new(&config),
        schema: RwLock::new(None),
        max_body_bytes: config.max_body_bytes,
        max_rows: config.max_rows,
        public_jwks: server::public_jwks(config.jwks.as_ref()),
    });
    let reloader = tokio::spawn(reload::keep_schema_fresh(config.db.clone(), state.clone()));
    let result = axum::serve(listener, server::router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    reloader.abort();
    result.map_err(|e| StartError {
        code: "serve_failed",
        message: format!("the HTTP server stopped: {e}"),
    })
}

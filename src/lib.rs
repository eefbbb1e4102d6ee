//! hybrid-store's Cloudflare Worker: a multi-tenant JSONB data API in front of Supabase PostgREST.
//!
//! Design decision: tenant isolation is the database's job. Client routes forward the caller's
//! own verified JWT to PostgREST so row-level security decides what is visible; the service key
//! is used only after the Worker has verified a superadmin. Everything that can be pure (routing,
//! claims, cursors, error mapping, PHC parsing, OpenAPI) is, and is unit-tested natively; I/O is
//! confined to `postgrest`, `auth` (JWKS) and `crypto` (WebCrypto), called from `handlers`.

// ApiError is ~128 bytes; an error ends the request, so boxing it would buy nothing measurable.
#![allow(clippy::result_large_err)]

mod auth;
mod body;
mod client_id;
mod clients;
mod config;
mod crypto;
mod error;
mod export;
mod handlers;
mod jwt;
mod multipart;
mod openapi;
mod password;
mod postgrest;
mod query;
mod routes;
mod uploads;

use worker::{event, Context, Env, Request, Response};

// Panics are logged by the `worker` crate's own panic hook (console.error "Rust panic: …").
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(handlers::handle(req, &env).await)
}

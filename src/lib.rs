//! The hybrid-store Worker (stub; see docs/ARCHITECTURE.md).
use worker::*;

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::from_json(&serde_json::json!({"status": "ok"}))
}

//! The Worker's cron work (`[triggers] crons` in `wrangler.toml`): removing abandoned uploads.
//!
//! Design decision: an upload whose request died (client gone, Worker restarted) stays pending
//! with its staged rows until someone calls `cleanup_abandoned_uploads`; no request does, so the
//! cron trigger does, as the service role, with the function's default age (1 hour, far beyond
//! the 30 s after which `begin_upload` already treats an idle upload as abandoned).

use worker::{console_error, console_log, Env};

use crate::app::load_config;
use crate::db::{self, fetch::FetchRpc};

pub async fn run(env: &Env) {
    let config = match load_config(env) {
        Ok(c) => c,
        Err(e) => {
            console_error!("scheduled cleanup: {}", e.message);
            return;
        }
    };
    match db::cleanup_abandoned_uploads(&FetchRpc { config: &config }).await {
        Ok(removed) => console_log!("scheduled cleanup: {removed} abandoned uploads removed"),
        Err(e) => console_error!(
            "scheduled cleanup failed: {} {}",
            e.code.as_str(),
            e.internal.as_deref().unwrap_or(&e.message)
        ),
    }
}

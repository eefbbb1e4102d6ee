//! The [`Rpc`] implementation the Worker runs with: PostgREST over `worker::Fetch`.
//!
//! Design decision: the key choice per [`Who`] is a pure function ([`upstream_headers`]) so it is
//! unit-tested natively; only [`FetchRpc::call`] and [`get_json`] touch the network.
//!
//! Every call is raced against a timer ([`timeout_for`]): `fetch` itself never gives up on a data
//! API that accepted the connection and then stopped answering (a frozen process, a lost packet
//! after the handshake), and one such call would hold its request, and the caller, forever. On
//! expiry the fetch is aborted through its `AbortSignal` (so the connection is released) and the
//! caller gets 504 `upstream_timeout`; the call may still have completed upstream, which is why
//! the limit is long for the writes that move or delete many rows in one transaction.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

use super::{Failure, Rpc, Who};
use crate::config::{ApiKey, Config};
use crate::error::ApiError;

/// The headers of an RPC call as `who`.
pub fn upstream_headers(config: &Config, who: Who) -> Vec<(&'static str, String)> {
    let (key, bearer): (&ApiKey, Option<&str>) = match who {
        Who::Client { token } => (&config.anon_key, Some(token)),
        // With an `sb_secret_…` key there is no JWT: the key alone selects the service role.
        Who::Service => (&config.service_key, config.service_key.as_bearer()),
    };
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("accept", "application/json".to_owned()),
        ("apikey", key.value().to_owned()),
    ];
    if let Some(b) = bearer {
        headers.push(("authorization", format!("Bearer {b}")));
    }
    headers
}

/// How long one call to the data API may take, answer body included. Reads and batches take
/// milliseconds; 15 s is above Supabase's 8 s `statement_timeout` for the `authenticated` role,
/// so a slow query ends as the database's own error first.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// For the functions that work on every row of an upload or a client in one transaction
/// (`commit_upload` moves up to 2,000,000 staged rows).
pub const LONG_CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// The time limit of one call of `function`.
pub fn timeout_for(function: &str) -> Duration {
    match function {
        "commit_upload" | "delete_client" | "cleanup_abandoned_uploads" => LONG_CALL_TIMEOUT,
        _ => CALL_TIMEOUT,
    }
}

/// `work`'s output, or `None` when `limit` passed first (`work` is then dropped, unfinished).
async fn within<T>(limit: Duration, work: impl Future<Output = T>) -> Option<T> {
    match select(pin!(work), pin!(Delay::from(limit))).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(_) => None,
    }
}

/// The whole body as text, by the runtime's own `Response.text()`: one call. workers-rs's
/// `Response::text` reads a streamed body chunk by chunk through wasm-streams (a reader, a JS
/// round trip and a copy per chunk, then `releaseLock`): the largest part of a page read in a
/// CPU profile, ~8 % of the runtime's CPU per read when measured without the profiler.
async fn whole_text(response: web_sys::Response) -> Result<String, JsValue> {
    let text = JsFuture::from(response.text()?).await?;
    text.as_string()
        .ok_or_else(|| JsValue::from_str("the body is not text"))
}

/// Sends `request` and reads its answer as text within `limit`; aborts the fetch on expiry.
async fn exchange(request: Request, url: &str, limit: Duration) -> Result<(u16, String), Failure> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let answer = within(limit, async {
        let response = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|e| Failure::Unreachable(format!("{url}: {e}")))?;
        let status = response.status_code();
        let body = whole_text(response.into())
            .await
            .map_err(|e| Failure::Unreachable(format!("reading {url}: {e:?}")))?;
        Ok((status, body))
    })
    .await;
    answer.unwrap_or_else(|| {
        controller.abort();
        Err(Failure::Timeout(format!(
            "{url}: no complete answer within {} s",
            limit.as_secs()
        )))
    })
}

/// PostgREST at `config.rest_url`.
pub struct FetchRpc<'a> {
    pub config: &'a Config,
}

impl Rpc for FetchRpc<'_> {
    async fn call(&self, who: Who<'_>, function: &str, args: String) -> Result<String, Failure> {
        let url = format!("{}/rpc/{function}", self.config.rest_url);
        let headers = Headers::new();
        for (k, v) in upstream_headers(self.config, who) {
            headers
                .set(k, &v)
                .map_err(|e| Failure::Unreachable(format!("header {k}: {e}")))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(args.into()));
        let request = Request::new_with_init(&url, &init)
            .map_err(|e| Failure::Unreachable(format!("building request to {url}: {e}")))?;
        let (status, body) = exchange(request, &url, timeout_for(function)).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(Failure::Status { status, body })
        }
    }
}

/// Fetches a JSON document (the JWKS) with a plain GET.
pub async fn get_json(url: &str) -> Result<Value, ApiError> {
    // A Request rather than Fetch::Url: parsing with `url::Url` would pull the url crate in.
    let request = Request::new(url, Method::Get)
        .map_err(|e| ApiError::internal(format!("JWKS URL {url}: {e}")))?;
    let (status, body) =
        exchange(request, url, CALL_TIMEOUT)
            .await
            .map_err(|failure| match failure {
                Failure::Timeout(cause) => ApiError::upstream_timeout(format!("GET {cause}")),
                Failure::Unreachable(cause) | Failure::Status { body: cause, .. } => {
                    ApiError::upstream_unavailable(format!("GET {cause}"))
                }
            })?;
    if status != 200 {
        return Err(ApiError::upstream_unavailable(format!(
            "GET {url} answered {status}"
        )));
    }
    serde_json::from_str(&body)
        .map_err(|e| ApiError::upstream_unavailable(format!("GET {url}: not JSON ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(anon: &str, service: &str) -> Config {
        Config::from_lookup(|k| {
            Some(match k {
                "SUPABASE_URL" => "http://127.0.0.1:1".to_owned(),
                "SUPABASE_ANON_KEY" => anon.to_owned(),
                "SUPABASE_SERVICE_ROLE_KEY" => service.to_owned(),
                "SUPABASE_JWT_SECRET" => "x".repeat(40),
                _ => return None,
            })
        })
        .expect("valid test config")
    }

    fn get<'a>(h: &'a [(&str, String)], k: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn only_the_whole_table_writes_get_the_long_time_limit() {
        for f in [
            "commit_upload",
            "delete_client",
            "cleanup_abandoned_uploads",
        ] {
            assert_eq!(timeout_for(f), LONG_CALL_TIMEOUT, "{f}");
        }
        for f in [
            "query_client_data",
            "stage_upload_rows",
            "begin_upload",
            "get_login_credentials",
        ] {
            assert_eq!(timeout_for(f), CALL_TIMEOUT, "{f}");
        }
        assert!(CALL_TIMEOUT < LONG_CALL_TIMEOUT);
    }

    #[test]
    fn client_calls_forward_the_callers_jwt_with_the_anon_key() {
        for anon in ["anon.legacy.jwt", "sb_publishable_abc"] {
            let c = config(anon, "service.legacy.jwt");
            let h = upstream_headers(
                &c,
                Who::Client {
                    token: "user.jwt.sig",
                },
            );
            assert_eq!(get(&h, "apikey"), Some(anon));
            assert_eq!(get(&h, "authorization"), Some("Bearer user.jwt.sig"));
        }
    }

    #[test]
    fn service_calls_send_a_legacy_key_as_bearer_but_an_sb_secret_only_as_apikey() {
        let h = upstream_headers(&config("a.b.c", "service.legacy.jwt"), Who::Service);
        assert_eq!(get(&h, "apikey"), Some("service.legacy.jwt"));
        assert_eq!(get(&h, "authorization"), Some("Bearer service.legacy.jwt"));
        let h = upstream_headers(&config("a.b.c", "sb_secret_xyz"), Who::Service);
        assert_eq!(get(&h, "apikey"), Some("sb_secret_xyz"));
        assert_eq!(get(&h, "authorization"), None);
    }
}

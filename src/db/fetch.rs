//! The [`Rpc`] implementation the Worker runs with: PostgREST over the runtime's `fetch`.
//!
//! Design decision: the key choice per [`Who`] is a pure function ([`upstream_headers`]) so it is
//! unit-tested natively; only [`FetchRpc::call`] and [`get_json`] touch the network.
//!
//! Every call has a time limit ([`timeout_for`]): `fetch` itself never gives up on a data API
//! that accepted the connection and then stopped answering (a frozen process, a lost packet
//! after the handshake), and one such call would hold its request, and the caller, forever. The
//! limit is an `AbortSignal.timeout(ms)` given to `fetch`: on expiry workerd aborts the fetch
//! (so the connection is released) and rejects it, or the body read if the headers had come,
//! with a `TimeoutError`; the caller gets 504 `upstream_timeout`. The call may still have
//! completed upstream, which is why the limit is long for the writes that move or delete many
//! rows in one transaction.
//!
//! The call is `fetch(url, init)` through web-sys, not workers-rs's `Fetch`: that builds a
//! `Request` first (a second `RequestInit`, the URL and headers read back into Rust), and racing
//! its own timer needed a `setTimeout` closure and an `AbortController` per call. Measured in
//! plain workerd, the direct call saves CPU on every read (README "At scale", "Since the 20:53 run").

use std::cell::RefCell;
use std::time::Duration;

use serde_json::Value;
use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{self, AbortSignal, Headers, RequestInit, WorkerGlobalScope};

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

/// The whole body as text, by the runtime's own `Response.arrayBuffer()`: one call, then one
/// copy into wasm memory. workers-rs's `Response::text` reads a streamed body chunk by chunk
/// through wasm-streams (a reader, a JS round trip and a copy per chunk, then `releaseLock`):
/// the largest part of a page read in a CPU profile. `text()` would decode the UTF-8 into a JS
/// string that wasm-bindgen then encodes back into UTF-8: two passes over the body for nothing.
/// Invalid UTF-8 is replaced, as `text()` does.
async fn whole_text(response: web_sys::Response) -> Result<String, JsValue> {
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Sends `init` to `url` and reads the answer as text, all within `limit` (see the module doc).
async fn exchange(
    url: &str,
    init: &RequestInit,
    limit: Duration,
) -> Result<(u16, String), Failure> {
    let millis = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
    let signal = AbortSignal::timeout_with_u32(millis);
    init.set_signal(Some(&signal));
    let answer = async {
        let global: WorkerGlobalScope = js_sys::global().unchecked_into();
        let response: web_sys::Response = JsFuture::from(global.fetch_with_str_and_init(url, init))
            .await
            .map_err(|e| (false, e))?
            .unchecked_into();
        let status = response.status();
        let body = whole_text(response).await.map_err(|e| (true, e))?;
        Ok((status, body))
    }
    .await;
    answer.map_err(|(reading, e)| {
        if signal.aborted() {
            Failure::Timeout(format!(
                "{url}: no complete answer within {} s",
                limit.as_secs()
            ))
        } else if reading {
            Failure::Unreachable(format!("reading {url}: {e:?}"))
        } else {
            Failure::Unreachable(format!("{url}: {}", js_message(&e)))
        }
    })
}

/// A rejected fetch's message (a `TypeError`'s text), else its debug form.
fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.to_string()))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// The fixed headers of each kind of call, made once per isolate (the keys cannot change while
/// it lives): a service call sends its template as is (`fetch` copies it into the request), a
/// client call a copy with the caller's `Authorization` added — two JS calls instead of four
/// `set` calls with two strings each.
struct HeaderTemplates {
    /// The keys they were made from, so another configuration never gets them.
    keys: (String, String),
    client: Headers,
    service: Headers,
}

thread_local! {
    static TEMPLATES: RefCell<Option<HeaderTemplates>> = const { RefCell::new(None) };
}

fn headers_from(pairs: &[(&str, String)]) -> Result<Headers, Failure> {
    let headers = Headers::new().map_err(|e| Failure::Unreachable(format!("headers: {e:?}")))?;
    for (k, v) in pairs {
        headers
            .set(k, v)
            .map_err(|e| Failure::Unreachable(format!("header {k}: {e:?}")))?;
    }
    Ok(headers)
}

/// The headers of one call as `who`: [`upstream_headers`], from the per-isolate templates.
fn call_headers(config: &Config, who: Who) -> Result<Headers, Failure> {
    let (anon, service_key) = (config.anon_key.value(), config.service_key.value());
    let cached = TEMPLATES.with(|t| {
        t.borrow()
            .as_ref()
            .filter(|t| t.keys.0 == anon && t.keys.1 == service_key)
            .map(|t| (t.client.clone(), t.service.clone()))
    });
    let (client, service) = match cached {
        Some(both) => both,
        None => {
            // The client template is a client's headers without its own `Authorization`.
            let mut client = upstream_headers(config, Who::Client { token: "" });
            client.retain(|(k, _)| *k != "authorization");
            let client = headers_from(&client)?;
            let service = headers_from(&upstream_headers(config, Who::Service))?;
            TEMPLATES.with(|t| {
                *t.borrow_mut() = Some(HeaderTemplates {
                    keys: (anon.to_owned(), service_key.to_owned()),
                    client: client.clone(),
                    service: service.clone(),
                })
            });
            (client, service)
        }
    };
    match who {
        Who::Service => Ok(service),
        Who::Client { token } => {
            let headers = Headers::new_with_headers(&client)
                .map_err(|e| Failure::Unreachable(format!("copying headers: {e:?}")))?;
            headers
                .set("authorization", &format!("Bearer {token}"))
                .map_err(|e| Failure::Unreachable(format!("header authorization: {e:?}")))?;
            Ok(headers)
        }
    }
}

/// PostgREST at `config.rest_url`.
pub struct FetchRpc<'a> {
    pub config: &'a Config,
}

impl Rpc for FetchRpc<'_> {
    async fn call(&self, who: Who<'_>, function: &str, args: String) -> Result<String, Failure> {
        let url = format!("{}/rpc/{function}", self.config.rest_url);
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers_headers(&call_headers(self.config, who)?);
        init.set_body(&JsValue::from_str(&args));
        let (status, body) = exchange(&url, &init, timeout_for(function)).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(Failure::Status { status, body })
        }
    }
}

/// Fetches a JSON document (the JWKS) with a plain GET.
pub async fn get_json(url: &str) -> Result<Value, ApiError> {
    let init = RequestInit::new();
    init.set_method("GET");
    let (status, body) =
        exchange(url, &init, CALL_TIMEOUT)
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

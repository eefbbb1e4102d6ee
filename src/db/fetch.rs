//! The [`Rpc`] implementation the Worker runs with: PostgREST over `worker::Fetch`.
//!
//! Design decision: the key choice per [`Who`] is a pure function ([`upstream_headers`]) so it is
//! unit-tested natively; only [`FetchRpc::call`] and [`get_json`] touch the network.

use serde_json::Value;
use worker::{Fetch, Headers, Method, Request, RequestInit};

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
        let mut response = Fetch::Request(request)
            .send()
            .await
            .map_err(|e| Failure::Unreachable(format!("POST {url}: {e}")))?;
        let status = response.status_code();
        let body = response
            .text()
            .await
            .map_err(|e| Failure::Unreachable(format!("reading {url}: {e}")))?;
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
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| ApiError::upstream_unavailable(format!("GET {url}: {e}")))?;
    if response.status_code() != 200 {
        return Err(ApiError::upstream_unavailable(format!(
            "GET {url} answered {}",
            response.status_code()
        )));
    }
    response
        .json()
        .await
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

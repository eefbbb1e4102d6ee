//! A minimal PostgREST RPC client over `worker::Fetch`.
//!
//! The caller picks who the database sees with [`Upstream`]: a client's own JWT (RLS decides),
//! or the service key (only after the Worker has checked for a superadmin). Every non-2xx answer
//! goes through [`ApiError::from_upstream`].

use serde_json::Value;
use worker::{Fetch, Headers, Method, Request, RequestInit};

use crate::config::{ApiKey, Config};
use crate::error::ApiError;

/// The identity an RPC call runs as.
#[derive(Clone, Copy)]
pub enum Upstream<'a> {
    /// `apikey` = anon key, `Authorization` = the caller's verified JWT.
    AsClient { token: &'a str },
    /// `apikey` = service key; `Authorization` too when it is a legacy JWT. With an
    /// `sb_secret_…` key there is no JWT: the key alone selects the service role.
    AsService,
}

/// The headers of an RPC call as `who` (pure, so the key choice is unit-tested).
pub fn upstream_headers(config: &Config, who: Upstream) -> Vec<(&'static str, String)> {
    let (key, bearer): (&ApiKey, Option<&str>) = match who {
        Upstream::AsClient { token } => (&config.anon_key, Some(token)),
        Upstream::AsService => (&config.service_key, config.service_key.as_bearer()),
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

fn headers(config: &Config, who: Upstream) -> Result<Headers, ApiError> {
    let h = Headers::new();
    for (k, v) in upstream_headers(config, who) {
        h.set(k, &v)
            .map_err(|e| ApiError::internal(format!("header {k}: {e}")))?;
    }
    Ok(h)
}

/// `POST {rest}/rpc/{function}` with `args` as the JSON body; the decoded JSON answer.
pub async fn rpc(
    config: &Config,
    who: Upstream<'_>,
    function: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    rpc_text(config, who, function, args.to_string()).await
}

/// [`rpc`] with the arguments already as JSON text (upload batches: serialized once, never
/// parsed back into a `Value`).
pub async fn rpc_text(
    config: &Config,
    who: Upstream<'_>,
    function: &str,
    args: String,
) -> Result<Value, ApiError> {
    let url = format!("{}/rpc/{function}", config.rest_url);
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers(config, who)?)
        .with_body(Some(args.into()));
    let request = Request::new_with_init(&url, &init)
        .map_err(|e| ApiError::internal(format!("building request to {url}: {e}")))?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| ApiError::upstream_unavailable(format!("POST {url}: {e}")))?;
    let status = response.status_code();
    let body = response
        .text()
        .await
        .map_err(|e| ApiError::upstream_unavailable(format!("reading {url}: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(ApiError::from_upstream(function, status, &body));
    }
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&body).map_err(|e| {
        ApiError::upstream_unavailable(format!("rpc {function} answered non-JSON ({e})"))
    })
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
                Upstream::AsClient {
                    token: "user.jwt.sig",
                },
            );
            assert_eq!(get(&h, "apikey"), Some(anon));
            assert_eq!(get(&h, "authorization"), Some("Bearer user.jwt.sig"));
        }
    }

    #[test]
    fn service_calls_send_a_legacy_key_as_bearer_but_an_sb_secret_only_as_apikey() {
        let h = upstream_headers(&config("a.b.c", "service.legacy.jwt"), Upstream::AsService);
        assert_eq!(get(&h, "apikey"), Some("service.legacy.jwt"));
        assert_eq!(get(&h, "authorization"), Some("Bearer service.legacy.jwt"));
        let h = upstream_headers(&config("a.b.c", "sb_secret_xyz"), Upstream::AsService);
        assert_eq!(get(&h, "apikey"), Some("sb_secret_xyz"));
        assert_eq!(get(&h, "authorization"), None);
    }
}

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

/// Builds the headers for an RPC call as `who`.
fn headers(config: &Config, who: &Upstream) -> Result<Headers, ApiError> {
    let h = Headers::new();
    let set = |k: &str, v: &str| {
        h.set(k, v)
            .map_err(|e| ApiError::internal(format!("header {k}: {e}")))
    };
    set("content-type", "application/json")?;
    set("accept", "application/json")?;
    let (key, bearer): (&ApiKey, Option<&str>) = match who {
        Upstream::AsClient { token } => (&config.anon_key, Some(token)),
        Upstream::AsService => (&config.service_key, config.service_key.as_bearer()),
    };
    set("apikey", key.value())?;
    if let Some(b) = bearer {
        set("authorization", &format!("Bearer {b}"))?;
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
    let url = format!("{}/rpc/{function}", config.rest_url);
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers(config, &who)?)
        .with_body(Some(args.to_string().into()));
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

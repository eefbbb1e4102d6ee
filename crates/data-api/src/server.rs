//! HTTP surface: readiness at `/`, the public JWKS at `/auth/v1/.well-known/jwks.json` (where
//! Supabase Auth serves it), PostgREST RPC at `/rest/v1/rpc/{fn}`, everything else 404.
//! Each RPC runs in one transaction: BEGIN [READ ONLY], the request settings (role, claims,
//! method, path, headers) via `set_config(..., true)`, the call, COMMIT; dropping the transaction
//! on any error rolls it back.

use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use deadpool_postgres::Pool;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use serde_json::{json, Map, Value};

use crate::auth::{Authenticator, Identity};
use crate::error::{ApiError, JSON_CONTENT_TYPE};
use crate::rpc::{build_call, content_range, Args};
use crate::schema::SchemaCache;

/// Shared by all requests.
pub struct AppState {
    pub pool: Pool,
    pub auth: Authenticator,
    /// `None` until the first successful load; replaced whole on reload.
    pub schema: RwLock<Option<Arc<SchemaCache>>>,
    pub max_body_bytes: usize,
    /// The body of `GET /auth/v1/.well-known/jwks.json`, built once by [`public_jwks`].
    pub public_jwks: String,
}

impl AppState {
    fn schema(&self) -> Option<Arc<SchemaCache>> {
        self.schema.read().ok().and_then(|guard| guard.clone())
    }
}

/// Request settings, in one round trip. `search_path` is Supabase's (exposed schema + extensions).
const SETUP_SQL: &str = "select set_config('role', $1, true), \
     set_config('request.jwt.claims', $2, true), \
     set_config('request.method', $3, true), \
     set_config('request.path', $4, true), \
     set_config('request.headers', $5, true), \
     set_config('search_path', '\"public\", \"extensions\"', true)";

const SINGLE_OBJECT_MEDIA_TYPE: &str = "application/vnd.pgrst.object+json";

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(ready))
        .route("/auth/v1/.well-known/jwks.json", get(jwks))
        .route(
            "/rest/v1/rpc/{name}",
            get(rpc).post(rpc).fallback(unsupported_method),
        )
        .fallback(not_found)
        .with_state(state)
}

/// 200 once the schema cache is loaded and a pooled connection answers; 503 before.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let reachable = match state.pool.get().await {
        Ok(client) => client.simple_query("").await.is_ok(),
        Err(_) => false,
    };
    let (status, body) = match (reachable, state.schema().is_some()) {
        (true, true) => (StatusCode::OK, r#"{"status":"ok"}"#),
        (false, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"unavailable","message":"the database is not reachable"}"#,
        ),
        (true, false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"starting","message":"the schema cache is not loaded yet"}"#,
        ),
    };
    json_response(status, body.to_string())
}

/// The JWKS document of the configured public keys, as Supabase Auth publishes its signing keys.
/// Only key types whose JWK form has no secret members are listed (EC, RSA, OKP, re-serialized
/// from their public parameters, so `d`, `p`, `q`, … read from the file are never echoed); a
/// symmetric (`oct`) or unrecognised key is left out. No JWKS configured → `{"keys": []}`.
pub fn public_jwks(jwks: Option<&JwkSet>) -> String {
    let keys: Vec<Value> = jwks
        .map(|set| set.keys.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|jwk| {
            matches!(
                jwk.algorithm,
                AlgorithmParameters::EllipticCurve(_)
                    | AlgorithmParameters::RSA(_)
                    | AlgorithmParameters::OctetKeyPair(_)
            )
        })
        .filter_map(|jwk| serde_json::to_value(jwk).ok())
        .collect();
    json!({ "keys": keys }).to_string()
}

/// No auth, as on Supabase: verifiers (the Worker) fetch it without any key. Cacheable for ten
/// minutes, like Supabase's.
async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    let mut response = json_response(StatusCode::OK, state.public_jwks.clone());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    response
}

/// PostgREST answers other methods on an RPC with 405 PGRST117.
async fn unsupported_method(method: Method) -> Response {
    ApiError::postgrest(
        StatusCode::METHOD_NOT_ALLOWED,
        "PGRST117",
        format!("Unsupported HTTP method: {method}"),
    )
    .into_response()
}

/// Table endpoints are not served (the Worker uses RPC only); other paths are the gateway's 404.
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    let err = match path.strip_prefix("/rest/v1/") {
        Some(table) if !table.is_empty() && !table.contains('/') => ApiError::postgrest(
            StatusCode::NOT_FOUND,
            "PGRST205",
            format!("Could not find the table 'public.{table}' in the schema cache"),
        )
        .with_details("This local data API serves RPC (/rest/v1/rpc/{function}) only"),
        _ => ApiError::gateway(StatusCode::NOT_FOUND, "no Route matched with those values"),
    };
    err.into_response()
}

async fn rpc(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let outcome = call_rpc(&state, &name, &method, &uri, &headers, body).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok((response, role)) => {
            tracing::info!(method = %method, path = uri.path(), status = response.status().as_u16(), role, elapsed_ms, "rpc");
            response
        }
        Err(err) => {
            tracing::info!(method = %method, path = uri.path(), status = err.status.as_u16(), code = err.code(), elapsed_ms, "rpc failed");
            err.into_response()
        }
    }
}

async fn call_rpc(
    state: &AppState,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Response, String), ApiError> {
    let query = uri.query().unwrap_or("");
    let apikey = header_str(headers, "apikey")
        .map(str::to_string)
        .or_else(|| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "apikey")
                .map(|(_, v)| v.into_owned())
        });
    let identity = state.auth.authenticate(
        apikey.as_deref(),
        header_str(headers, header::AUTHORIZATION.as_str()),
        unix_now(),
    )?;

    let is_post = method == Method::POST;
    let args = if is_post {
        Args::from_body(&read_body(body, headers, state.max_body_bytes).await?)?
    } else {
        Args::from_query(query)
    };

    let schema = state.schema().ok_or_else(|| {
        ApiError::postgrest(
            StatusCode::SERVICE_UNAVAILABLE,
            "PGRST002",
            "Could not query the database for the schema cache. Retrying.",
        )
    })?;
    let function = schema.resolve(name, &args.keys(), is_post)?;
    let whole_body = is_post && function.takes_whole_body();
    let call = build_call(function, &args, whole_body)?;
    // PostgREST runs GET, and stable/immutable functions, in a READ ONLY transaction.
    let read_only = !is_post || !function.volatile;

    let anonymous = identity.is_anonymous();
    let pg = |e: tokio_postgres::Error| ApiError::from_pg(&e, anonymous);
    let mut client = state.pool.get().await.map_err(|e| ApiError::pool(&e))?;
    let tx = client
        .build_transaction()
        .read_only(read_only)
        .start()
        .await
        .map_err(pg)?;
    let settings = request_settings(&identity, method, uri, headers);
    let setup = tx.prepare_cached(SETUP_SQL).await.map_err(pg)?;
    let setup_params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &settings[0],
        &settings[1],
        &settings[2],
        &settings[3],
        &settings[4],
    ];
    // Pipelined: the settings and the call go out together and run in order on the server.
    let (setup_result, call_result) = tokio::join!(tx.execute(&setup, &setup_params), async {
        let statement = tx.prepare_cached(&call.sql).await?;
        match &call.param {
            Some(param) => tx.query_one(&statement, &[param]).await,
            None => tx.query_one(&statement, &[]).await,
        }
    });
    setup_result.map_err(pg)?;
    let row = call_result.map_err(pg)?;
    tx.commit().await.map_err(pg)?;

    let body: Option<String> = row.try_get(0).map_err(pg)?;
    let rows: i64 = row.try_get(1).map_err(pg)?;
    let Some(body) = body else {
        // void (PostgREST answers 204 without a body)
        return Ok((StatusCode::NO_CONTENT.into_response(), identity.role));
    };
    let wants_object = header_str(headers, header::ACCEPT.as_str())
        .is_some_and(|a| a.contains(SINGLE_OBJECT_MEDIA_TYPE));
    if function.returns_set && wants_object {
        return single_object(&body, rows).map(|r| (r, identity.role));
    }
    let mut response = json_response(StatusCode::OK, body);
    if function.returns_set {
        let exact = header_str(headers, "prefer")
            .is_some_and(|p| p.split(',').any(|d| d.trim() == "count=exact"));
        if let Ok(value) = HeaderValue::from_str(&content_range(rows, exact.then_some(rows))) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok((response, identity.role))
}

/// `Accept: application/vnd.pgrst.object+json`: exactly one row, unwrapped (PGRST116 otherwise).
fn single_object(body: &str, rows: i64) -> Result<Response, ApiError> {
    let first = match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(mut items)) if rows == 1 && items.len() == 1 => items.pop(),
        _ => None,
    };
    match first {
        Some(item) => {
            let mut response = json_response(StatusCode::OK, item.to_string());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.pgrst.object+json; charset=utf-8"),
            );
            Ok(response)
        }
        None => Err(ApiError::postgrest(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST116",
            "Cannot coerce the result to a single JSON object",
        )
        .with_details(format!("The result contains {rows} rows"))),
    }
}

/// role, claims, method, path (as PostgREST sees it behind the gateway: without `/rest/v1`),
/// headers (lower-cased names → values).
fn request_settings(
    identity: &Identity,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> [String; 5] {
    let mut header_map = Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            header_map
                .entry(name.as_str().to_string())
                .or_insert_with(|| Value::String(value.to_string()));
        }
    }
    let path = uri.path().strip_prefix("/rest/v1").unwrap_or(uri.path());
    [
        identity.role.clone(),
        identity.claims.to_string(),
        method.as_str().to_string(),
        path.to_string(),
        Value::Object(header_map).to_string(),
    ]
}

async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large =
        || ApiError::gateway(StatusCode::PAYLOAD_TOO_LARGE, "Request size limit exceeded");
    let declared =
        header_str(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWKS file may hold private JWKs (e.g. exported with their `d`); only the public
    /// parameters of asymmetric keys may ever be served.
    #[test]
    fn public_jwks_drops_private_members_and_symmetric_keys() {
        let set: JwkSet = serde_json::from_value(json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "secret-d",
             "kid": "ec", "alg": "ES256", "use": "sig"},
            {"kty": "RSA", "n": "bg", "e": "AQAB", "d": "secret-d", "p": "secret-p",
             "q": "secret-q", "dp": "x", "dq": "x", "qi": "x", "kid": "rsa", "alg": "RS256"},
            {"kty": "oct", "k": "c2hhcmVkLXNlY3JldA", "kid": "hmac", "alg": "HS256"}
        ]}))
        .expect("a JWKS document");
        let served: Value = serde_json::from_str(&public_jwks(Some(&set))).expect("JSON");
        assert_eq!(
            served,
            json!({"keys": [
                {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "kid": "ec", "alg": "ES256", "use": "sig"},
                {"kty": "RSA", "n": "bg", "e": "AQAB", "kid": "rsa", "alg": "RS256"}
            ]})
        );
    }

    #[test]
    fn no_configured_jwks_serves_an_empty_set() {
        assert_eq!(public_jwks(None), r#"{"keys":[]}"#);
    }
}

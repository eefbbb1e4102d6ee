//! HTTP surface: readiness at `/`, the public JWKS at `/auth/v1/.well-known/jwks.json` (where
//! Supabase Auth serves it) and Auth's `/auth/v1/user`, PostgREST's OpenAPI at `/rest/v1/`, RPC
//! at `/rest/v1/rpc/{fn}` and table/view reads at `/rest/v1/{relation}`, CORS on all of them,
//! everything else the gateway's 404. Each call or read runs in one transaction: BEGIN [READ ONLY], the request settings (role, claims,
//! method, path, headers) via `set_config(..., true)`, the call, COMMIT; dropping the transaction
//! on any error rolls it back.

use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use deadpool_postgres::Pool;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use serde_json::{json, Map, Value};
use tokio_postgres::types::ToSql;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{Authenticator, Identity};
use crate::error::{ApiError, JSON_CONTENT_TYPE};
use crate::query::{unsupported, ReadPlan};
use crate::rpc::{
    build_call, build_read, candidate_keys, content_range, query_pairs, split_query, Args, Call,
    Output,
};
use crate::schema::{SchemaCache, EXPOSED_SCHEMA};

/// Shared by all requests.
pub struct AppState {
    pub pool: Pool,
    pub auth: Authenticator,
    /// `None` until the first successful load; replaced whole on reload.
    pub schema: RwLock<Option<Arc<SchemaCache>>>,
    pub max_body_bytes: usize,
    /// Supabase's `db-max-rows`: the longest page a read answers.
    pub max_rows: i64,
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

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(ready))
        .route("/auth/v1/.well-known/jwks.json", get(jwks))
        .route("/auth/v1/user", get(crate::gotrue::user))
        .route("/rest/v1", get(openapi))
        .route("/rest/v1/", get(openapi))
        .route("/rest/v1/rpc/{name}", any(rpc))
        .route("/rest/v1/{relation}", any(relation))
        .fallback(not_found)
        .layer(cors())
        .with_state(state)
}

/// PostgREST's CORS policy: any origin; the methods it serves; the request headers Supabase's
/// clients send; the response headers PostgREST exposes (Content-Range for counts).
fn cors() -> CorsLayer {
    let names = |list: &[&'static str]| -> Vec<HeaderName> {
        list.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::HEAD,
        ])
        .allow_headers(names(&[
            "authorization",
            "content-type",
            "accept",
            "accept-language",
            "content-language",
            "apikey",
            "prefer",
            "range",
            "range-unit",
            "x-client-info",
            "content-profile",
            "accept-profile",
        ]))
        .expose_headers(names(&[
            "content-encoding",
            "content-location",
            "content-range",
            "content-type",
            "date",
            "location",
            "server",
            "transfer-encoding",
            "range-unit",
        ]))
        .max_age(std::time::Duration::from_secs(86_400))
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
fn unsupported_method(method: &Method) -> ApiError {
    ApiError::postgrest(
        StatusCode::METHOD_NOT_ALLOWED,
        "PGRST117",
        format!("Unsupported HTTP method: {method}"),
    )
}

/// A non-preflight `OPTIONS` (PostgREST answers 200 with the methods in `Allow`).
fn options_response(allow: &'static str) -> Response {
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Paths outside PostgREST's and Auth's: the gateway's 404.
async fn not_found() -> Response {
    ApiError::gateway(StatusCode::NOT_FOUND, "no Route matched with those values").into_response()
}

/// Logs one request's outcome and turns it into the response.
fn finish(
    kind: &'static str,
    method: &Method,
    uri: &Uri,
    started: Instant,
    outcome: Result<(Response, String), ApiError>,
) -> Response {
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok((response, role)) => {
            tracing::info!(method = %method, path = uri.path(), status = response.status().as_u16(), role, elapsed_ms, kind);
            response
        }
        Err(err) => {
            tracing::info!(method = %method, path = uri.path(), status = err.status.as_u16(), code = err.code(), elapsed_ms, kind);
            err.into_response()
        }
    }
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
    let outcome = match method {
        Method::GET | Method::HEAD | Method::POST => {
            call_rpc(&state, &name, &method, &uri, &headers, body).await
        }
        Method::OPTIONS => Ok((options_response("OPTIONS,GET,HEAD,POST"), String::new())),
        _ => Err(unsupported_method(&method)),
    };
    finish("rpc", &method, &uri, started, outcome)
}

/// `/rest/v1/{relation}`: reads of the exposed tables and views; writes answer 501.
async fn relation(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let outcome = match method {
        Method::GET | Method::HEAD => read_relation(&state, &name, &method, &uri, &headers).await,
        Method::OPTIONS => Ok((
            options_response("OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"),
            String::new(),
        )),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE => {
            write_relation(&state, &name, &method, &uri, &headers)
        }
        _ => Err(unsupported_method(&method)),
    };
    finish("relation", &method, &uri, started, outcome)
}

fn authenticate(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let query = uri.query().unwrap_or("");
    let apikey = header_str(headers, "apikey")
        .map(str::to_string)
        .or_else(|| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "apikey")
                .map(|(_, v)| v.into_owned())
        });
    state.auth.authenticate(
        apikey.as_deref(),
        header_str(headers, header::AUTHORIZATION.as_str()),
        unix_now(),
    )
}

fn loaded_schema(state: &AppState) -> Result<Arc<SchemaCache>, ApiError> {
    state.schema().ok_or_else(|| {
        ApiError::postgrest(
            StatusCode::SERVICE_UNAVAILABLE,
            "PGRST002",
            "Could not query the database for the schema cache. Retrying.",
        )
    })
}

/// PostgREST's PGRST205 for a relation missing from the schema cache.
fn unknown_relation(name: &str) -> ApiError {
    ApiError::postgrest(
        StatusCode::NOT_FOUND,
        "PGRST205",
        format!("Could not find the table 'public.{name}' in the schema cache"),
    )
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
    let identity = authenticate(state, uri, headers)?;
    let prefer = Preferences::from_headers(headers);
    let media = negotiate(headers)?;
    let is_post = method == Method::POST;
    let schema = loaded_schema(state)?;
    let (function, args, whole_body, modifiers) = if is_post {
        let args = Args::from_body(&read_body(body, headers, state.max_body_bytes).await?)?;
        if prefer.single_object {
            (
                schema.resolve_single_object(name)?,
                args,
                true,
                query_pairs(query),
            )
        } else {
            let function = schema.resolve(name, &args.keys(), true)?;
            (
                function,
                args,
                function.takes_whole_body(),
                query_pairs(query),
            )
        }
    } else {
        // GET/HEAD: keys naming a parameter are arguments, the rest filters (as PostgREST).
        let arg_keys = schema.argument_keys(name, &candidate_keys(query));
        let (args, modifiers) = split_query(query, &arg_keys);
        (
            schema.resolve(name, &args.keys(), false)?,
            args,
            false,
            modifiers,
        )
    };
    let plan = ReadPlan::parse(&modifiers, header_str(headers, header::RANGE.as_str()))?
        .cap_rows(state.max_rows);
    let call = build_call(
        function,
        &args,
        whole_body,
        &plan,
        media.output(),
        prefer.count.needs_exact(),
    )?;
    // PostgREST runs GET, and stable/immutable functions, in a READ ONLY transaction.
    let read_only = !is_post || !function.volatile;
    let executed = execute(
        state,
        &identity,
        method,
        uri,
        headers,
        read_only,
        &call,
        prefer.count,
    )
    .await?;
    respond(executed, &call, &plan, media, prefer.count, state.max_rows).map(|r| (r, identity.role))
}

async fn read_relation(
    state: &AppState,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(Response, String), ApiError> {
    let identity = authenticate(state, uri, headers)?;
    let prefer = Preferences::from_headers(headers);
    let media = negotiate(headers)?;
    let schema = loaded_schema(state)?;
    if schema.relation(name).is_none() {
        return Err(unknown_relation(name));
    }
    let plan = ReadPlan::parse(
        &query_pairs(uri.query().unwrap_or("")),
        header_str(headers, header::RANGE.as_str()),
    )?
    .cap_rows(state.max_rows);
    let call = build_read(name, &plan, media.output(), prefer.count.needs_exact())?;
    let executed = execute(
        state,
        &identity,
        method,
        uri,
        headers,
        true,
        &call,
        prefer.count,
    )
    .await?;
    respond(executed, &call, &plan, media, prefer.count, state.max_rows).map(|r| (r, identity.role))
}

/// Writes through table endpoints are not implemented here: an explicit 501 (after the same
/// key check and the same 404 for an unknown relation as a read).
fn write_relation(
    state: &AppState,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(Response, String), ApiError> {
    authenticate(state, uri, headers)?;
    let schema = loaded_schema(state)?;
    let relation = schema
        .relation(name)
        .ok_or_else(|| unknown_relation(name))?;
    let kind = if relation.is_table { "tables" } else { "views" };
    Err(unsupported(
        &format!("Writing to {kind} ({method} /rest/v1/{name})"),
        "The local data API reads tables and views; write through RPC functions (POST /rest/v1/rpc/{function})",
    ))
}

/// `GET /rest/v1/`: PostgREST's OpenAPI (Swagger 2.0) description of what the caller's role
/// may use (PostgREST's default `openapi-mode = follow-privileges`).
async fn openapi(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let outcome = async {
        let identity = authenticate(&state, &uri, &headers)?;
        let schema = loaded_schema(&state)?;
        let anonymous = identity.is_anonymous();
        let pg = |e: tokio_postgres::Error| ApiError::from_pg(&e, anonymous);
        let mut client = state.pool.get().await.map_err(|e| ApiError::pool(&e))?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let settings = request_settings(&identity, &method, &uri, &headers);
        let setup = tx.prepare_cached(SETUP_SQL).await.map_err(pg)?;
        let setup_params: [&(dyn ToSql + Sync); 5] = [
            &settings[0],
            &settings[1],
            &settings[2],
            &settings[3],
            &settings[4],
        ];
        tx.execute(&setup, &setup_params).await.map_err(pg)?;
        let row = tx
            .query_one(crate::openapi::PRIVILEGES_QUERY, &[&EXPOSED_SCHEMA])
            .await
            .map_err(pg)?;
        let relations: Vec<String> = row.try_get(0).map_err(pg)?;
        let functions: Vec<String> = row.try_get(1).map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let host = header_str(&headers, header::HOST.as_str()).unwrap_or("localhost");
        let document = crate::openapi::document(&schema, &relations, &functions, host);
        let mut response = json_response(StatusCode::OK, document.to_string());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openapi+json; charset=utf-8"),
        );
        Ok((response, identity.role))
    }
    .await;
    finish("openapi", &method, &uri, started, outcome)
}

/// `Prefer: count=…` (PostgREST's counting strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    None,
    Exact,
    Planned,
    Estimated,
}

impl Count {
    fn needs_exact(self) -> bool {
        matches!(self, Count::Exact | Count::Estimated)
    }
}

struct Preferences {
    count: Count,
    single_object: bool,
}

impl Preferences {
    fn from_headers(headers: &HeaderMap) -> Self {
        let mut prefs = Preferences {
            count: Count::None,
            single_object: false,
        };
        for value in headers.get_all("prefer") {
            for token in value.to_str().unwrap_or("").split(',').map(str::trim) {
                match token {
                    "count=exact" => prefs.count = Count::Exact,
                    "count=planned" => prefs.count = Count::Planned,
                    "count=estimated" => prefs.count = Count::Estimated,
                    "params=single-object" => prefs.single_object = true,
                    _ => {}
                }
            }
        }
        prefs
    }
}

/// The response media type PostgREST chose from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    SingleObject,
    Csv,
}

impl Media {
    fn output(self) -> Output {
        match self {
            Media::Csv => Output::Csv,
            _ => Output::Json,
        }
    }
}

/// The first media type of `Accept` this API produces; none → 406 PGRST107 (as PostgREST).
/// The execution plan (`application/vnd.pgrst.plan`) is refused explicitly.
fn negotiate(headers: &HeaderMap) -> Result<Media, ApiError> {
    let Some(accept) =
        header_str(headers, header::ACCEPT.as_str()).filter(|a| !a.trim().is_empty())
    else {
        return Ok(Media::Json);
    };
    for item in accept.split(',') {
        let media = item
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" | "application/*" | "*/*" => return Ok(Media::Json),
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                return Ok(Media::SingleObject)
            }
            "text/csv" => return Ok(Media::Csv),
            m if m.starts_with("application/vnd.pgrst.plan") => {
                return Err(unsupported(
                    "The execution plan (Accept: application/vnd.pgrst.plan, .explain())",
                    "EXPLAIN output is not produced by the local data API",
                ))
            }
            _ => {}
        }
    }
    Err(ApiError::postgrest(
        StatusCode::NOT_ACCEPTABLE,
        "PGRST107",
        format!("None of these media types are available: {accept}"),
    ))
}

/// Prepared statements kept per pooled connection before the cache starts over.
const STATEMENT_CACHE_LIMIT: usize = 256;

/// What one statement returned.
struct Executed {
    body: Option<String>,
    rows: i64,
    total: Option<i64>,
    planned: Option<i64>,
}

/// Runs `call` in one transaction: BEGIN [READ ONLY], the request settings, the statement (and
/// the EXPLAIN for a planned count), COMMIT.
#[allow(clippy::too_many_arguments)]
async fn execute(
    state: &AppState,
    identity: &Identity,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    read_only: bool,
    call: &Call,
    count: Count,
) -> Result<Executed, ApiError> {
    let anonymous = identity.is_anonymous();
    let pg = |e: tokio_postgres::Error| ApiError::from_pg(&e, anonymous);
    let mut client = state.pool.get().await.map_err(|e| ApiError::pool(&e))?;
    // Statements are cached per SQL shape; clients choose the shapes (filters, select), so the
    // cache is bounded by starting it over rather than growing with every new shape.
    if client.statement_cache.size() > STATEMENT_CACHE_LIMIT {
        client.statement_cache.clear();
    }
    let tx = client
        .build_transaction()
        .read_only(read_only)
        .start()
        .await
        .map_err(pg)?;
    let settings = request_settings(identity, method, uri, headers);
    let setup = tx.prepare_cached(SETUP_SQL).await.map_err(pg)?;
    let setup_params: [&(dyn ToSql + Sync); 5] = [
        &settings[0],
        &settings[1],
        &settings[2],
        &settings[3],
        &settings[4],
    ];
    let params: Vec<&(dyn ToSql + Sync)> = call
        .params
        .iter()
        .map(|p| p as &(dyn ToSql + Sync))
        .collect();
    // Pipelined: the settings and the call go out together and run in order on the server.
    let (setup_result, call_result) = tokio::join!(tx.execute(&setup, &setup_params), async {
        let statement = tx.prepare_cached(&call.sql).await?;
        tx.query_one(&statement, &params).await
    });
    setup_result.map_err(pg)?;
    let row = call_result.map_err(pg)?;
    let planned = match (&call.explain, count) {
        (Some((sql, explain_params)), Count::Planned | Count::Estimated) => {
            let refs: Vec<&(dyn ToSql + Sync)> = explain_params
                .iter()
                .map(|p| p as &(dyn ToSql + Sync))
                .collect();
            let plan: Value = tx
                .query_one(sql.as_str(), &refs)
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            plan_rows(&plan)
        }
        _ => None,
    };
    tx.commit().await.map_err(pg)?;
    Ok(Executed {
        body: row.try_get(0).map_err(pg)?,
        rows: row.try_get(1).map_err(pg)?,
        total: row.try_get(2).map_err(pg)?,
        planned,
    })
}

/// The planner's row estimate of the top plan node of `EXPLAIN (FORMAT JSON)`.
fn plan_rows(plan: &Value) -> Option<i64> {
    plan.get(0)?
        .get("Plan")?
        .get("Plan Rows")?
        .as_f64()
        .map(|rows| rows as i64)
}

/// The HTTP answer for an executed call or read, as PostgREST shapes it.
fn respond(
    executed: Executed,
    call: &Call,
    plan: &ReadPlan,
    media: Media,
    count: Count,
    max_rows: i64,
) -> Result<Response, ApiError> {
    let Some(body) = executed.body else {
        // void (PostgREST answers 204 without a body)
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    if !call.is_set {
        // A scalar, or a single composite read (like every row source) as an array of at most
        // one row, unwrapped here.
        let body = if call.explain.is_some() {
            match serde_json::from_str::<Value>(&body) {
                Ok(Value::Array(mut rows)) if !rows.is_empty() => rows.swap_remove(0).to_string(),
                _ => "null".to_string(),
            }
        } else {
            body
        };
        return Ok(match media {
            Media::SingleObject => object_response(body),
            _ => json_response(StatusCode::OK, body),
        });
    }
    let rows = executed.rows;
    let total = match count {
        Count::None => None,
        Count::Exact => executed.total,
        Count::Planned => executed.planned,
        Count::Estimated => match executed.total {
            // Exact up to db-max-rows, the planner's estimate above (PostgREST's "Estimated Count").
            Some(exact) if exact <= max_rows => Some(exact),
            exact => executed.planned.or(exact),
        },
    };
    let lower = plan.offset;
    let status = match total {
        Some(total) if lower > total => {
            return Err(ApiError::postgrest(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "PGRST103",
                "Requested range not satisfiable",
            )
            .with_details(format!(
                "An offset of {lower} was requested, but there are only {total} rows."
            )))
        }
        Some(total) if rows < total => StatusCode::PARTIAL_CONTENT,
        _ => StatusCode::OK,
    };
    let mut response = match media {
        Media::SingleObject => single_object(&body, rows)?,
        Media::Csv => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            response
        }
        Media::Json => json_response(status, body),
    };
    if let Ok(value) = HeaderValue::from_str(&content_range(lower, rows, total)) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    // references/api/pagination_count: every ranged response says its unit.
    response
        .headers_mut()
        .insert("range-unit", HeaderValue::from_static("items"));
    Ok(response)
}

fn object_response(body: String) -> Response {
    let mut response = json_response(StatusCode::OK, body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.pgrst.object+json; charset=utf-8"),
    );
    response
}

/// `Accept: application/vnd.pgrst.object+json`: exactly one row, unwrapped (PGRST116 otherwise).
fn single_object(body: &str, rows: i64) -> Result<Response, ApiError> {
    let first = match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(mut items)) if rows == 1 && items.len() == 1 => items.pop(),
        _ => None,
    };
    match first {
        Some(item) => Ok(object_response(item.to_string())),
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

/// The body, at most `limit` bytes: a larger one (declared or sent) is the gateway's 413; a body
/// that cannot be read to its end (the client went away, a truncated upload) is a 400.
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
    match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, limit)).await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => {
            tracing::info!(error = %e, "request body could not be read");
            Err(
                ApiError::postgrest(StatusCode::BAD_REQUEST, "PGRST102", "Empty or invalid json")
                    .with_details("The request body could not be read to its end"),
            )
        }
    }
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

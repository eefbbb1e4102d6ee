//! One request: parse (route, query) → authorize (verify the JWT) → execute (the only upstream
//! I/O) → render. Every failure on the way is an [`ApiError`] rendered by [`render_error`].
//!
//! Bodies are read after authorization, so an anonymous caller cannot make the Worker buffer a
//! large upload. A client asking for someone else's `client_id` gets 404 `client_not_found`:
//! RLS hides the other tenant's rows *and* its schema entries, so "not yours" and "does not exist"
//! look the same, and the answer does not reveal which ids exist.

use serde_json::{json, Value};
use worker::{console_error, console_warn, Env, Headers, Method, Request, Response};

use crate::auth;
use crate::body::UploadFields;
use crate::clients;
use crate::config::Config;
use crate::crypto;
use crate::error::ApiError;
use crate::export;
use crate::jwt::{self, Principal};
use crate::openapi;
use crate::password::{self, PhcHash};
use crate::postgrest::{rpc, Upstream};
use crate::query::{self, DataQuery};
use crate::routes::{self, Route};
use crate::uploads::{self, Target};

/// A successful answer before it becomes a `Response`.
struct Reply {
    status: u16,
    body: String,
    /// Answers a retried upload from the stored result (`Idempotent-Replayed: true`).
    replayed: bool,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: body.to_string(),
            replayed: false,
        }
    }
}

/// What a route answers: a JSON reply, or a download streamed after its headers.
enum Answer {
    Json(Reply),
    Download(export::Download),
}

pub async fn handle(req: Request, env: &Env) -> Response {
    if req.method() == Method::Options {
        return preflight();
    }
    match respond(req, env).await {
        Ok(Answer::Download(download)) => download_response(download),
        Ok(Answer::Json(reply)) if reply.status == 204 => Response::builder()
            .with_status(204)
            .with_headers(cors_headers())
            .empty(),
        Ok(Answer::Json(reply)) => {
            let response = render(reply.status, reply.body, ExtraHeaders::default());
            if reply.replayed
                && response
                    .headers()
                    .set("idempotent-replayed", "true")
                    .is_err()
            {
                console_error!("could not set Idempotent-Replayed");
            }
            response
        }
        Err(e) => render_error(&e),
    }
}

thread_local! {
    /// The typed configuration, parsed once per isolate: vars and secrets are fixed for its life.
    static CONFIG: std::cell::RefCell<Option<Config>> = const { std::cell::RefCell::new(None) };
}

/// Configuration for everything past the public routes. `.dev.vars` and `wrangler secret`
/// values arrive as secrets, `[vars]` as vars. An invalid configuration is not cached, so
/// fixing it needs no restart.
fn load_config(env: &Env) -> Result<Config, ApiError> {
    if let Some(c) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let config = Config::from_lookup(|name| {
        env.secret(name)
            .or_else(|_| env.var(name))
            .ok()
            .map(|v| v.to_string())
    })?;
    CONFIG.with(|c| *c.borrow_mut() = Some(config.clone()));
    Ok(config)
}

async fn respond(mut req: Request, env: &Env) -> Result<Answer, ApiError> {
    let method = req.method();
    let reply = match routes::route(method.as_ref(), &req.path())? {
        Route::Health => Ok(Reply::ok(json!({"status": "ok"}))),
        Route::OpenApi => Ok(Reply {
            status: 200,
            body: openapi::DOCUMENT.to_owned(),
            replayed: false,
        }),
        Route::Login => {
            let config = load_config(env)?;
            let body = read_body(&mut req).await?;
            login(&config, clients::parse_login(&body)?).await
        }
        Route::DataRows { client_id } => {
            let q = DataQuery::parse(&query_pairs(&req))?;
            let config = load_config(env)?;
            let principal = authorize(&config, &req).await?;
            data_rows(&config, &principal, &client_id, &q).await
        }
        Route::DataCount { client_id } => {
            let q = DataQuery::parse(&query_pairs(&req))?;
            if q.cursor.is_some() {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    "cursor does not apply to a count",
                ));
            }
            let config = load_config(env)?;
            let principal = authorize(&config, &req).await?;
            data_count(&config, &principal, &client_id, &q).await
        }
        Route::DataExport { client_id } => {
            let q = export::ExportQuery::parse(&query_pairs(&req))?;
            let config = load_config(env)?;
            let caller = match authorize(&config, &req).await? {
                Principal::Superadmin => export::Caller::Service,
                Principal::Client { token, .. } => export::Caller::Client { token },
                Principal::Anonymous => return Err(not_a_user()),
            };
            let download = export::start(config, caller, client_id, q).await?;
            return Ok(Answer::Download(download));
        }
        Route::DataSchema { client_id } => {
            let config = load_config(env)?;
            let principal = authorize(&config, &req).await?;
            let tables = visible_tables(&config, upstream_for(&principal)?, &client_id).await?;
            Ok(Reply::ok(json!({"client_id": client_id, "tables": tables})))
        }
        Route::CreateClient => {
            let config = load_config(env)?;
            match authorize(&config, &req).await? {
                Principal::Superadmin => {}
                Principal::Client { .. } => {
                    return Err(ApiError::forbidden("only a superadmin may create clients"))
                }
                Principal::Anonymous => return Err(not_a_user()),
            }
            let query = UploadFields::from_query(&query_pairs(&req))?;
            upload_reply(uploads::upload(&config, &mut req, Target::Create, query).await?)
        }
        Route::AppendData { client_id } => {
            let query = UploadFields::from_query(&query_pairs(&req))?;
            let config = load_config(env)?;
            let principal = authorize(&config, &req).await?;
            let who = upstream_for(&principal)?;
            let target = Target::Append {
                client_id: &client_id,
                who,
            };
            upload_reply(uploads::upload(&config, &mut req, target, query).await?)
        }
        Route::DeleteClient { client_id } => {
            let config = load_config(env)?;
            match authorize(&config, &req).await? {
                Principal::Superadmin => {}
                Principal::Client { .. } => {
                    return Err(ApiError::forbidden("only a superadmin may delete clients"))
                }
                Principal::Anonymous => return Err(not_a_user()),
            }
            rpc(
                &config,
                Upstream::AsService,
                "delete_client",
                &json!({"p_client_id": client_id}),
            )
            .await
            .map_err(|e| match e.code {
                "not_found" => ApiError::client_not_found(&client_id),
                _ => e,
            })?;
            Ok(Reply {
                status: 204,
                body: String::new(),
                replayed: false,
            })
        }
    };
    reply.map(Answer::Json)
}

fn upload_reply(answer: uploads::Answer) -> Result<Reply, ApiError> {
    Ok(Reply {
        status: answer.status,
        body: answer.body.to_string(),
        replayed: answer.replayed,
    })
}

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    query::query_pairs(&req.inner().url())
}

async fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    req.bytes()
        .await
        .map_err(|e| ApiError::bad_request("invalid_body", format!("could not read the body: {e}")))
}

fn not_a_user() -> ApiError {
    ApiError::new(
        401,
        "not_authenticated",
        "the token does not identify a client or a superadmin",
    )
}

async fn authorize(config: &Config, req: &Request) -> Result<Principal, ApiError> {
    let header = req.headers().get("authorization").ok().flatten();
    let token = jwt::bearer(header.as_deref())?.ok_or_else(ApiError::missing_token)?;
    auth::verify(config, token).await
}

/// Who the database sees for a data route: the client itself, or the service role for a
/// superadmin (checked just before, in `authorize`).
fn upstream_for(principal: &Principal) -> Result<Upstream<'_>, ApiError> {
    match principal {
        Principal::Superadmin => Ok(Upstream::AsService),
        Principal::Client { token, .. } => Ok(Upstream::AsClient { token }),
        Principal::Anonymous => Err(not_a_user()),
    }
}

/// The client's tables as the caller may see them; none means the client is not the caller's
/// (or does not exist), answered as 404 `client_not_found` so ids cannot be probed.
pub(crate) async fn visible_tables(
    config: &Config,
    who: Upstream<'_>,
    client_id: &str,
) -> Result<Vec<Value>, ApiError> {
    let answer = rpc(
        config,
        who,
        "get_client_schemas",
        &json!({"p_client_id": client_id}),
    )
    .await?;
    let tables = as_rows(answer, "get_client_schemas")?;
    if tables.is_empty() {
        return Err(ApiError::client_not_found(client_id));
    }
    Ok(tables)
}

pub(crate) fn as_rows(answer: Value, function: &str) -> Result<Vec<Value>, ApiError> {
    match answer {
        Value::Array(rows) => Ok(rows),
        other => Err(ApiError::upstream_unavailable(format!(
            "rpc {function} answered {other} instead of rows"
        ))),
    }
}

async fn data_rows(
    config: &Config,
    principal: &Principal,
    client_id: &str,
    q: &DataQuery,
) -> Result<Reply, ApiError> {
    let who = upstream_for(principal)?;
    let answer = rpc(
        config,
        who,
        "get_client_data_filtered",
        &q.rows_args(client_id),
    )
    .await?;
    let rows = as_rows(answer, "get_client_data_filtered")?;
    // Only an empty page needs telling apart from "not your client".
    if rows.is_empty() {
        visible_tables(config, who, client_id).await?;
    }
    Ok(Reply::ok(query::render_page(rows, q.limit)?))
}

async fn data_count(
    config: &Config,
    principal: &Principal,
    client_id: &str,
    q: &DataQuery,
) -> Result<Reply, ApiError> {
    let who = upstream_for(principal)?;
    let answer = rpc(
        config,
        who,
        "get_client_data_count",
        &q.count_args(client_id),
    )
    .await?;
    let count = answer
        .as_i64()
        .or_else(|| answer.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| {
            ApiError::upstream_unavailable(format!("get_client_data_count answered {answer}"))
        })?;
    if count == 0 {
        visible_tables(config, who, client_id).await?;
    }
    Ok(Reply::ok(json!({ "count": count })))
}

pub(crate) async fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = crypto::random_bytes(password::SALT_BYTES)?;
    let hash = crypto::pbkdf2_sha256(
        password.as_bytes(),
        &salt,
        password::NEW_HASH_ITERATIONS,
        password::HASH_BYTES,
    )
    .await?;
    Ok(PhcHash {
        iterations: password::NEW_HASH_ITERATIONS,
        salt,
        hash,
    }
    .format())
}

/// Verified against when the email is unknown, so both failures cost the same PBKDF2 work.
fn decoy_hash() -> PhcHash {
    PhcHash {
        iterations: password::NEW_HASH_ITERATIONS,
        salt: b"hybrid-store-decoy".to_vec(),
        hash: vec![0; password::HASH_BYTES],
    }
}

async fn login(config: &Config, login: clients::Login) -> Result<Reply, ApiError> {
    let answer = rpc(
        config,
        Upstream::AsService,
        "get_client_credentials",
        &json!({"p_email": login.email.trim()}),
    )
    .await?;
    let account = as_rows(answer, "get_client_credentials")?
        .into_iter()
        .find_map(|row| {
            let hash = row.get("password_hash")?.as_str()?.to_owned();
            let auth_user_id = row.get("auth_user_id")?.as_str()?.to_owned();
            let client_id = row.get("client_id")?.as_str()?.to_owned();
            Some((hash, auth_user_id, client_id))
        });
    let stored = match &account {
        Some((hash, _, client_id)) => PhcHash::parse(hash).or_else(|| {
            console_warn!("client {client_id} has a password_hash that is not pbkdf2-sha256 PHC");
            None
        }),
        None => None,
    };
    let (reference, genuine) = match stored {
        Some(h) => (h, true),
        None => (decoy_hash(), false),
    };
    let derived = crypto::pbkdf2_sha256(
        login.password.as_bytes(),
        &reference.salt,
        reference.iterations,
        reference.hash.len(),
    )
    .await?;
    let matches = password::constant_time_eq(&derived, &reference.hash);
    let Some((_, auth_user_id, client_id)) = account.filter(|_| matches && genuine) else {
        return Err(ApiError::new(
            401,
            "invalid_credentials",
            "email or password is wrong",
        ));
    };
    let token = auth::mint_login_token(config, &auth_user_id, &client_id).await?;
    Ok(Reply::ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": config.token_ttl_seconds,
    })))
}

/// CORS: any origin may call the API. Credentials are bearer tokens, never cookies, so a foreign
/// page gains nothing it could not do with the token itself.
fn cors_headers() -> Headers {
    let headers = Headers::new();
    let ok = headers.set("access-control-allow-origin", "*").is_ok()
        && headers
            .set(
                "access-control-expose-headers",
                "www-authenticate, idempotent-replayed, content-disposition, retry-after",
            )
            .is_ok();
    if !ok {
        console_error!("could not set CORS headers");
    }
    headers
}

fn preflight() -> Response {
    let headers = cors_headers();
    let ok = headers
        .set("access-control-allow-methods", "GET, POST, DELETE, OPTIONS")
        .is_ok()
        && headers
            .set(
                "access-control-allow-headers",
                "authorization, content-type, idempotency-key",
            )
            .is_ok()
        && headers.set("access-control-max-age", "86400").is_ok();
    if !ok {
        console_error!("could not set preflight headers");
    }
    Response::builder()
        .with_status(204)
        .with_headers(headers)
        .empty()
}

/// Headers now, rows as the export reads them.
fn download_response(download: export::Download) -> Response {
    let headers = cors_headers();
    let ok = headers.set("content-type", download.content_type).is_ok()
        && headers
            .set("content-disposition", &download.content_disposition)
            .is_ok()
        // Tenant data: no shared cache may keep a copy.
        && headers.set("cache-control", "no-store").is_ok();
    if !ok {
        console_error!("could not set download headers");
    }
    match Response::builder()
        .with_status(200)
        .with_headers(headers)
        .from_stream(download.body)
    {
        Ok(response) => response,
        Err(e) => render_error(&ApiError::internal(format!("streaming the export: {e}"))),
    }
}

/// Headers only some answers carry.
#[derive(Default)]
struct ExtraHeaders {
    www_authenticate: Option<String>,
    retry_after: Option<u32>,
}

fn render(status: u16, body: String, extra: ExtraHeaders) -> Response {
    let headers = cors_headers();
    let mut ok = headers
        .set("content-type", "application/json; charset=utf-8")
        .is_ok();
    if let Some(v) = extra.www_authenticate {
        ok &= headers.set("www-authenticate", &v).is_ok();
    }
    if let Some(seconds) = extra.retry_after {
        ok &= headers.set("retry-after", &seconds.to_string()).is_ok();
    }
    if !ok {
        console_error!("could not set response headers");
    }
    Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes())
}

/// The single place an error becomes HTTP. 5xx causes are logged here and never sent.
pub fn render_error(e: &ApiError) -> Response {
    if e.status >= 500 {
        console_error!(
            "{} {}: {}",
            e.status,
            e.code,
            e.internal.as_deref().unwrap_or(&e.message)
        );
    }
    render(
        e.status,
        e.body().to_string(),
        ExtraHeaders {
            www_authenticate: e.www_authenticate(),
            retry_after: e.retry_after(),
        },
    )
}

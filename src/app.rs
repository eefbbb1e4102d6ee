//! One request: route → authorize (the route's [`Access`], enforced here once) → parse → execute
//! → render. Also the Worker's configuration (parsed once per isolate), CORS, and the only place
//! an answer or an error becomes a `worker::Response`.
//!
//! Design decision: the caller is verified before anything of the request is parsed or read, so
//! an anonymous caller cannot make the Worker parse parameters or buffer a body, and a handler in
//! `api` receives only the database identity it may use ([`Who`]). A client asking for someone
//! else's `client_id` gets 404 `client_not_found` from the database itself (RLS hides the other
//! tenant's rows and schemas), so ids cannot be probed.

use futures_util::StreamExt;
use serde_json::json;
use worker::{console_error, Env, Headers, Method, Request, Response};

use crate::api::{self, export, uploads, Reply};
use crate::auth::{self, jwt::Principal};
use crate::body::{self, SharedBody};
use crate::config::Config;
use crate::db::{fetch::FetchRpc, Who};
use crate::error::{ApiError, ErrorCode};
use crate::openapi;
use crate::routes::{self, Access, Route};

/// What a route answers: JSON, nothing (204), or a download streamed after its headers.
enum Answer {
    Json(Reply),
    /// JSON text served as is (the OpenAPI document: parsing it per request would be waste).
    Static(&'static str),
    NoContent,
    Download(export::Download),
}

pub async fn handle(req: Request, env: &Env) -> Response {
    if req.method() == Method::Options {
        return preflight();
    }
    match respond(req, env).await {
        Ok(Answer::Download(download)) => download_response(download),
        Ok(Answer::Static(body)) => render(200, body.to_owned(), ExtraHeaders::default()),
        Ok(Answer::NoContent) => Response::builder()
            .with_status(204)
            .with_headers(cors_headers())
            .empty(),
        Ok(Answer::Json(reply)) => {
            let response = render(
                reply.status,
                reply.body.to_string(),
                ExtraHeaders::default(),
            );
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
pub fn load_config(env: &Env) -> Result<Config, ApiError> {
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

/// Bytes a login body may have: an email and a password, with room to spare.
const LOGIN_BODY_BYTES: u64 = 8 * 1024;

async fn respond(mut req: Request, env: &Env) -> Result<Answer, ApiError> {
    let route = routes::route(req.method().as_ref(), &req.path())?;
    match route {
        Route::Health => return Ok(Answer::Json(Reply::ok(json!({"status": "ok"})))),
        Route::OpenApi => return Ok(Answer::Static(openapi::DOCUMENT)),
        _ => {}
    }
    let config = load_config(env)?;
    let body_limit = match route {
        Route::Login => LOGIN_BODY_BYTES,
        _ => config.max_upload_bytes,
    };
    let body = SharedBody::new(body_stream(&mut req));
    let answer = respond_to(route, &req, &config, &body, body_limit).await;
    // Whatever the route read, the rest goes before the answer (see `body`: wrangler dev's
    // proxy answers 503 to the *next* requests when a body is left unread).
    body.discard_rest(body_limit.saturating_mul(2)).await;
    answer
}

async fn respond_to(
    route: Route,
    req: &Request,
    config: &Config,
    body: &SharedBody,
    body_limit: u64,
) -> Result<Answer, ApiError> {
    let principal = authorize(route.access(), config, req).await?;
    let who = match &principal {
        Some(Principal::Client { token, .. }) => Who::Client { token },
        // Superadmins, and the one public route that reaches here (login, which reads
        // credentials as the service role).
        _ => Who::Service,
    };
    let header = |name: &str| req.headers().get(name).ok().flatten();
    if route.has_body() {
        body::check_declared_length(header("content-length").as_deref(), body_limit)?;
    }
    let query = crate::api::data::query_pairs(&req.inner().url());
    let rpc = FetchRpc { config };
    let upload = |query| uploads::UploadRequest {
        content_type: header("content-type"),
        idempotency_key: header("idempotency-key"),
        query,
        body: body.stream(),
    };
    let reply = match route {
        Route::Health | Route::OpenApi => unreachable!("answered before the configuration"),
        Route::Login => {
            let bytes = body.read_capped(body_limit).await?;
            api::login::login(&rpc, config, &bytes).await?
        }
        Route::DataRows { client_id } => api::data::rows(&rpc, who, &client_id, &query).await?,
        Route::DataCount { client_id } => api::data::count(&rpc, who, &client_id, &query).await?,
        Route::DataSchema { client_id } => api::data::schema(&rpc, who, &client_id).await?,
        Route::DataAggregate { client_id } => {
            api::data::aggregate(&rpc, who, &client_id, &query).await?
        }
        Route::DataProfile { client_id } => {
            api::data::profile(&rpc, who, &client_id, &query).await?
        }
        Route::DataExport { client_id } => {
            let q = export::ExportQuery::parse(&query)?;
            let caller = export::Caller::of(who);
            return Ok(Answer::Download(
                export::start(config.clone(), caller, client_id, q).await?,
            ));
        }
        Route::ListClients => api::clients::list(&rpc, &query).await?,
        Route::Inspect => {
            let content_type = header("content-type");
            api::inspect::inspect(content_type.as_deref(), &query, body.stream(), body_limit)
                .await?
        }
        Route::CreateClient => {
            let target = uploads::Target::Create;
            uploads::upload(&rpc, &auth::WebCrypto, body_limit, upload(query), target).await?
        }
        Route::AppendData { client_id } => {
            let target = uploads::Target::Append {
                client_id: &client_id,
                who,
            };
            uploads::upload(&rpc, &auth::WebCrypto, body_limit, upload(query), target).await?
        }
        Route::DeleteClient { client_id } => {
            api::clients::delete(&rpc, &client_id).await?;
            return Ok(Answer::NoContent);
        }
    };
    Ok(Answer::Json(reply))
}

/// Enforces `access`: `None` for a public route, else the verified caller it allows.
async fn authorize(
    access: Access,
    config: &Config,
    req: &Request,
) -> Result<Option<Principal>, ApiError> {
    if access == Access::Public {
        return Ok(None);
    }
    let header = req.headers().get("authorization").ok().flatten();
    let token = auth::jwt::bearer(header.as_deref())?.ok_or_else(ApiError::missing_token)?;
    let principal = auth::verify(config, token).await?;
    match (&principal, access) {
        (Principal::Anonymous, _) => Err(ApiError::not_a_user()),
        (Principal::Client { .. }, Access::AdminOnly) => Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a superadmin may use this route",
        )),
        _ => Ok(Some(principal)),
    }
}

/// The request body as chunks; no body at all reads as an empty one.
fn body_stream(req: &mut Request) -> uploads::BodyStream {
    match req.stream() {
        Ok(stream) => Box::pin(stream.map(|chunk| chunk.map_err(|e| e.to_string()))),
        Err(_) => Box::pin(futures_util::stream::empty()),
    }
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
    if e.status() >= 500 {
        console_error!(
            "{} {}: {}",
            e.status(),
            e.code.as_str(),
            e.internal.as_deref().unwrap_or(&e.message)
        );
    }
    render(
        e.status(),
        e.body().to_string(),
        ExtraHeaders {
            www_authenticate: e.www_authenticate(),
            retry_after: e.retry_after(),
        },
    )
}

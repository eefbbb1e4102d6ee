//! The database, as typed functions: one Rust function per PostgreSQL function the Worker calls,
//! with serde structs for what each returns.
//!
//! Design decision: every call goes through the [`Rpc`] trait (one PostgREST RPC: a function
//! name, JSON arguments, JSON answer), implemented by [`fetch::FetchRpc`] over the runtime's
//! `fetch` and, in tests, by an in-memory fake that scripts answers and counts calls. So the
//! orchestration above (uploads above all) is unit-tested natively, and upstream errors
//! (SQLSTATEs) become the Worker's [`ErrorCode`]s here and only here, per function, never
//! rewritten later.

#[cfg(test)]
pub mod fake;
pub mod fetch;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ErrorCode};

/// The identity an RPC call runs as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Who<'a> {
    /// `apikey` = anon key, `Authorization` = the caller's verified JWT: RLS decides.
    Client { token: &'a str },
    /// The service key, used only after the Worker has verified a superadmin (or for login and
    /// the scheduled cleanup, which act for nobody).
    Service,
}

/// Why an RPC call did not answer 2xx.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// No HTTP answer (connection refused, reset): the cause, for the log.
    Unreachable(String),
    /// No complete answer within the call's time limit (`fetch::timeout_for`): the cause.
    Timeout(String),
    /// An HTTP answer other than 2xx, with its body (PostgREST's `{code, message, details, hint}`).
    Status { status: u16, body: String },
}

/// One PostgREST RPC call: `POST /rest/v1/rpc/{function}` with `args` (JSON text).
#[allow(async_fn_in_trait)] // Used by generics only, never as `dyn` and never across threads.
pub trait Rpc {
    /// The answer body (JSON text; empty for `void`).
    async fn call(&self, who: Who<'_>, function: &str, args: String) -> Result<String, Failure>;
}

async fn call<T: DeserializeOwned>(
    rpc: &impl Rpc,
    who: Who<'_>,
    function: Function,
    args: String,
) -> Result<T, ApiError> {
    let name = function.name();
    let body = rpc
        .call(who, name, args)
        .await
        .map_err(|f| upstream_error(function, f))?;
    let body = if body.trim().is_empty() {
        "null"
    } else {
        &body
    };
    serde_json::from_str(body).map_err(|e| {
        ApiError::upstream_unavailable(format!(
            "rpc {name} answered an unexpected shape ({e}): {}",
            body.chars().take(300).collect::<String>()
        ))
    })
}

/// The functions the Worker calls; each maps its upstream errors its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    QueryData,
    AggregateData,
    ProfileTable,
    ClientSchemas,
    LoginCredentials,
    ListClients,
    BeginUpload { create: bool },
    StageUploadRows,
    CommitUpload { create: bool },
    AbortUpload,
    DeleteClient,
    CleanupAbandonedUploads,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::QueryData => "query_client_data",
            Function::AggregateData => "aggregate_client_data",
            Function::ProfileTable => "profile_client_table",
            Function::ClientSchemas => "get_client_schemas",
            Function::LoginCredentials => "get_login_credentials",
            Function::ListClients => "list_clients",
            Function::BeginUpload { .. } => "begin_upload",
            Function::StageUploadRows => "stage_upload_rows",
            Function::CommitUpload { .. } => "commit_upload",
            Function::AbortUpload => "abort_upload",
            Function::DeleteClient => "delete_client",
            Function::CleanupAbandonedUploads => "cleanup_abandoned_uploads",
        }
    }

    /// Whether PT404 from this function means "no such client for this caller".
    fn names_a_client(self) -> bool {
        matches!(
            self,
            Function::QueryData
                | Function::AggregateData
                | Function::ProfileTable
                | Function::ClientSchemas
                | Function::BeginUpload { .. }
                | Function::DeleteClient
        )
    }

    /// The query parameters of the route whose plan this function compiles, for the
    /// did-you-mean of an `unknown_field` (`?limt=5` → "did you mean the parameter `limit`?");
    /// `None` for functions that raise no `PT400`.
    fn query_parameters(self) -> Option<&'static [&'static str]> {
        match self {
            Function::QueryData => Some(query::READ_PARAMETERS),
            Function::AggregateData => Some(query::AGGREGATE_PARAMETERS),
            Function::ProfileTable => Some(&["table"]),
            _ => None,
        }
    }
}

/// Translates a failed call of `function` into the Worker's error. Deliberate database errors
/// (SQLSTATE 22023, 23505, 42501, PTxyz) keep their message because the migrations write them for
/// users; anything else becomes a 5xx whose cause is only logged.
pub fn upstream_error(function: Function, failure: Failure) -> ApiError {
    let name = function.name();
    let (status, body) = match failure {
        Failure::Unreachable(cause) => {
            return ApiError::upstream_unavailable(format!("rpc {name}: {cause}"))
        }
        Failure::Timeout(cause) => {
            return ApiError::upstream_timeout(format!("rpc {name}: {cause}"))
        }
        Failure::Status { status, body } => (status, body),
    };
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let field = |k: &str| parsed.get(k).and_then(Value::as_str).map(str::to_owned);
    let sqlstate = field("code").unwrap_or_default();
    let message = field("message").unwrap_or_else(|| "request rejected".to_owned());
    let details = parsed.get("details").filter(|d| !d.is_null()).cloned();
    let passthrough = |code: ErrorCode| ApiError {
        code,
        message: message.clone(),
        details: details.clone(),
        hint: field("hint"),
        internal: None,
    };
    let creates = matches!(
        function,
        Function::BeginUpload { create: true } | Function::CommitUpload { create: true }
    );
    match sqlstate.as_str() {
        // The query compiler's refusals (docs/QUERY.md "Errors"): `details` is the JSON text of
        // `{code, field?, fields?, table?, tables?, …}`; the query crate turns it into our code,
        // the names in `details` and a did-you-mean hint.
        "PT400" if function.query_parameters().is_some() => {
            let detail = match &details {
                Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
                Some(other) => other.clone(),
                None => Value::Null,
            };
            let reserved = function.query_parameters().unwrap_or_default();
            let mut e = ApiError::from(query::from_sql_error(&detail, &message, reserved));
            if e.hint.is_none() {
                e.hint = field("hint").filter(|h| !h.is_empty());
            }
            e
        }
        // A create's email (or ids) already belong to a client.
        "23505" if creates => {
            passthrough(ErrorCode::EmailTaken).with_hint("use another email or the existing client")
        }
        "22023" | "22P02" | "22007" | "22008" | "23502" | "23514" => {
            passthrough(ErrorCode::InvalidArgument)
        }
        "42501" if status == 401 => passthrough(ErrorCode::NotAuthenticated),
        "42501" => passthrough(ErrorCode::Forbidden),
        // The read functions and begin_upload raise PT404 for a client the caller cannot see;
        // the message names the id the caller sent, nothing more.
        "PT404" if function.names_a_client() => passthrough(ErrorCode::ClientNotFound),
        // begin_upload: another request with this Idempotency-Key is still being processed
        // (the migration marks it with detail `in_progress`; its hint says when to retry).
        "PT409"
            if matches!(function, Function::BeginUpload { .. })
                && details == Some(json!("in_progress")) =>
        {
            passthrough(ErrorCode::IdempotencyInProgress)
        }
        // begin_upload: the Idempotency-Key was committed for another table.
        "PT409" if matches!(function, Function::BeginUpload { .. }) => {
            passthrough(ErrorCode::IdempotencyConflict)
                .with_hint("send a different upload with a new Idempotency-Key")
        }
        // stage/commit: this upload was committed or discarded meanwhile (another request with
        // the same key took it over after it sat idle).
        "PT409" => passthrough(ErrorCode::UploadConflict)
            .with_hint("retry with the same Idempotency-Key to get the stored answer"),
        // PostgREST's own JWT errors: the token was accepted by us but not by the data API.
        "PGRST301" | "PGRST302" | "PGRST303" => passthrough(ErrorCode::InvalidToken),
        _ => {
            let cause = format!(
                "rpc {name} answered {status}: {}",
                body.chars().take(500).collect::<String>()
            );
            if (400..500).contains(&status) {
                // A 4xx we did not plan for is still our bug (a call the data API rejects).
                ApiError::internal(cause)
            } else {
                ApiError::upstream_unavailable(cause)
            }
        }
    }
}

// ---- reads -------------------------------------------------------------------------------

/// A row of `query_client_data`'s `rows` (without `select`, `data` is the whole stored row).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataRow {
    pub id: i64,
    pub table_name: String,
    pub created_at: String,
    pub data: Value,
}

/// `query_client_data`'s answer (docs/QUERY.md). `Rows` is what the caller keeps of the rows:
/// [`DataRow`]s to look into them (the export), `Box<RawValue>` to pass them on exactly as the
/// database wrote them without building a `Value` tree (a page: its rows already have the
/// public shape `{id, table_name, created_at, data}`), `IgnoredAny` for none (a count).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueryAnswer<Rows = Vec<DataRow>> {
    /// The table the plan resolved to; `None` when it read every table of the client.
    pub table: Option<String>,
    pub rows: Rows,
    /// The keyset after the last row when there are more; opaque to the Worker.
    pub next: Option<Value>,
    pub total: Option<i64>,
    pub total_kind: Option<String>,
}

/// `query_client_data(client_id, plan)`: one page (and the total when the plan asks), in one
/// call; `plan` is `query::ReadRequest::plan`'s JSON.
pub async fn query_data<Rows: DeserializeOwned>(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    plan: &Value,
) -> Result<QueryAnswer<Rows>, ApiError> {
    let args = json!({"p_client_id": client_id, "p_query": plan});
    call(rpc, who, Function::QueryData, args.to_string()).await
}

/// `aggregate_client_data(client_id, plan)`: `{table, groups: [{key, metrics}], group_count}`,
/// passed on as the database shaped it.
pub async fn aggregate_data(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    plan: &Value,
) -> Result<Value, ApiError> {
    let args = json!({"p_client_id": client_id, "p_query": plan});
    call(rpc, who, Function::AggregateData, args.to_string()).await
}

/// `profile_client_table(client_id, table)`: `{table, row_count, columns: [{key, name, type,
/// nulls, distinct_estimate, min, max, histogram?, top_values?}]}`.
pub async fn profile_table(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    table: Option<&str>,
) -> Result<Value, ApiError> {
    let args = json!({"p_client_id": client_id, "p_table_name": table});
    call(rpc, who, Function::ProfileTable, args.to_string()).await
}

/// A row of `get_client_schemas`: one table of a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    pub table_name: String,
    pub data_type: String,
    pub schema_def: Value,
    pub data_stored: bool,
    pub row_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// `get_client_schemas(client_id)`: the client's tables as the caller may see them. None means
/// the client is not the caller's (or does not exist): 404 `client_not_found`, so ids cannot be
/// probed.
pub async fn client_schemas(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
) -> Result<Vec<TableSchema>, ApiError> {
    let tables: Vec<TableSchema> = call(
        rpc,
        who,
        Function::ClientSchemas,
        json!({ "p_client_id": client_id }).to_string(),
    )
    .await?;
    if tables.is_empty() {
        return Err(ApiError::client_not_found(client_id));
    }
    Ok(tables)
}

/// Which kind of account an email signs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Client,
    Admin,
}

/// A row of `get_login_credentials`: a client (`id` = client_id) or a superadmin account
/// (`id` = admin_id = `auth_user_id`, the `sub` of its token).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Credentials {
    pub kind: AccountKind,
    pub id: String,
    pub auth_user_id: String,
    pub password_hash: Option<String>,
}

/// `get_login_credentials(email)` as the service role: the account, if the email has one
/// (emails are unique across clients and admins, so at most one).
pub async fn credentials(rpc: &impl Rpc, email: &str) -> Result<Option<Credentials>, ApiError> {
    let rows: Vec<Credentials> = call(
        rpc,
        Who::Service,
        Function::LoginCredentials,
        json!({ "p_email": email }).to_string(),
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// What `list_clients` is asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListClients {
    pub p_search: Option<String>,
    pub p_limit: u32,
    pub p_offset: u64,
}

/// `list_clients(search, limit, offset)` as the service role (superadmin only, checked before):
/// `{clients: [...], total}`, passed through as the database shaped it.
pub async fn list_clients(rpc: &impl Rpc, args: &ListClients) -> Result<Value, ApiError> {
    call(
        rpc,
        Who::Service,
        Function::ListClients,
        serde_json::to_string(args).map_err(|e| ApiError::internal(e.to_string()))?,
    )
    .await
}

// ---- writes ------------------------------------------------------------------------------

/// `delete_client(client_id)` as the service role (superadmin only, checked before).
pub async fn delete_client(rpc: &impl Rpc, client_id: &str) -> Result<(), ApiError> {
    let _: Value = call(
        rpc,
        Who::Service,
        Function::DeleteClient,
        json!({ "p_client_id": client_id }).to_string(),
    )
    .await?;
    Ok(())
}

/// `cleanup_abandoned_uploads()` as the service role: uploads removed.
pub async fn cleanup_abandoned_uploads(rpc: &impl Rpc) -> Result<i64, ApiError> {
    call(
        rpc,
        Who::Service,
        Function::CleanupAbandonedUploads,
        "{}".to_owned(),
    )
    .await
}

/// What `begin_upload` is told.
#[derive(Debug, Clone, Serialize)]
pub struct BeginUpload<'a> {
    pub p_kind: &'a str,
    pub p_client_id: &'a str,
    /// None: the database names it (a create's default depends on the stored client id when an
    /// Idempotency-Key replays an earlier create).
    pub p_table_name: Option<&'a str>,
    pub p_data_type: &'a str,
    pub p_idempotency_key: Option<&'a str>,
    pub p_client: Option<&'a Value>,
}

/// `begin_upload`'s answer: a fresh upload, or the stored result of a committed key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Begun {
    pub upload_id: Option<String>,
    #[serde(default)]
    pub replayed: bool,
    pub result: Option<UploadResult>,
    /// On a replay: the digest the first request committed with (None if it stored none).
    #[serde(default)]
    pub request_digest: Option<String>,
}

/// What `commit_upload` returns, and what a replay returns as `result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadResult {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_user_id: Option<String>,
    pub table_name: String,
    pub data_type: String,
    pub rows_stored: i64,
    pub row_count: i64,
    pub schema_version: Option<i64>,
}

pub async fn begin_upload(
    rpc: &impl Rpc,
    who: Who<'_>,
    args: &BeginUpload<'_>,
) -> Result<Begun, ApiError> {
    let function = Function::BeginUpload {
        create: args.p_kind == "create",
    };
    let args = serde_json::to_string(args).map_err(|e| ApiError::internal(e.to_string()))?;
    let begun: Begun = call(rpc, who, function, args).await?;
    let shaped = if begun.replayed {
        begun.result.is_some()
    } else {
        begun
            .upload_id
            .as_deref()
            .is_some_and(crate::routes::is_uuid)
    };
    if !shaped {
        return Err(ApiError::upstream_unavailable(format!(
            "begin_upload answered {begun:?}"
        )));
    }
    Ok(begun)
}

/// `stage_upload_rows(upload_id, rows)`: `rows_json` is already a JSON array text, spliced in
/// rather than parsed again. Returns the rows staged so far.
pub async fn stage_upload_rows(
    rpc: &impl Rpc,
    who: Who<'_>,
    upload_id: &str,
    rows_json: &str,
) -> Result<i64, ApiError> {
    // The upload id is a UUID from the database (checked in begin_upload): nothing to escape.
    let args = format!(r#"{{"p_upload_id":"{upload_id}","p_rows":{rows_json}}}"#);
    call(rpc, who, Function::StageUploadRows, args).await
}

pub async fn commit_upload(
    rpc: &impl Rpc,
    who: Who<'_>,
    create: bool,
    upload_id: &str,
    schema_def: &Value,
    data_type: &str,
    request_digest: &str,
) -> Result<UploadResult, ApiError> {
    let args = json!({"p_upload_id": upload_id, "p_schema_def": schema_def,
                      "p_data_type": data_type, "p_request_digest": request_digest});
    call(
        rpc,
        who,
        Function::CommitUpload { create },
        args.to_string(),
    )
    .await
}

pub async fn abort_upload(rpc: &impl Rpc, who: Who<'_>, upload_id: &str) -> Result<(), ApiError> {
    let _: Value = call(
        rpc,
        who,
        Function::AbortUpload,
        json!({ "p_upload_id": upload_id }).to_string(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, body: &str) -> Failure {
        Failure::Status {
            status,
            body: body.to_owned(),
        }
    }

    const CREATE: Function = Function::CommitUpload { create: true };

    #[test]
    fn duplicate_email_on_create_is_409_email_taken() {
        let body =
            r#"{"code":"23505","message":"email already registered","details":null,"hint":null}"#;
        let e = upstream_error(CREATE, status(409, body));
        assert_eq!((e.status(), e.code), (409, ErrorCode::EmailTaken));
        assert_eq!(e.message, "email already registered");
        let e = upstream_error(Function::BeginUpload { create: true }, status(409, body));
        assert_eq!(e.code, ErrorCode::EmailTaken);
    }

    #[test]
    fn bad_argument_passes_its_message_through_as_400() {
        let body = r#"{"code":"22023","message":"p_rows[2] is not an object","details":"row 2","hint":"send objects"}"#;
        let e = upstream_error(Function::StageUploadRows, status(400, body));
        assert_eq!((e.status(), e.code), (400, ErrorCode::InvalidArgument));
        assert_eq!(e.body()["details"], "row 2");
        assert_eq!(e.body()["hint"], "send objects");
    }

    #[test]
    fn permission_errors_split_by_upstream_status() {
        let body = r#"{"code":"42501","message":"permission denied for function x"}"#;
        let f = Function::QueryData;
        assert_eq!(upstream_error(f, status(401, body)).status(), 401);
        assert_eq!(
            upstream_error(f, status(403, body)).code,
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn pt404_is_client_not_found_where_a_client_is_named() {
        let body = r#"{"code":"PT404","message":"no client 0b6a… is visible"}"#;
        for f in [
            Function::QueryData,
            Function::AggregateData,
            Function::ProfileTable,
            Function::ClientSchemas,
            Function::BeginUpload { create: false },
            Function::DeleteClient,
        ] {
            let e = upstream_error(f, status(404, body));
            assert_eq!(
                (e.status(), e.code),
                (404, ErrorCode::ClientNotFound),
                "{f:?}"
            );
        }
        // An upload the caller cannot see after it began is our bug, not the caller's.
        let e = upstream_error(Function::StageUploadRows, status(404, body));
        assert_eq!(e.code, ErrorCode::InternalError);
    }

    #[test]
    fn idempotency_answers_of_begin_upload() {
        let body =
            r#"{"code":"PT409","message":"Idempotency-Key k was used for an upload to table a"}"#;
        let begin = Function::BeginUpload { create: false };
        let e = upstream_error(begin, status(409, body));
        assert_eq!((e.status(), e.code), (409, ErrorCode::IdempotencyConflict));
        assert!(e.message.contains("table a"));
        assert_eq!(e.retry_after(), None);
        let body = r#"{"code":"PT409","message":"an upload with Idempotency-Key k is still in progress","details":"in_progress","hint":"Retry when it has finished (or after 30 s if it was abandoned)."}"#;
        let e = upstream_error(begin, status(409, body));
        assert_eq!(e.code, ErrorCode::IdempotencyInProgress);
        assert!(e.hint.as_deref().unwrap_or_default().contains("30 s"));
        assert_eq!(e.retry_after(), Some(30));
        // Elsewhere PT409 is an upload already committed or aborted.
        let e = upstream_error(CREATE, status(409, r#"{"code":"PT409","message":"done"}"#));
        assert_eq!(e.code, ErrorCode::UploadConflict);
    }

    #[test]
    fn pt400_of_the_query_functions_becomes_the_query_code_with_a_hint() {
        // As PostgREST sends a RAISE: `details` is the detail's text, `hint` '' when unset.
        let detail =
            json!({"code": "unknown_field", "field": "limt", "fields": ["price", "country"]});
        let body = json!({"code": "PT400", "message": "unknown field limt", "details": detail.to_string(), "hint": ""});
        let e = upstream_error(Function::QueryData, status(400, &body.to_string()));
        assert_eq!((e.status(), e.code), (400, ErrorCode::UnknownField));
        assert_eq!(
            e.details.as_ref().unwrap()["fields"],
            json!(["price", "country"])
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("did you mean the parameter `limit`?")
        );
        // The aggregate route's own parameters are the candidates there.
        let detail = json!({"code": "unknown_field", "field": "group_bu", "fields": ["price"]});
        let body = json!({"code": "PT400", "message": "m", "details": detail.to_string()});
        let e = upstream_error(Function::AggregateData, status(400, &body.to_string()));
        assert_eq!(
            e.hint.as_deref(),
            Some("did you mean the parameter `group_by`?")
        );
        let detail =
            json!({"code": "unknown_table", "table": "nosuch", "tables": ["client_a_sales"]});
        let body = json!({"code": "PT400", "message": "this client has no table nosuch", "details": detail.to_string()});
        let e = upstream_error(Function::ProfileTable, status(400, &body.to_string()));
        assert_eq!(e.code, ErrorCode::UnknownTable);
        assert_eq!(e.details.unwrap()["tables"], json!(["client_a_sales"]));
        assert!(e.hint.unwrap().contains("client_a_sales"));
        // A code the Worker does not know yet is still a 400, never a 500.
        let body = json!({"code": "PT400", "message": "m", "details": "{\"code\": \"brand_new\"}"});
        let e = upstream_error(Function::QueryData, status(400, &body.to_string()));
        assert_eq!((e.status(), e.code), (400, ErrorCode::InvalidQuery));
        // PT400 from a function that compiles no query is not planned for: our bug.
        let e = upstream_error(Function::StageUploadRows, status(400, &body.to_string()));
        assert_eq!(e.code, ErrorCode::InternalError);
    }

    #[test]
    fn unknown_upstream_failures_do_not_leak() {
        let body =
            r#"{"code":"XX000","message":"connection to 10.0.0.3 refused, password=hunter2"}"#;
        let e = upstream_error(Function::QueryData, status(500, body));
        assert_eq!((e.status(), e.code), (502, ErrorCode::UpstreamUnavailable));
        let sent = e.body().to_string();
        assert!(
            !sent.contains("hunter2") && !sent.contains("10.0.0.3"),
            "{sent}"
        );
        assert!(
            e.internal.unwrap().contains("hunter2"),
            "cause is kept for the log"
        );
        // Not JSON at all (a proxy error page) is still a clean 502.
        assert_eq!(
            upstream_error(Function::QueryData, status(503, "<html>")).status(),
            502
        );
        assert_eq!(
            upstream_error(Function::QueryData, Failure::Unreachable("refused".into())).status(),
            502
        );
        // A call that outlived its time limit: 504, the outcome unknown, the cause only logged.
        let e = upstream_error(Function::QueryData, Failure::Timeout("after 15 s".into()));
        assert_eq!((e.status(), e.code), (504, ErrorCode::UpstreamTimeout));
        assert!(!e.body().to_string().contains("15 s"));
        // An unplanned 4xx (e.g. function missing) is our bug, answered as 500.
        let e = upstream_error(
            Function::QueryData,
            status(404, r#"{"code":"PGRST202","message":"no function"}"#),
        );
        assert_eq!((e.status(), e.code), (500, ErrorCode::InternalError));
    }
}

//! The upload orchestration against the fake [`Rpc`]: which calls an upload makes, in which
//! order, and what it undoes when something fails.

use futures_util::stream;
use serde_json::{json, Value};

use super::*;
use crate::db::fake::{block_on, pg_error, FakeRpc};
use crate::db::Failure;

/// The id `FixedMinter`'s bytes make (`client_id::random_from([7; 16])`).
const CLIENT: &str = "07070707-0707-4707-8707-070707070707";
const UPLOAD: &str = "5e1f0c9a-2b3d-4e5f-8a6b-7c8d9e0f1a2b";
const STAMP: &str = "2026-01-01T00:00:00+00:00";

struct FixedMinter;

impl Minter for FixedMinter {
    async fn hash_password(&self, _password: &str) -> Result<String, ApiError> {
        Ok("$pbkdf2-sha256$i=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA".to_owned())
    }

    fn random_id_bytes(&self) -> Result<[u8; 16], ApiError> {
        Ok([7; 16])
    }
}

fn csv(rows: usize) -> Vec<u8> {
    let mut out = b"name,amount\n".to_vec();
    for i in 0..rows {
        out.extend(format!("n{i},{i}\n").into_bytes());
    }
    out
}

/// The body in chunks of `chunk` bytes, as the runtime delivers it.
fn body(bytes: Vec<u8>, chunk: usize) -> BodyStream {
    let chunks: Vec<Result<Vec<u8>, String>> =
        bytes.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
    Box::pin(stream::iter(chunks))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn create_csv(bytes: Vec<u8>, key: Option<&str>) -> UploadRequest {
    UploadRequest {
        content_type: Some("text/csv".into()),
        idempotency_key: key.map(str::to_owned),
        query: pairs(&[("company_name", "Acme"), ("email", "ops@acme.io")]),
        body: body(bytes, 1000),
    }
}

fn append_csv(bytes: Vec<u8>) -> UploadRequest {
    UploadRequest {
        content_type: Some("text/csv".into()),
        idempotency_key: None,
        query: pairs(&[("table", "sales")]),
        body: body(bytes, 1000),
    }
}

fn result(table: &str, rows: i64) -> Value {
    json!({"client_id": CLIENT, "auth_user_id": "9d5e…", "table_name": table,
           "data_type": "data", "rows_stored": rows, "row_count": rows, "schema_version": 1})
}

fn schema_row(table: &str) -> Value {
    json!({"table_name": table, "data_type": "data", "schema_def": {"columns": []},
           "data_stored": true, "row_count": 0, "created_at": STAMP, "updated_at": STAMP})
}

/// A database where every call succeeds; commit reports the rows staged.
fn happy() -> FakeRpc {
    FakeRpc::new()
        .on("begin_upload", |_, _| {
            Ok(json!({"upload_id": UPLOAD, "status": "pending", "replayed": false, "result": null}))
        })
        .on("stage_upload_rows", |args, _| {
            Ok(json!(args["p_rows"].as_array().unwrap().len()))
        })
        .on("get_client_schemas", |_, _| {
            Ok(json!([schema_row("sales")]))
        })
        .on("abort_upload", |_, _| Ok(Value::Null))
        .on("delete_client", |_, _| Ok(Value::Null))
}

fn with_commit(rpc: FakeRpc) -> FakeRpc {
    rpc.on("commit_upload", |_, _| Ok(result("sales", 5000)))
}

fn run(rpc: &FakeRpc, req: UploadRequest, target: Target<'_>) -> Result<Reply, ApiError> {
    block_on(upload(rpc, &FixedMinter, 1 << 30, req, target))
}

#[test]
fn a_csv_create_is_begin_one_stage_per_batch_commit() {
    let rpc = with_commit(happy());
    let reply = run(&rpc, create_csv(csv(5000), None), Target::Create).unwrap();
    assert_eq!(reply.status, 201);
    assert!(!reply.replayed);
    assert_eq!(reply.body["client"]["client_id"], CLIENT);
    assert_eq!(reply.body["client"]["created_at"], STAMP);
    assert_eq!(reply.body["rows_stored"], 5000);
    assert!(reply.body.get("rows_rejected").is_none());
    // 5000 rows in batches of 2000: three stage calls, all under the upload begun first.
    assert_eq!(
        rpc.names(),
        [
            "begin_upload",
            "stage_upload_rows",
            "stage_upload_rows",
            "stage_upload_rows",
            "commit_upload",
            "get_client_schemas",
        ]
    );
    let calls = rpc.calls.borrow();
    assert!(
        calls.iter().all(|c| c.as_service),
        "a create runs as the service role"
    );
    assert_eq!(calls[0].args["p_kind"], "create");
    assert_eq!(calls[0].args["p_client"]["email"], "ops@acme.io");
    let staged: usize = calls
        .iter()
        .filter(|c| c.function == "stage_upload_rows")
        .map(|c| c.args["p_rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(staged, 5000);
    assert_eq!(calls[4].args["p_upload_id"], UPLOAD);
}

fn create_raw(content_type: &str, bytes: Vec<u8>) -> UploadRequest {
    UploadRequest {
        content_type: Some(content_type.into()),
        idempotency_key: None,
        query: pairs(&[("company_name", "Acme"), ("email", "ops@acme.io")]),
        body: body(bytes, 64 * 1024),
    }
}

/// The stage calls' batch sizes.
fn stages(rpc: &FakeRpc) -> Vec<usize> {
    rpc.calls
        .borrow()
        .iter()
        .filter(|c| c.function == "stage_upload_rows")
        .map(|c| c.args["p_rows"].as_array().unwrap().len())
        .collect()
}

#[test]
fn ndjson_and_a_json_array_over_the_whole_file_limit_stream_in_batches() {
    let mut ndjson = Vec::new();
    let mut rows = 0;
    while (ndjson.len() as u64) < 3 * WHOLE_FILE_BYTES {
        ndjson.extend(format!("{{\"name\": \"n{rows}\", \"amount\": {rows}}}\n").into_bytes());
        rows += 1;
    }
    let rpc = happy().on("commit_upload", move |_, _| {
        Ok(result("sales", rows as i64))
    });
    let reply = run(
        &rpc,
        create_raw("application/x-ndjson", ndjson),
        Target::Create,
    )
    .unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["schema"]["format"], "ndjson");
    assert_eq!(reply.body["schema"]["row_count"], rows);
    let staged = stages(&rpc);
    assert_eq!(staged.iter().sum::<usize>(), rows);
    assert!(staged.len() > 1, "staged as it streams: {staged:?}");
    // The same rows as one JSON array (a body opening with `[`, sent as the JSON content type
    // or as a file) stream too, with the same columns.
    let mut array = b" \n[".to_vec();
    for i in 0..rows {
        array.extend(format!("{{\"name\": \"n{i}\", \"amount\": {i}}},").into_bytes());
    }
    array.pop();
    array.push(b']');
    for content_type in ["application/json", "text/plain"] {
        let rpc = happy().on("commit_upload", move |_, _| {
            Ok(result("sales", rows as i64))
        });
        let reply = run(
            &rpc,
            create_raw(content_type, array.clone()),
            Target::Create,
        )
        .unwrap();
        assert_eq!(reply.body["schema"]["format"], "json", "{content_type}");
        assert_eq!(reply.body["schema"]["row_count"], rows, "{content_type}");
        let keys: Vec<&Value> = reply.body["schema"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["key"])
            .collect();
        assert_eq!(keys, [&json!("name"), &json!("amount")]);
        let staged = stages(&rpc);
        assert_eq!(staged.iter().sum::<usize>(), rows, "{content_type}");
        assert!(staged.len() > 1, "staged as it streams: {staged:?}");
    }
    // A JSON object document (the form, or an object holding the rows) is still read whole,
    // so capped, and nothing is begun.
    let mut object = b"{\"rows\": ".to_vec();
    object.extend_from_slice(&array[2..]);
    object.push(b'}');
    let rpc = happy();
    let err = run(&rpc, create_raw("application/json", object), Target::Create).unwrap_err();
    assert_eq!(err.code, ErrorCode::PayloadTooLarge);
    assert!(rpc.names().is_empty(), "{:?}", rpc.names());
}

#[test]
fn a_json_array_with_a_record_over_the_limits_is_refused_and_aborted() {
    // Over the hold, so it streams; the bad record comes after the first batches were staged.
    let mut array = b"[".to_vec();
    for i in 0..60_000 {
        array.extend(format!("{{\"name\": \"n{i}\", \"amount\": {i}}},").into_bytes());
    }
    let wide: Vec<String> = (0..600).map(|k| format!("\"k{k}\": 1")).collect();
    for (bad, code) in [
        (
            format!("{{\"name\": \"{}\"}}]", "x".repeat(70 * 1024)),
            ErrorCode::CellTooLarge,
        ),
        (
            "{\"name\": \"a\", \"late\": 1}]".to_string(),
            ErrorCode::InvalidJson,
        ),
        (
            format!("{{\"name\": {}1{}}}]", "[".repeat(200), "]".repeat(200)),
            ErrorCode::InvalidJson,
        ),
    ] {
        let mut body = array.clone();
        body.extend(bad.into_bytes());
        let rpc = happy();
        let err = run(&rpc, create_raw("application/json", body), Target::Create).unwrap_err();
        assert_eq!(err.code, code, "{}", err.message);
        assert!(!stages(&rpc).is_empty(), "staged before the bad record");
        assert_eq!(rpc.count("abort_upload"), 1);
        assert_eq!(rpc.count("commit_upload"), 0);
    }
    // Too many keys in the sample: refused at that record, before anything is staged.
    let mut body = array[..1].to_vec();
    body.extend(format!("{{{}}},", wide.join(",")).into_bytes());
    body.extend_from_slice(&array[1..]);
    body.extend(b"{}]");
    let rpc = happy();
    let err = run(&rpc, create_raw("application/json", body), Target::Create).unwrap_err();
    assert_eq!(err.code, ErrorCode::TooManyColumns, "{}", err.message);
    assert!(err.message.contains("512"), "{}", err.message);
    assert!(rpc.names().is_empty(), "{:?}", rpc.names());
}

#[test]
fn an_append_runs_as_the_client_and_merges_the_stored_schema() {
    let rpc = with_commit(happy());
    let who = Who::Client { token: "user.jwt" };
    let target = Target::Append {
        client_id: CLIENT,
        who,
    };
    let reply = run(&rpc, append_csv(csv(10)), target).unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["client_id"], CLIENT);
    assert_eq!(
        rpc.names(),
        [
            "get_client_schemas",
            "begin_upload",
            "stage_upload_rows",
            "commit_upload"
        ]
    );
    assert!(rpc.calls.borrow().iter().all(|c| !c.as_service));
}

#[test]
fn a_database_failure_mid_stream_aborts_the_upload() {
    // The first handler for a function wins: stage fails on its second call.
    let rpc = FakeRpc::new()
        .on("stage_upload_rows", |args, n| {
            if n == 1 {
                Err(pg_error(500, "XX000", "connection lost"))
            } else {
                Ok(json!(args["p_rows"].as_array().unwrap().len()))
            }
        })
        .on("commit_upload", |_, _| {
            panic!("a failed upload never commits")
        })
        .merge(happy());
    let e = run(&rpc, create_csv(csv(5000), None), Target::Create).unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(
        rpc.names(),
        [
            "begin_upload",
            "stage_upload_rows",
            "stage_upload_rows",
            "abort_upload"
        ]
    );
    assert_eq!(rpc.calls.borrow()[3].args["p_upload_id"], UPLOAD);
}

#[test]
fn a_bad_row_after_the_first_batch_aborts_what_was_staged() {
    let mut bytes = csv(2500);
    // A row with more cells than the header has columns is fine; one over the cell limit is not.
    bytes.extend(format!("big,{}\n", "9".repeat(200 * 1024)).into_bytes());
    let rpc = happy().on("commit_upload", |_, _| panic!("never commits"));
    let e = run(&rpc, create_csv(bytes, None), Target::Create).unwrap_err();
    assert_eq!(e.code, ErrorCode::CellTooLarge);
    assert_eq!(rpc.count("abort_upload"), 1);
    assert_eq!(rpc.count("commit_upload"), 0);
}

#[test]
fn a_body_cut_off_mid_stream_aborts_the_upload() {
    let mut chunks: Vec<Result<Vec<u8>, String>> =
        csv(30_000).chunks(1000).map(|c| Ok(c.to_vec())).collect();
    chunks.truncate(chunks.len() / 2);
    chunks.push(Err("network connection lost".into()));
    let mut req = create_csv(Vec::new(), None);
    req.body = Box::pin(stream::iter(chunks));
    let rpc = happy().on("commit_upload", |_, _| panic!("never commits"));
    let e = run(&rpc, req, Target::Create).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidBody);
    assert_eq!(rpc.count("abort_upload"), 1);
}

#[test]
fn a_replay_answers_the_stored_result_and_stages_nothing() {
    let rpc = FakeRpc::new()
        .on("begin_upload", |_, _| {
            Ok(
                json!({"upload_id": UPLOAD, "status": "committed", "replayed": true,
                      "result": result("client_0b6a4c1e_data", 42)}),
            )
        })
        .on("get_client_schemas", |_, _| {
            Ok(json!([schema_row("client_0b6a4c1e_data")]))
        });
    let reply = run(&rpc, create_csv(csv(100), Some("import-1")), Target::Create).unwrap();
    assert!(reply.replayed);
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["rows_stored"], 42, "the first answer's count");
    assert_eq!(reply.body["schema"], json!({"columns": []}));
    assert_eq!(rpc.names(), ["begin_upload", "get_client_schemas"]);
    assert_eq!(rpc.calls.borrow()[0].args["p_idempotency_key"], "import-1");
}

/// Creates with key `import-2` once and returns the digest its commit stored.
fn committed_digest(bytes: Vec<u8>) -> String {
    let rpc = with_commit(happy());
    run(&rpc, create_csv(bytes, Some("import-2")), Target::Create).unwrap();
    let calls = rpc.calls.borrow();
    let commit = calls
        .iter()
        .find(|c| c.function == "commit_upload")
        .unwrap();
    commit.args["p_request_digest"].as_str().unwrap().to_owned()
}

/// A database that replays key `import-2` as committed with `digest`.
fn replaying(digest: &str) -> FakeRpc {
    let digest = digest.to_owned();
    FakeRpc::new()
        .on("begin_upload", move |_, _| {
            Ok(
                json!({"upload_id": UPLOAD, "status": "committed", "replayed": true,
                      "result": result("client_0b6a4c1e_data", 5000), "request_digest": digest}),
            )
        })
        .on("get_client_schemas", |_, _| {
            Ok(json!([schema_row("client_0b6a4c1e_data")]))
        })
}

#[test]
fn a_reused_key_replays_the_same_request_and_refuses_another() {
    let digest = committed_digest(csv(5000));
    assert!(digest.starts_with("sha256:"), "{digest}");
    // The same fields and file, delivered in other chunks: a true retry.
    let mut same = create_csv(Vec::new(), Some("import-2"));
    same.body = body(csv(5000), 777);
    let reply = run(&replaying(&digest), same, Target::Create).unwrap();
    assert!(reply.replayed);
    // One row more (read past the point where the replay is known): another request.
    let e = run(
        &replaying(&digest),
        create_csv(csv(5001), Some("import-2")),
        Target::Create,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code), (422, ErrorCode::IdempotencyKeyReused));
    // Other fields, the same file.
    let mut other = create_csv(csv(5000), Some("import-2"));
    other.query.push(("data_type".into(), "orders".into()));
    let e = run(&replaying(&digest), other, Target::Create).unwrap_err();
    assert_eq!(e.code, ErrorCode::IdempotencyKeyReused);
}

#[test]
fn a_duplicate_email_at_commit_leaves_nothing_staged() {
    let rpc = happy().on("commit_upload", |_, _| {
        Err(pg_error(
            409,
            "23505",
            "email ops@acme.io is already registered",
        ))
    });
    let e = run(&rpc, create_csv(csv(10), None), Target::Create).unwrap_err();
    assert_eq!((e.status(), e.code), (409, ErrorCode::EmailTaken));
    assert!(e.message.contains("already registered"));
    assert_eq!(
        rpc.names(),
        [
            "begin_upload",
            "stage_upload_rows",
            "commit_upload",
            "abort_upload"
        ]
    );
}

#[test]
fn a_duplicate_email_at_begin_stages_nothing() {
    let rpc = FakeRpc::new().on("begin_upload", |_, _| {
        Err(pg_error(
            409,
            "23505",
            "email ops@acme.io is already registered",
        ))
    });
    let e = run(&rpc, create_csv(csv(10), None), Target::Create).unwrap_err();
    assert_eq!(e.code, ErrorCode::EmailTaken);
    assert_eq!(rpc.names(), ["begin_upload"]);
}

#[test]
fn an_append_to_an_unseen_client_is_client_not_found() {
    let rpc = FakeRpc::new().on("get_client_schemas", |_, _| Ok(json!([])));
    let target = Target::Append {
        client_id: CLIENT,
        who: Who::Client { token: "t" },
    };
    let e = run(&rpc, append_csv(csv(10)), target).unwrap_err();
    assert_eq!((e.status(), e.code), (404, ErrorCode::ClientNotFound));
    assert_eq!(rpc.count("begin_upload"), 0);
}

fn table(csv_text: &str, sheet: &str) -> ingest::Table {
    let mut t = ingest::ingest(csv_text.as_bytes(), &ingest::IngestOptions::new())
        .unwrap()
        .tables
        .remove(0);
    t.sheet = Some(sheet.to_owned());
    t
}

fn sheets_parsed() -> Parsed {
    let fields = UploadFields::from_query(&pairs(&[
        ("company_name", "Acme"),
        ("email", "ops@acme.io"),
    ]))
    .unwrap();
    Parsed {
        rows: Rows::Empty,
        tables: Some(vec![
            table("a,b\n1,2\n3,4\n", "Q1"),
            table("a,b\n5,6\n", "Q2"),
        ]),
        fields,
        idempotency_key: None,
        digest: RequestDigest::default(),
    }
}

#[test]
fn a_workbook_makes_one_table_per_sheet_under_one_new_client() {
    let rpc = happy().on("commit_upload", |_, n| {
        Ok(result(if n == 0 { "t_q1" } else { "t_q2" }, 2))
    });
    let reply = block_on(store(&rpc, &FixedMinter, sheets_parsed(), Target::Create)).unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["tables"].as_array().unwrap().len(), 2);
    let calls = rpc.calls.borrow();
    let begins: Vec<&Value> = calls
        .iter()
        .filter(|c| c.function == "begin_upload")
        .map(|c| &c.args)
        .collect();
    assert_eq!(begins[0]["p_kind"], "create");
    assert_eq!(begins[1]["p_kind"], "append");
    assert_eq!(
        begins[1]["p_client_id"], CLIENT,
        "sheet 2 goes to the new client"
    );
    assert!(begins[1]["p_table_name"].as_str().unwrap().ends_with("_q2"));
}

#[test]
fn sheets_whose_names_clean_to_one_table_get_tables_of_their_own() {
    let mut parsed = sheets_parsed();
    parsed.tables = Some(vec![
        table("a,b\n1,2\n3,4\n", "Sales Q1"),
        table("a,b\n5,6\n", "Sales-Q1"),
        table("a,b\n7,8\n", "sales q1 2"),
    ]);
    let rpc = with_commit(happy());
    let reply = block_on(store(&rpc, &FixedMinter, parsed, Target::Create)).unwrap();
    let names: Vec<String> = rpc
        .calls
        .borrow()
        .iter()
        .filter(|c| c.function == "begin_upload")
        .map(|c| c.args["p_table_name"].as_str().unwrap().to_owned())
        .collect();
    let base = ingest::table_name(CLIENT, "data");
    assert_eq!(
        names,
        [
            format!("{base}_sales_q1"),
            format!("{base}_sales_q1_2"),
            // Its own name was taken by the renamed sheet before it.
            format!("{base}_sales_q1_2_2"),
        ]
    );
    let tables = reply.body["tables"].as_array().unwrap();
    assert!(tables[0]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["code"] != "table_renamed"));
    for t in &tables[1..] {
        assert_eq!(t["issues"][0]["code"], "table_renamed", "{t}");
        assert_eq!(t["issue_counts"]["table_renamed"], 1, "{t}");
    }
    let message = tables[1]["issues"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"Sales Q1\"") && message.contains(&names[1]),
        "{message}"
    );
}

#[test]
fn a_numbered_table_name_keeps_its_number_within_63_characters() {
    assert_eq!(numbered_table_name("t", 2), "t_2");
    let long = "a".repeat(63);
    let n = numbered_table_name(&long, 12);
    assert_eq!((n.len(), n.ends_with("a_12")), (63, true), "{n}");
    // Cut where a `_` would end the base: it is dropped, not doubled.
    assert_eq!(
        numbered_table_name(&format!("{}_b", "a".repeat(60)), 2),
        format!("{}_2", "a".repeat(60))
    );
}

#[test]
fn a_workbook_whose_second_sheet_fails_deletes_the_new_client() {
    let rpc = FakeRpc::new()
        .on("commit_upload", |_, n| {
            if n == 0 {
                Ok(result("t_q1", 2))
            } else {
                Err(pg_error(400, "22023", "p_schema_def is not a schema"))
            }
        })
        .merge(happy());
    let e = block_on(store(&rpc, &FixedMinter, sheets_parsed(), Target::Create)).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let names = rpc.names();
    let tail: Vec<&str> = names.iter().rev().take(2).map(String::as_str).collect();
    assert_eq!(tail, ["delete_client", "abort_upload"], "{names:?}");
    let calls = rpc.calls.borrow();
    assert_eq!(calls.last().unwrap().args["p_client_id"], CLIENT);
    assert!(calls.last().unwrap().as_service);
}

#[test]
fn a_replayed_first_sheet_is_not_deleted_when_a_later_one_fails() {
    let rpc = FakeRpc::new()
        .on("begin_upload", |_, n| {
            if n == 0 {
                Ok(
                    json!({"upload_id": UPLOAD, "status": "committed", "replayed": true,
                          "result": result("t_q1", 2)}),
                )
            } else {
                Err(pg_error(500, "XX000", "down"))
            }
        })
        .merge(happy());
    let mut parsed = sheets_parsed();
    parsed.idempotency_key = Some("k".into());
    let e = block_on(store(&rpc, &FixedMinter, parsed, Target::Create)).unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(
        rpc.count("delete_client"),
        0,
        "the client belongs to the first request"
    );
}

#[test]
fn an_unreachable_database_is_upstream_unavailable_and_nothing_was_begun() {
    let rpc = FakeRpc::new().on("begin_upload", |_, _| {
        Err(Failure::Unreachable("connection refused".into()))
    });
    let e = run(&rpc, create_csv(csv(10), None), Target::Create).unwrap_err();
    assert_eq!((e.status(), e.code), (502, ErrorCode::UpstreamUnavailable));
    assert_eq!(
        rpc.count("abort_upload"),
        0,
        "no upload id, nothing to abort"
    );
}

/// A delimited file with two tables one after another (a blank line, a new header).
fn two_tables_csv() -> Vec<u8> {
    b"name,amount\nn1,1\nn2,2\n\nsku,qty,price\nA-1,5,9.5\nB-2,7,1.5\n".to_vec()
}

#[test]
fn a_csv_with_two_tables_makes_two_tables_under_one_new_client() {
    let rpc = happy().on("commit_upload", |_, n| {
        Ok(result(if n == 0 { "sales" } else { "sales_2" }, 2))
    });
    let reply = run(&rpc, create_csv(two_tables_csv(), None), Target::Create).unwrap();
    assert_eq!(reply.status, 201);
    let tables = reply.body["tables"]
        .as_array()
        .expect("the answer lists both tables");
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[1]["table_name"], "sales_2");
    assert_eq!(tables[1]["issue_counts"]["table_split"], 1);
    let calls = rpc.calls.borrow();
    let begins: Vec<&Value> = calls
        .iter()
        .filter(|c| c.function == "begin_upload")
        .map(|c| &c.args)
        .collect();
    assert_eq!(begins[0]["p_kind"], "create");
    assert_eq!(begins[1]["p_kind"], "append");
    assert_eq!(
        begins[1]["p_client_id"], CLIENT,
        "table 2 goes to the new client"
    );
    assert_eq!(begins[1]["p_table_name"], "sales_2");
    let staged: Vec<Vec<Value>> = calls
        .iter()
        .filter(|c| c.function == "stage_upload_rows")
        .map(|c| c.args["p_rows"].as_array().unwrap().clone())
        .collect();
    assert_eq!(staged.len(), 2);
    assert_eq!(staged[0].len(), 2);
    assert_eq!(staged[1][1], json!({"sku": "B-2", "qty": 7, "price": 1.5}));
}

#[test]
fn an_append_of_a_csv_with_two_tables_is_refused_and_aborted() {
    let rpc = with_commit(happy());
    let target = Target::Append {
        client_id: CLIENT,
        who: Who::Client { token: "user.jwt" },
    };
    // The first table is long enough to be staged before the second one shows.
    let mut bytes = csv(3000);
    bytes.extend_from_slice(b"\nsku,qty,price\nA-1,5,9.5\nB-2,7,1.5\n");
    let err = run(&rpc, append_csv(bytes), target).unwrap_err();
    assert_eq!(err.code, ErrorCode::MultipleSheets);
    assert!(rpc.count("stage_upload_rows") > 0);
    assert_eq!(rpc.count("commit_upload"), 0);
    assert_eq!(rpc.count("abort_upload"), 1, "what was staged is undone");
}

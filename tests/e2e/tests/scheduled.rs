//! The Worker's cron trigger (`[triggers] crons` in wrangler.toml), fired through wrangler's
//! scheduled endpoint (`wrangler dev --test-scheduled`): it removes abandoned pending uploads
//! and their staged rows, and leaves active ones alone. Checked in the database.

use e2e::{unique, Stack};
use serde_json::json;

async fn pending_upload(stack: &Stack, client_id: &str, table: &str) -> String {
    let begun = stack
        .rpc_direct(
            "begin_upload",
            &stack.service_role_key,
            &json!({"p_kind": "append", "p_client_id": client_id, "p_table_name": table}),
        )
        .await;
    assert_eq!(begun.status, 200, "begin_upload: {:?}", begun.body);
    let upload_id = begun.body["upload_id"]
        .as_str()
        .expect("upload_id")
        .to_owned();
    let staged = stack
        .rpc_direct(
            "stage_upload_rows",
            &stack.service_role_key,
            &json!({"p_upload_id": upload_id, "p_rows": [{"a": 1}, {"a": 2}]}),
        )
        .await;
    assert_eq!(staged.status, 200, "stage_upload_rows: {:?}", staged.body);
    upload_id
}

#[tokio::test]
async fn the_cron_trigger_removes_abandoned_uploads_only() {
    let stack = Stack::connect().await;
    let email = format!("{}@cron.test", unique("cron"));
    let created = stack
        .create_client(&json!({"company_name": "Cron", "email": email, "data": []}))
        .await;
    let client_id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let abandoned = pending_upload(&stack, &client_id, "abandoned_rows").await;
    let active = pending_upload(&stack, &client_id, "active_rows").await;

    let db = stack.db().await;
    // Two hours without activity. The updated_at trigger would reset it: replica mode skips it.
    db.batch_execute("set session_replication_role = replica")
        .await
        .unwrap();
    let aged = db
        .execute(
            "update staging.uploads set updated_at = now() - interval '2 hours' \
             where upload_id = $1::text::uuid",
            &[&abandoned],
        )
        .await
        .unwrap();
    assert_eq!(aged, 1, "the abandoned upload exists before the cron runs");
    db.batch_execute("set session_replication_role = origin")
        .await
        .unwrap();

    let count = |id: String| {
        let db = &db;
        async move {
            let uploads: i64 = db
                .query_one(
                    "select count(*) from staging.uploads where upload_id = $1::text::uuid",
                    &[&id],
                )
                .await
                .unwrap()
                .get(0);
            let rows: i64 = db
                .query_one(
                    "select count(*) from staging.upload_rows where upload_id = $1::text::uuid",
                    &[&id],
                )
                .await
                .unwrap()
                .get(0);
            (uploads, rows)
        }
    };
    assert_eq!(count(abandoned.clone()).await, (1, 2));

    // wrangler answers once the scheduled handler has finished.
    let fired = stack
        .http()
        .get(format!(
            "{}/__scheduled?cron=*/15+*+*+*+*",
            stack.worker_url
        ))
        .send()
        .await
        .expect("the scheduled endpoint answers");
    let status = fired.status().as_u16();
    let text = fired.text().await.unwrap_or_default();
    assert_eq!(
        status, 200,
        "{text} (is wrangler dev running with --test-scheduled?)"
    );

    assert_eq!(
        count(abandoned).await,
        (0, 0),
        "the abandoned upload and its staged rows are gone"
    );
    assert_eq!(
        count(active).await,
        (1, 2),
        "an upload active within the hour is kept"
    );
}

//! Structure (issue 12) through the real Worker in workerd, the data API and PostgreSQL: every
//! file of the generated structure corpus is uploaded as CSV, and every table it holds reads
//! back value for value, with each skipped or repaired line reported in the answer with its
//! line number. A file with two tables makes two tables of one client, and the second one is
//! as closed to another tenant as the first.

use e2e::{enc, unique, Stack};
use ingest_testdata::{structure_corpus, ExpectedTable, STRUCTURE_ISSUES};
use serde_json::{json, Value};

/// Creates a client from `csv` (a raw `text/csv` body); answers the 201 body.
async fn create(stack: &Stack, name: &str, csv: &str) -> Value {
    let path = format!(
        "/api/superadmin/clients?company_name={}&email={}",
        enc(&unique("structure Ltd")),
        enc(&format!("{}@example.com", unique(name)))
    );
    let response = stack
        .http()
        .post(format!("{}{path}", stack.worker_url))
        .bearer_auth(&stack.service_role_key)
        .header("content-type", "text/csv")
        .body(csv.as_bytes().to_vec())
        .send()
        .await
        .expect("request to the Worker failed");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(status, 201, "{name}: {text}");
    serde_json::from_str(&text).expect("a JSON answer")
}

/// Every row of `table` through the API, in upload order.
async fn rows(stack: &Stack, client_id: &str, table: &str, token: &str) -> (u16, Vec<Value>) {
    let page = stack
        .get(
            &format!("/api/data/{client_id}?limit=1000&table={}", enc(table)),
            Some(token),
        )
        .await;
    if page.status != 200 {
        return (page.status, Vec::new());
    }
    // Reads come back in file order (docs/QUERY.md), so no reordering here.
    let out: Vec<Value> = page.body["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|r| r["data"].clone())
        .collect();
    (page.status, out)
}

fn structural(issues: &Value) -> Vec<(String, u64)> {
    issues
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| STRUCTURE_ISSUES.contains(&i["code"].as_str().unwrap_or("")))
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i["line"]
                    .as_u64()
                    .expect("a structural issue names its line"),
            )
        })
        .collect()
}

fn expected(t: &ExpectedTable) -> Vec<Value> {
    t.rows
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            for (k, v) in t.keys.iter().zip(r) {
                o.insert((*k).to_owned(), serde_json::from_str(v).expect("JSON text"));
            }
            Value::Object(o)
        })
        .collect()
}

#[tokio::test]
async fn every_structural_mess_reads_back_value_for_value_with_each_repair_reported() {
    let stack = Stack::connect().await;
    for case in structure_corpus() {
        let a = create(&stack, case.name, case.text).await;
        let client_id = a["client"]["client_id"].as_str().expect("client_id");
        // One table: the answer is that table; several: `tables` lists each, the first first.
        let entries: Vec<Value> = match a.get("tables").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => vec![a.clone()],
        };
        assert_eq!(entries.len(), case.tables.len(), "{}: {a}", case.name);
        for (i, (entry, want)) in entries.iter().zip(&case.tables).enumerate() {
            let table = entry["table_name"].as_str().expect("table_name");
            if i > 0 {
                let first = entries[0]["table_name"].as_str().unwrap();
                assert_eq!(table, format!("{first}_{}", i + 1), "{}", case.name);
            }
            let keys: Vec<&str> = entry["schema"]["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| c["key"].as_str().unwrap())
                .collect();
            assert_eq!(keys, want.keys, "{} table {}", case.name, i + 1);
            assert_eq!(
                entry["rows_stored"],
                json!(want.rows.len()),
                "{}",
                case.name
            );
            let (status, got) = rows(&stack, client_id, table, &stack.service_role_key).await;
            assert_eq!(status, 200, "{}", case.name);
            // Value for value: the stored object has exactly the expected keys and values.
            assert_eq!(got, expected(want), "{} table {}", case.name, i + 1);
            let reported: Vec<(String, u64)> = structural(&entry["issues"]);
            let want_issues: Vec<(String, u64)> = want
                .issues
                .iter()
                .map(|(c, l)| ((*c).to_owned(), *l))
                .collect();
            assert_eq!(reported, want_issues, "{} table {}", case.name, i + 1);
        }
    }
}

#[tokio::test]
async fn the_second_table_of_a_file_is_closed_to_another_tenant() {
    let stack = Stack::connect().await;
    let case = structure_corpus()
        .into_iter()
        .find(|c| c.name == "two_tables_new_header")
        .unwrap();
    let a = create(&stack, case.name, case.text).await;
    let client_id = a["client"]["client_id"].as_str().unwrap();
    let second = a["tables"][1]["table_name"]
        .as_str()
        .expect("a second table");
    let email = format!("{}@example.com", unique("other"));
    stack
        .create_client(&json!({"company_name": unique("Other"), "email": email,
                               "password": "correct horse battery", "data": []}))
        .await;
    let other = stack.login(&email, "correct horse battery").await;
    let (status, got) = rows(&stack, client_id, second, &other).await;
    assert_eq!(status, 404, "another tenant sees nothing: {got:?}");
    let (status, got) = rows(&stack, client_id, second, &stack.service_role_key).await;
    assert_eq!((status, got.len()), (200, 4), "the table is there");
}

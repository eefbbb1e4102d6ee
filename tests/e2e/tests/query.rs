//! The read side's query language end to end (issue 10): every operator on every column type,
//! names by key or header text, order with the cursor, select, offset, totals, search,
//! aggregates, the column profile and the JSON Schema, all through the Worker as the client;
//! typos answered 400 with a hint; every route refusing another tenant (404, nothing).

use e2e::{enc, multipart, rows, unique, Answer, Stack};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// Seven countries, one column of each type the language types by: text, integer, number,
/// date, datetime, boolean (written Yes/No), and text with empty (null) cells.
const COUNTRIES: &str = "\
Country Name,Population,GDP per capita,Founded,Updated At,Member,Code,Note
Chile,19600000,15355.48,1818-02-12,2024-01-05T10:00:00Z,Yes,CL,
Kuwait,4300000,41079.53,1961-06-19,2024-02-10T12:30:00Z,No,KW,oil and sand
Kenya,54000000,2099.3,1963-12-12,2024-03-01T08:00:00Z,Yes,KE,
Korea,51700000,32422.57,1948-08-15,2024-01-20T00:00:00Z,No,KR,chips
Canada,38900000,52051.35,1867-07-01,2024-02-28T23:59:00Z,Yes,CA,maple syrup
China,1412000000,12720.2,1949-10-01,2024-03-15T06:00:00Z,No,CN,
India,1417000000,2388.6,1947-08-15,2024-01-31T18:45:00Z,Yes,IN,cricket
";

fn qs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

struct Client {
    id: String,
    table: String,
    token: String,
}

impl Client {
    /// A client created from `csv` by a superadmin, logged in as itself.
    async fn from_csv(stack: &Stack, tag: &str, csv: &str) -> Client {
        let email = format!("{}@example.com", unique(tag));
        let company = unique(&format!("{tag} Inc"));
        let (content_type, body) = multipart(
            &[
                ("company_name", &company),
                ("email", &email),
                ("password", PASSWORD),
            ],
            Some(("data.csv", "text/csv", csv.as_bytes())),
        );
        let response = stack
            .http()
            .post(format!("{}/api/superadmin/clients", stack.worker_url))
            .bearer_auth(&stack.service_role_key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("create request");
        let status = response.status().as_u16();
        let created: Value = response.json().await.expect("a JSON answer");
        assert_eq!(status, 201, "{created}");
        Client {
            id: created["client"]["client_id"].as_str().unwrap().to_owned(),
            table: created["table_name"].as_str().unwrap().to_owned(),
            token: stack.login(&email, PASSWORD).await,
        }
    }

    async fn get(&self, stack: &Stack, route: &str, pairs: &[(&str, &str)]) -> Answer {
        let path = format!("/api/data/{}{route}?{}", self.id, qs(pairs));
        stack.get(&path, Some(&self.token)).await
    }

    /// A page's rows (status 200 asserted).
    async fn read(&self, stack: &Stack, pairs: &[(&str, &str)]) -> Vec<Value> {
        let a = self.get(stack, "", pairs).await;
        assert_eq!(a.status, 200, "{pairs:?}: {:?}", a.body);
        rows(&a.body)
    }

    /// The `code` column of the rows a filter keeps, in file order.
    async fn codes(&self, stack: &Stack, pairs: &[(&str, &str)]) -> Vec<String> {
        self.read(stack, pairs)
            .await
            .iter()
            .map(|r| r["code"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

/// Asserts a 400 with `code`; returns the body.
fn refused(a: &Answer, code: &str, what: &str) -> Value {
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (400, Some(code)),
        "{what}: {:?}",
        a.body
    );
    assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    a.body.clone()
}

#[tokio::test]
async fn every_operator_on_every_type_as_the_client() {
    let stack = Stack::connect().await;
    let c = Client::from_csv(&stack, "query-ops", COUNTRIES).await;
    let all = c.read(&stack, &[]).await;
    // File order, and the stored keys of the headers.
    let codes: Vec<&str> = all.iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["CL", "KW", "KE", "KR", "CA", "CN", "IN"]);
    assert_eq!(all[0]["country_name"], "Chile");
    assert_eq!(all[0]["member"], true, "Yes is stored as a boolean");

    for (pairs, want) in [
        // integer: numeric, so 4300000.0 equals 4300000
        (&[("Population", "gt.100000000")][..], &["CN", "IN"][..]),
        (&[("Population", "4300000.0")][..], &["KW"][..]),
        (&[("Population", "eq.4300000")][..], &["KW"][..]),
        (
            &[("Population", "gte.51700000")][..],
            &["KE", "KR", "CN", "IN"][..],
        ),
        (&[("Population", "lte.19600000")][..], &["CL", "KW"][..]),
        (
            &[("Population", "not.gt.100000000")][..],
            &["CL", "KW", "KE", "KR", "CA"][..],
        ),
        // number
        (&[("GDP per capita", "lt.3000")][..], &["KE", "IN"][..]),
        (
            &[("GDP per capita", "neq.2099.3")][..],
            &["CL", "KW", "KR", "CA", "CN", "IN"][..],
        ),
        // date and datetime compare as dates / timestamps
        (&[("Founded", "lt.1900-01-01")][..], &["CL", "CA"][..]),
        (&[("Founded", "1947-08-15")][..], &["IN"][..]),
        (
            &[("Updated At", "gte.2024-03-01T00:00:00Z")][..],
            &["KE", "CN"][..],
        ),
        (
            &[("Updated At", "lt.2024-01-20T01:00:00+01:00")][..],
            &["CL"][..],
        ),
        (
            &[("Updated At", "lte.2024-01-20T01:00:00+01:00")][..],
            &["CL", "KR"][..],
        ),
        // boolean: Yes and true are the same value
        (&[("Member", "Yes")][..], &["CL", "KE", "CA", "IN"][..]),
        (&[("Member", "true")][..], &["CL", "KE", "CA", "IN"][..]),
        (&[("Member", "is.false")][..], &["KW", "KR", "CN"][..]),
        (&[("Member", "neq.yes")][..], &["KW", "KR", "CN"][..]),
        // text: like (case-sensitive) and ilike, * the wildcard
        (&[("Country Name", "like.K*")][..], &["KW", "KE", "KR"][..]),
        (&[("Country Name", "like.k*")][..], &[][..]),
        (&[("Country Name", "ilike.c*")][..], &["CL", "CA", "CN"][..]),
        (&[("Country Name", "not.ilike.*a*")][..], &["CL"][..]),
        (&[("Code", "in.(CL,KW,XX)")][..], &["CL", "KW"][..]),
        (
            &[("Code", "not.in.(CL,KW)")][..],
            &["KE", "KR", "CA", "CN", "IN"][..],
        ),
        // empty cells are null
        (&[("Note", "is.null")][..], &["CL", "KE", "CN"][..]),
        (
            &[("Note", "not.is.null")][..],
            &["KW", "KR", "CA", "IN"][..],
        ),
        // or= trees, and repeated fields are two conditions (and)
        (
            &[("or", "(Code.eq.CL,Population.gt.1000000000)")][..],
            &["CL", "CN", "IN"][..],
        ),
        (
            &[(
                "or",
                "(Member.is.true,and(Code.eq.KW,Population.lt.5000000))",
            )][..],
            &["CL", "KW", "KE", "CA", "IN"][..],
        ),
        (
            &[("Population", "gt.10000000"), ("Population", "lt.50000000")][..],
            &["CL", "CA"][..],
        ),
        (
            &[("Member", "true"), ("Population", "lt.50000000")][..],
            &["CL", "CA"][..],
        ),
        // names: stored key, header text, any case
        (&[("country_name", "Chile")][..], &["CL"][..]),
        (&[("COUNTRY NAME", "Chile")][..], &["CL"][..]),
        (&[("gdp_per_capita", "gt.50000")][..], &["CA"][..]),
        // search over the text fields
        (&[("q", "maple")][..], &["CA"][..]),
    ] {
        assert_eq!(c.codes(&stack, pairs).await, want, "{pairs:?}");
    }
    // The count route takes the same language, and agrees.
    let count = c
        .get(
            &stack,
            "/count",
            &[("Member", "Yes"), ("Population", "gt.20000000")],
        )
        .await;
    assert_eq!(
        (count.status, count.body.clone()),
        (200, json!({"count": 3}))
    );
}

#[tokio::test]
async fn order_cursor_select_offset_and_totals() {
    let stack = Stack::connect().await;
    let c = Client::from_csv(&stack, "query-order", COUNTRIES).await;

    // Pages of 2 through several orders equal the whole ordered set, each row once.
    for order in [
        "GDP per capita.desc",
        "Note.desc.nullslast,Code",
        "Member,Founded.desc",
        "Updated At",
    ] {
        let whole = c.read(&stack, &[("order", order)]).await;
        assert_eq!(whole.len(), 7, "{order}");
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut pairs = vec![("order", order), ("limit", "2")];
            if let Some(c) = &cursor {
                pairs.push(("cursor", c));
            }
            let page = c.get(&stack, "", &pairs).await;
            assert_eq!(page.status, 200, "{order}: {:?}", page.body);
            walked.extend(rows(&page.body));
            cursor = page.body["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(walked, whole, "{order}");
    }
    let by_gdp: Vec<f64> = c
        .read(&stack, &[("order", "GDP per capita.desc")])
        .await
        .iter()
        .map(|r| r["gdp_per_capita"].as_f64().unwrap())
        .collect();
    let mut sorted = by_gdp.clone();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    assert_eq!(by_gdp, sorted, "numbers order as numbers");
    let nulls_last = c
        .codes(&stack, &[("order", "Note.desc.nullslast,Code")])
        .await;
    assert_eq!(nulls_last, ["KW", "CA", "IN", "KR", "CL", "CN", "KE"]);

    // A cursor of one order does not page another: 400, never rows.
    let first = c
        .get(&stack, "", &[("order", "Code"), ("limit", "2")])
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let other = c
        .get(
            &stack,
            "",
            &[("order", "Population"), ("limit", "2"), ("cursor", &cursor)],
        )
        .await;
    refused(&other, "invalid_cursor", "a cursor of another order");

    // select keeps just those fields (by header text or key); offset skips.
    let picked = c
        .read(&stack, &[("select", "Code,population"), ("limit", "1")])
        .await;
    assert_eq!(picked, [json!({"code": "CL", "population": 19600000})]);
    let skipped = c
        .codes(
            &stack,
            &[("order", "Code"), ("offset", "2"), ("limit", "2")],
        )
        .await;
    assert_eq!(skipped, ["CN", "IN"]);

    // count=exact puts the total of the filter in the page.
    let page = c
        .get(
            &stack,
            "",
            &[("Member", "true"), ("count", "exact"), ("limit", "1")],
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(
        (page.body["total"].clone(), page.body["total_kind"].clone()),
        (json!(4), json!("exact"))
    );
    assert_eq!(rows(&page.body).len(), 1);
    assert_eq!(page.body["table"], c.table.as_str());
    let unfiltered = c
        .get(&stack, "", &[("count", "exact"), ("limit", "0")])
        .await;
    assert_eq!(unfiltered.body["total"], 7);
    let estimated = c
        .get(&stack, "", &[("count", "estimated"), ("Member", "true")])
        .await;
    assert_eq!(estimated.body["total_kind"], "estimated");
    assert!(estimated.body["total"].as_i64().is_some_and(|n| n >= 0));
}

#[tokio::test]
async fn aggregate_profile_and_json_schema() {
    let stack = Stack::connect().await;
    let c = Client::from_csv(&stack, "query-agg", COUNTRIES).await;

    let agg = c
        .get(
            &stack,
            "/aggregate",
            &[
                ("group_by", "Updated At:month"),
                ("metrics", "count,sum(Population),max(GDP per capita)"),
            ],
        )
        .await;
    assert_eq!(agg.status, 200, "{:?}", agg.body);
    assert_eq!(agg.body["table"], c.table.as_str());
    let groups = agg.body["groups"].as_array().expect("groups");
    let summary: Vec<(String, i64, i64)> = groups
        .iter()
        .map(|g| {
            let month = g["key"]["updated_at"].as_str().unwrap_or_default();
            (
                month.chars().take(7).collect(),
                g["metrics"]["count"].as_i64().unwrap(),
                g["metrics"]["sum_population"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2024-01".to_string(),
                3,
                19_600_000 + 51_700_000 + 1_417_000_000
            ),
            ("2024-02".to_string(), 2, 4_300_000 + 38_900_000),
            ("2024-03".to_string(), 2, 54_000_000 + 1_412_000_000),
        ],
        "{groups:?}"
    );
    assert_eq!(
        groups[1]["metrics"]["max_gdp_per_capita"].as_f64(),
        Some(52051.35)
    );
    // Filters apply to aggregates too.
    let members = c
        .get(
            &stack,
            "/aggregate",
            &[("group_by", "Member"), ("Population", "lt.100000000")],
        )
        .await;
    assert_eq!(members.status, 200, "{:?}", members.body);
    let counts: Vec<(Value, i64)> = members.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"]["member"].clone(),
                g["metrics"]["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [(json!(false), 2), (json!(true), 3)]);

    let profile = c.get(&stack, "/profile", &[("table", &c.table)]).await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    assert_eq!(profile.body["row_count"], 7);
    let column = |key: &str| {
        profile.body["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|col| col["key"] == key)
            .unwrap_or_else(|| panic!("no {key} in {:?}", profile.body))
            .clone()
    };
    let population = column("population");
    assert_eq!(population["min"].as_i64(), Some(4_300_000));
    assert_eq!(population["max"].as_i64(), Some(1_417_000_000));
    assert_eq!(population["nulls"], 0);
    assert!(population["histogram"]
        .as_array()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(column("note")["nulls"], 3);
    assert!(column("code")["top_values"]
        .as_array()
        .is_some_and(|t| !t.is_empty()));
    // With one table the profile needs no `table`.
    let default = c.get(&stack, "/profile", &[]).await;
    assert_eq!(
        (default.status, default.body["table"].clone()),
        (200, json!(c.table))
    );

    let schema = c.get(&stack, "/schema", &[]).await;
    assert_eq!(schema.status, 200, "{:?}", schema.body);
    let js = &schema.body["tables"][0]["json_schema"];
    assert_eq!(
        js["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(js["type"], "object");
    let prop = |k: &str| js["properties"][k].clone();
    assert_eq!(prop("founded")["format"], "date");
    assert_eq!(prop("updated_at")["format"], "date-time");
    // Nullable only where the upload had empty cells.
    assert_eq!(prop("population")["type"], "integer");
    assert_eq!(prop("member")["type"], "boolean");
    assert_eq!(prop("note")["type"], json!(["string", "null"]));
    assert_eq!(prop("country_name")["title"], "Country Name");
}

#[tokio::test]
async fn typos_are_400_with_the_names_and_a_hint() {
    let stack = Stack::connect().await;
    let c = Client::from_csv(&stack, "query-typos", COUNTRIES).await;

    let e = refused(
        &c.get(&stack, "", &[("limt", "5")]).await,
        "unknown_field",
        "limt",
    );
    assert_eq!(e["hint"], "did you mean the parameter `limit`?");
    assert!(
        e["details"]["fields"].to_string().contains("population"),
        "{e}"
    );

    let e = refused(
        &c.get(&stack, "", &[("Popultion", "gt.5")]).await,
        "unknown_field",
        "field",
    );
    assert!(
        e["hint"].as_str().unwrap().contains("Population")
            || e["hint"].as_str().unwrap().contains("population"),
        "{e}"
    );

    let e = refused(
        &c.get(&stack, "", &[("table", "nosuch")]).await,
        "unknown_table",
        "table",
    );
    assert_eq!(e["details"]["tables"], json!([c.table]));
    assert!(e["hint"].as_str().unwrap().contains(&c.table), "{e}");

    let e = refused(
        &c.get(&stack, "", &[("Population", "gt.lots")]).await,
        "invalid_value",
        "value",
    );
    assert_eq!(e["details"]["field"], "population");
    assert_eq!(e["details"]["type"], "integer");
    refused(
        &c.get(&stack, "", &[("Founded", "gt.yesterday")]).await,
        "invalid_value",
        "date",
    );
    refused(
        &c.get(&stack, "", &[("Member", "gt.true")]).await,
        "invalid_operator",
        "gt on boolean",
    );
    refused(
        &c.get(&stack, "", &[("Population", "like.4*")]).await,
        "invalid_operator",
        "like on integer",
    );
    let e = refused(
        &c.get(&stack, "", &[("Code", "ilke.c*")]).await,
        "invalid_operator",
        "ilke",
    );
    assert!(e["hint"].to_string().contains("ilike"), "{e}");
    refused(
        &c.get(&stack, "", &[("order", "Code.dsc")]).await,
        "invalid_parameter",
        "dsc",
    );
    refused(
        &c.get(&stack, "", &[("order", "nosuch")]).await,
        "unknown_field",
        "order field",
    );
    refused(
        &c.get(&stack, "", &[("select", "nosuch")]).await,
        "unknown_field",
        "select field",
    );
    refused(
        &c.get(&stack, "", &[("limit", "1001")]).await,
        "invalid_limit",
        "limit",
    );
    refused(
        &c.get(&stack, "", &[("offset", "10001")]).await,
        "invalid_offset",
        "offset",
    );
    refused(
        &c.get(&stack, "", &[("or", "(Code.eq.CL")]).await,
        "invalid_filter",
        "open tree",
    );
    refused(
        &c.get(&stack, "/count", &[("limt", "5")]).await,
        "unknown_field",
        "count limt",
    );
    let e = refused(
        &c.get(&stack, "/aggregate", &[("group_bu", "Code")]).await,
        "unknown_field",
        "group_bu",
    );
    assert_eq!(e["hint"], "did you mean the parameter `group_by`?");
    refused(
        &c.get(&stack, "/aggregate", &[("metrics", "sum(Code)")])
            .await,
        "invalid_operator",
        "sum of text",
    );
    refused(
        &c.get(&stack, "/profile", &[("table", "nosuch")]).await,
        "unknown_table",
        "profile table",
    );
    refused(
        &c.get(&stack, "/profile", &[("limit", "5")]).await,
        "invalid_parameter",
        "profile limit",
    );
}

#[tokio::test]
async fn another_tenant_gets_404_and_nothing_on_every_read_route() {
    let stack = Stack::connect().await;
    let a = Client::from_csv(&stack, "query-a", COUNTRIES).await;
    let b = Client::from_csv(&stack, "query-b", "Code\nB1\n").await;
    let intruder = Client {
        id: a.id.clone(),
        table: a.table.clone(),
        token: b.token.clone(),
    };
    for (route, pairs) in [
        ("", &[][..]),
        (
            "",
            &[
                ("Population", "gt.0"),
                ("order", "Code"),
                ("count", "exact"),
            ][..],
        ),
        ("", &[("q", "maple")][..]),
        ("/count", &[("Member", "true")][..]),
        ("/aggregate", &[("group_by", "Code")][..]),
        ("/profile", &[][..]),
        ("/profile", &[("table", a.table.as_str())][..]),
        ("/schema", &[][..]),
        ("/export", &[("format", "csv")][..]),
        ("/export", &[("Code", "CL")][..]),
    ] {
        let got = intruder.get(&stack, route, pairs).await;
        assert_eq!(
            (got.status, got.body["code"].as_str()),
            (404, Some("client_not_found")),
            "{route} {pairs:?}: {:?}",
            got.body
        );
        let text = got.body.to_string();
        for leak in ["Chile", "CL", "population", &a.table] {
            assert!(!text.contains(leak), "{route}: {text} leaks {leak}");
        }
    }
    // Its own rows still answer, so the 404s above were not an outage.
    assert_eq!(b.codes(&stack, &[]).await, ["B1"]);
}

#[tokio::test]
async fn csv_export_escapes_formulas_and_keeps_keys_first_seen_late() {
    let stack = Stack::connect().await;
    let mut csv = String::from("n,label,delta\n");
    csv.push_str("0,=HYPERLINK(\"http://evil\"),-3.5\n1,+cmd,2\n2,@SUM(A1),-1\n3,-minus,0\n");
    for i in 4..1_005 {
        csv.push_str(&format!("{i},row {i},{}\n", i % 7));
    }
    let c = Client::from_csv(&stack, "query-export", &csv).await;
    // A later upload widens the schema with `extra`: its rows are past the first page of 1,000.
    let appended = stack
        .post(
            &format!("/api/data/{}", c.id),
            Some(&c.token),
            &json!({"table_name": c.table, "data": [{"n": 2000, "label": "late", "delta": 1, "extra": "only here"}]}),
        )
        .await;
    assert_eq!(appended.status, 200, "{:?}", appended.body);

    let response = stack
        .http()
        .get(format!(
            "{}/api/data/{}/export?format=csv",
            stack.worker_url, c.id
        ))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("the whole body");
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(
        lines[0], "n,label,delta,extra",
        "the schema's columns, `extra` included"
    );
    assert_eq!(
        lines[1], "0,\"'=HYPERLINK(\"\"http://evil\"\")\",-3.5,",
        "number -3.5 stays a number"
    );
    assert_eq!(lines[2], "1,'+cmd,2,");
    assert_eq!(lines[3], "2,'@SUM(A1),-1,");
    assert_eq!(lines[4], "3,'-minus,0,");
    assert_eq!(
        lines[1_006], "2000,late,1,only here",
        "file order: the appended row is last"
    );
    assert_eq!(
        lines.len(),
        1_008,
        "header, 1,006 rows, and the empty string after the last CRLF"
    );

    // NDJSON keeps the stored JSON untouched, in the same order, filtered like a read.
    let response = stack
        .http()
        .get(format!(
            "{}/api/data/{}/export?{}",
            stack.worker_url,
            c.id,
            qs(&[("n", "lt.2"), ("order", "n.desc")])
        ))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("export");
    let text = response.text().await.unwrap();
    let got: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got[0]["label"], "+cmd");
    assert_eq!(got[1]["label"], "=HYPERLINK(\"http://evil\")");
    assert_eq!(got.len(), 2);
}

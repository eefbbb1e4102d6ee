//! Unit tests of the grammar, the errors, the cursor, the JSON Schema and the OpenAPI parameters.

use serde_json::{json, Value};

use crate::*;

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn plan(p: &[(&str, &str)]) -> Value {
    parse_read(&pairs(p)).unwrap().plan()
}

fn filter(key: &str, value: &str) -> Value {
    plan(&[(key, value)])["filter"].clone()
}

fn err(p: &[(&str, &str)]) -> QueryError {
    parse_read(&pairs(p)).unwrap_err()
}

fn cond(field: &str, op: &str, value: Value) -> Value {
    json!({"field": field, "op": op, "value": value})
}

#[test]
fn empty_query_is_the_default_plan() {
    assert_eq!(
        plan(&[]),
        json!({"table": null, "filter": null, "order": [], "select": null, "after": null,
               "count": null, "q": null})
    );
}

#[test]
fn every_comparison_operator() {
    for op in ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike"] {
        assert_eq!(
            filter("price", &format!("{op}.12.5")),
            cond("price", op, json!("12.5")),
            "{op}"
        );
    }
    // The text after the operator is kept verbatim: dots, commas, quotes, parentheses, spaces.
    assert_eq!(
        filter("name", "eq.Dr. \"Who\", (the) 2nd"),
        cond("name", "eq", json!("Dr. \"Who\", (the) 2nd"))
    );
    assert_eq!(filter("name", "eq."), cond("name", "eq", json!("")));
    assert_eq!(
        filter("name", "like.Ku*"),
        cond("name", "like", json!("Ku*"))
    );
    assert_eq!(
        filter("name", "ilike.*100%_x*"),
        cond("name", "ilike", json!("*100%_x*"))
    );
}

#[test]
fn a_bare_value_is_equality() {
    assert_eq!(
        filter("status", "shipped"),
        cond("status", "eq", json!("shipped"))
    );
    assert_eq!(
        filter("year", "1957.0"),
        cond("year", "eq", json!("1957.0"))
    );
    assert_eq!(
        filter("title", "Dr. Who"),
        cond("title", "eq", json!("Dr. Who"))
    );
    assert_eq!(filter("x", ""), cond("x", "eq", json!("")));
    assert_eq!(filter("x", "gt"), cond("x", "eq", json!("gt")));
    assert_eq!(filter("x", "in(a)"), cond("x", "eq", json!("in(a)")));
    assert_eq!(
        filter("Unit Price", "a.b.c"),
        cond("Unit Price", "eq", json!("a.b.c"))
    );
}

#[test]
fn not_prefix_negates() {
    assert_eq!(
        filter("country", "not.eq.Kuwait"),
        json!({"not": cond("country", "eq", json!("Kuwait"))})
    );
    assert_eq!(
        filter("a", "not.in.(1,2)"),
        json!({"not": cond("a", "in", json!(["1", "2"]))})
    );
    assert_eq!(
        filter("a", "not.is.null"),
        json!({"not": cond("a", "is", json!("null"))})
    );
    let e = err(&[("a", "not.sure")]);
    assert_eq!(e.code, "invalid_operator");
    assert!(e.hint.unwrap().contains("eq.<value>"));
    assert_eq!(err(&[("a", "not.")]).code, "invalid_operator");
}

#[test]
fn is_takes_null_true_false_unknown_in_any_case() {
    for v in ["null", "true", "false", "unknown"] {
        assert_eq!(filter("a", &format!("is.{v}")), cond("a", "is", json!(v)));
    }
    assert_eq!(filter("a", "is.NULL"), cond("a", "is", json!("null")));
    let e = err(&[("a", "is.nothing")]);
    assert_eq!(e.code, "invalid_filter");
    assert!(
        e.message.contains("null, true, false or unknown"),
        "{}",
        e.message
    );
}

#[test]
fn in_lists_with_quotes_and_escapes() {
    assert_eq!(
        filter("country", "in.(Kuwait,Chile)"),
        cond("country", "in", json!(["Kuwait", "Chile"]))
    );
    assert_eq!(
        filter("c", r#"in.("a,b","say \"hi\"","back\\slash",plain,"(x)")"#),
        cond(
            "c",
            "in",
            json!(["a,b", "say \"hi\"", "back\\slash", "plain", "(x)"])
        )
    );
    assert_eq!(filter("c", "in.()"), cond("c", "in", json!([])));
    assert_eq!(filter("c", "in.(,)"), cond("c", "in", json!(["", ""])));
    // Spaces are part of a value: values stay text.
    assert_eq!(
        filter("c", "in.(a, b)"),
        cond("c", "in", json!(["a", " b"]))
    );
    assert_eq!(
        filter("c", "in.(é,日本)"),
        cond("c", "in", json!(["é", "日本"]))
    );
}

#[test]
fn malformed_in_lists_name_the_position() {
    for (value, position, says) in [
        ("in.(a,b", 3, "not closed"),
        ("in.a,b", 3, "`(`"),
        ("in.(a)x", 6, "after the `)`"),
        (r#"in.("a,b)"#, 4, "double quote is not closed"),
        ("in.(f(x))", 5, "double quotes"),
        (r#"in.("a"b)"#, 7, "expected `,` or `)`"),
        ("in.(日本,\"x)", 7, "double quote"),
    ] {
        let e = err(&[("c", value)]);
        assert_eq!(e.code, "invalid_filter", "{value}");
        assert_eq!(
            e.details.as_ref().unwrap()["position"],
            json!(position),
            "{value}: {e:?}"
        );
        assert_eq!(e.details.as_ref().unwrap()["parameter"], json!("c"));
        assert!(e.message.contains(says), "{value}: {}", e.message);
    }
}

#[test]
fn unknown_operators_list_the_operators() {
    for (value, op, suggestion) in [
        ("fts.word", "fts", None),
        ("cs.{1,2}", "cs", None),
        ("gtt.5", "gtt", Some("gt")),
        ("ilke.Ku*", "ilke", Some("ilike")),
        ("not.gtx.1", "gtx", Some("gt")),
        ("not.GT.1", "GT", Some("gt")),
    ] {
        let e = err(&[("pop", value)]);
        assert_eq!(e.code, "invalid_operator", "{value}");
        let d = e.details.unwrap();
        assert_eq!(d["op"], json!(op));
        assert_eq!(d["operators"], json!(OPERATORS));
        assert!(e
            .message
            .contains("eq, neq, gt, gte, lt, lte, like, ilike, in, is"));
        if let Some(s) = suggestion {
            assert!(
                e.hint.unwrap().contains(&format!("did you mean `{s}`")),
                "{value}"
            );
        }
    }
}

#[test]
fn or_and_trees_with_nesting() {
    assert_eq!(
        filter("or", "(price.gt.10,country.eq.Chile)"),
        json!({"or": [cond("price", "gt", json!("10")), cond("country", "eq", json!("Chile"))]})
    );
    assert_eq!(
        filter(
            "and",
            "(a.gte.1,or(b.is.null,not.and(c.in.(x,\"y,z\"),d.not.like.*q*)),not.or(e.eq.1))"
        ),
        json!({"and": [
            cond("a", "gte", json!("1")),
            {"or": [
                cond("b", "is", json!("null")),
                {"not": {"and": [
                    cond("c", "in", json!(["x", "y,z"])),
                    {"not": cond("d", "like", json!("*q*"))}
                ]}}
            ]},
            {"not": {"or": [cond("e", "eq", json!("1"))]}}
        ]})
    );
    assert_eq!(
        filter("not.or", "(a.eq.1,b.eq.2)"),
        json!({"not": {"or": [cond("a", "eq", json!("1")), cond("b", "eq", json!("2"))]}})
    );
    assert_eq!(
        filter("not.and", "(a.eq.1)"),
        json!({"not": {"and": [cond("a", "eq", json!("1"))]}})
    );
}

#[test]
fn trees_quote_values_and_field_names() {
    assert_eq!(
        filter(
            "or",
            r#"(name.eq."a,b",name.eq."(x).y",name.eq."q\"q","Unit.Price".gt.5,name.eq.)"#
        ),
        json!({"or": [
            cond("name", "eq", json!("a,b")),
            cond("name", "eq", json!("(x).y")),
            cond("name", "eq", json!("q\"q")),
            cond("Unit.Price", "gt", json!("5")),
            cond("name", "eq", json!("")),
        ]})
    );
    // Unquoted values may contain dots and spaces.
    assert_eq!(
        filter("or", "(v.eq.1.5,t.eq.Dr. Who)"),
        json!({"or": [cond("v", "eq", json!("1.5")), cond("t", "eq", json!("Dr. Who"))]})
    );
    // A field called `or` is a condition, not a nested tree.
    assert_eq!(
        filter("and", "(or.eq.1)"),
        json!({"and": [cond("or", "eq", json!("1"))]})
    );
}

#[test]
fn malformed_trees_name_the_position() {
    for (key, value, position, code) in [
        ("or", "a.eq.1", 0, "invalid_filter"),
        ("or", "()", 1, "invalid_filter"),
        ("or", "(a.eq.1", 0, "invalid_filter"),
        ("or", "(a.eq.1))", 8, "invalid_filter"),
        ("or", "(a.eq.1,)", 8, "invalid_filter"),
        ("or", "(a,b)", 2, "invalid_filter"),
        ("or", "(a.eq)", 5, "invalid_filter"),
        ("or", "(.eq.1)", 1, "invalid_filter"),
        ("or", "(a.eq.f(x))", 7, "invalid_filter"),
        ("or", "(a.eq.\"x)", 6, "invalid_filter"),
        ("or", "(a.eq.\"x\"y)", 9, "invalid_filter"),
        ("or", "(a.is.maybe)", 6, "invalid_filter"),
        ("or", "(a.in.(1,2)x)", 11, "invalid_filter"),
        ("and", "(a.eq.1,or(b.eq.2)", 0, "invalid_filter"),
        ("or", "(a.foo.1)", 3, "invalid_operator"),
        ("or", "(a.not.not.eq.1)", 7, "invalid_operator"),
        ("or", "(a.5)", 3, "invalid_operator"),
    ] {
        let e = err(&[(key, value)]);
        assert_eq!(e.code, code, "{value}: {e:?}");
        let d = e.details.unwrap();
        assert_eq!(d["position"], json!(position), "{value}: {}", e.message);
        assert_eq!(d["parameter"], json!(key));
    }
}

#[test]
fn trees_nest_at_most_max_depth() {
    let nested = |depth: usize| {
        let mut s = "a.eq.1".to_string();
        for _ in 1..depth {
            s = format!("or({s})");
        }
        format!("({s})")
    };
    assert!(parse_read(&pairs(&[("or", &nested(MAX_DEPTH))])).is_ok());
    let e = err(&[("or", &nested(MAX_DEPTH + 1))]);
    assert_eq!(e.code, "invalid_filter");
    assert!(e.message.contains("at most 16 deep"), "{}", e.message);
    // Far deeper than any stack allows is still just an error.
    assert_eq!(err(&[("or", &nested(100_000))]).code, "invalid_filter");
}

#[test]
fn several_filters_are_all_required() {
    assert_eq!(
        plan(&[
            ("a", "gt.1"),
            ("a", "lt.5"),
            ("or", "(b.eq.1,c.eq.2)"),
            ("or", "(d.eq.3)")
        ])["filter"],
        json!({"and": [
            cond("a", "gt", json!("1")),
            cond("a", "lt", json!("5")),
            {"or": [cond("b", "eq", json!("1")), cond("c", "eq", json!("2"))]},
            {"or": [cond("d", "eq", json!("3"))]},
        ]})
    );
}

#[test]
fn field_names_as_written_or_double_quoted() {
    assert_eq!(err(&[("", "5")]).code, "invalid_filter");
    assert_eq!(err(&[("\"\"", "5")]).code, "invalid_filter");
    assert_eq!(
        filter("\"information.cpe\"", "like.*MS*"),
        cond("information.cpe", "like", json!("*MS*"))
    );
    assert_eq!(filter("\"or\"", "x"), cond("or", "eq", json!("x")));
    assert_eq!(
        filter("Unit Price", "lt.200"),
        cond("Unit Price", "lt", json!("200"))
    );
    assert_eq!(err(&[("\"a\"b", "5")]).code, "invalid_parameter");
}

#[test]
fn order_terms() {
    assert_eq!(
        plan(&[(
            "order",
            "a.desc.nullslast,b,c.asc,d.nullsfirst,Unit.Price.desc,\"x,y\".desc"
        )])["order"],
        json!([
            {"field": "a", "dir": "desc", "nulls": "last"},
            {"field": "b", "dir": "asc"},
            {"field": "c", "dir": "asc"},
            {"field": "d", "dir": "asc", "nulls": "first"},
            {"field": "Unit.Price", "dir": "desc"},
            {"field": "x,y", "dir": "desc"},
        ])
    );
    for (value, code) in [
        ("a,,b", "invalid_parameter"),
        ("a.desc.asc", "invalid_parameter"),
        ("a.nullslast.desc", "invalid_parameter"),
        ("\"a", "invalid_parameter"),
        ("\"a\"x", "invalid_parameter"),
        (".desc", "invalid_parameter"),
    ] {
        assert_eq!(err(&[("order", value)]).code, code, "{value}");
    }
    let e = err(&[("order", "price.descc")]);
    assert_eq!(e.hint.as_deref(), Some("did you mean `desc`?"));
    assert_eq!(e.details.unwrap()["position"], json!(6));
}

#[test]
fn select_fields() {
    assert_eq!(
        plan(&[("select", "price,Country")])["select"],
        json!(["price", "Country"])
    );
    assert_eq!(plan(&[("select", "*")])["select"], json!(null));
    assert_eq!(
        plan(&[("select", r#""a,b",c d,"q\"q""#)])["select"],
        json!(["a,b", "c d", "q\"q"])
    );
    let e = err(&[("select", "a,,b")]);
    assert_eq!(e.code, "invalid_parameter");
    assert_eq!(e.details.unwrap()["position"], json!(2));
    assert_eq!(err(&[("select", "")]).code, "invalid_parameter");
}

#[test]
fn limit_and_offset_bounds() {
    assert_eq!(plan(&[("limit", "0")])["limit"], json!(0));
    assert_eq!(
        plan(&[("limit", "1000"), ("offset", "10000")])["offset"],
        json!(10000)
    );
    for (key, value, code, max) in [
        ("limit", "1001", "invalid_limit", 1000),
        ("limit", "-1", "invalid_limit", 1000),
        ("limit", "ten", "invalid_limit", 1000),
        ("limit", "", "invalid_limit", 1000),
        ("offset", "10001", "invalid_offset", 10000),
        ("offset", "1e3", "invalid_offset", 10000),
    ] {
        let e = err(&[(key, value)]);
        assert_eq!(e.code, code);
        assert!(
            e.message.contains(&format!("from 0 to {max}")),
            "{}",
            e.message
        );
        assert_eq!(e.details.unwrap()["max"], json!(max));
    }
}

#[test]
fn reserved_parameters_once() {
    for key in [
        "table", "select", "order", "limit", "offset", "cursor", "count", "q", "format",
    ] {
        let value = match key {
            "cursor" => encode_cursor(&json!({"id": 1})),
            "count" => "exact".into(),
            "format" => "csv".into(),
            _ => "1".into(),
        };
        let e = parse_read(&pairs(&[(key, &value), (key, &value)])).unwrap_err();
        assert_eq!(e.code, "duplicate_parameter", "{key}");
        assert_eq!(e.details.unwrap()["parameter"], json!(key));
    }
}

#[test]
fn count_q_table_format() {
    let p = plan(&[
        ("count", "exact"),
        ("q", "red shoes"),
        ("table", "client_x_sales"),
    ]);
    assert_eq!(
        (p["count"].clone(), p["q"].clone()),
        (json!("exact"), json!("red shoes"))
    );
    assert_eq!(p["table"], json!("client_x_sales"));
    assert_eq!(plan(&[("count", "estimated")])["count"], json!("estimated"));
    assert_eq!(err(&[("count", "planned")]).code, "invalid_parameter");
    assert_eq!(err(&[("q", "  ")]).code, "invalid_parameter");
    assert_eq!(err(&[("q", &"x".repeat(501))]).code, "invalid_parameter");
    assert_eq!(err(&[("table", "")]).code, "invalid_table");
    assert_eq!(err(&[("table", &"t".repeat(64))]).code, "invalid_table");
    let r = parse_read(&pairs(&[("format", "csv")])).unwrap();
    assert_eq!(r.format, Some(ExportFormat::Csv));
    assert!(
        r.plan().get("format").is_none(),
        "format is the Worker's, not the SQL's"
    );
    assert_eq!(err(&[("format", "xml")]).code, "invalid_parameter");
}

#[test]
fn cursor_round_trip_and_tampering() {
    let next = json!({"o": ["2024-01-01", null, 12.5], "id": 123, "k": "price.desc"});
    let c = encode_cursor(&next);
    assert!(
        c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{c}"
    );
    assert_eq!(decode_cursor(&c).unwrap(), next);
    assert_eq!(plan(&[("cursor", &c)])["after"], next);
    // Padding some encoders add is accepted.
    assert_eq!(decode_cursor(&format!("{c}==")).unwrap(), next);

    let mut flipped = c.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let not_a_next = [
        String::from_utf8(flipped).unwrap(),
        format!("{c}!"),
        c[..c.len() - 3].to_string(),
        "".into(),
        encode_cursor(&json!([1, 2])),
        encode_cursor(&json!("x")),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            b"\xff\xfe",
        ),
        encode_cursor(&json!({"pad": "x".repeat(MAX_CURSOR_LEN)})),
    ];
    for bad in &not_a_next {
        let e = decode_cursor(bad).unwrap_err();
        assert_eq!(e.code, "invalid_cursor", "{bad}");
        assert_eq!(
            parse_read(&pairs(&[("cursor", bad)])).unwrap_err().code,
            "invalid_cursor"
        );
    }
    let e = err(&[("cursor", &c), ("offset", "10")]);
    assert_eq!(e.code, "invalid_parameter");
}

#[test]
fn aggregate_plan() {
    let r = parse_aggregate(&pairs(&[
        ("table", "client_x_sales"),
        ("group_by", "country,order_date:month,\"a:b\",\"c:d\":year"),
        (
            "metrics",
            "count,sum(price),avg(price),count_distinct(\"x,y\"),min(d),max(d)",
        ),
        ("order", "metric:0.desc,group:country"),
        ("limit", "50"),
        ("status", "shipped"),
        ("or", "(price.gt.1,price.is.null)"),
        ("q", "red"),
    ]))
    .unwrap();
    assert_eq!(
        r.plan(),
        json!({
            "table": "client_x_sales",
            "filter": {"and": [
                cond("status", "eq", json!("shipped")),
                {"or": [cond("price", "gt", json!("1")), cond("price", "is", json!("null"))]},
            ]},
            "q": "red",
            "group_by": [{"field": "country"}, {"field": "order_date", "bucket": "month"},
                         {"field": "a:b"}, {"field": "c:d", "bucket": "year"}],
            "metrics": [{"fn": "count"}, {"fn": "sum", "field": "price"}, {"fn": "avg", "field": "price"},
                        {"fn": "count_distinct", "field": "x,y"}, {"fn": "min", "field": "d"},
                        {"fn": "max", "field": "d"}],
            "order": [{"by": "metric:0", "dir": "desc"}, {"by": "group:country", "dir": "asc"}],
            "limit": 50
        })
    );
    // `order` may come before the groups and metrics it names.
    let r = parse_aggregate(&pairs(&[("order", "group:c.desc"), ("group_by", "c")])).unwrap();
    assert_eq!(r.plan()["metrics"], json!([{"fn": "count"}]));
    assert_eq!(r.plan()["order"], json!([{"by": "group:c", "dir": "desc"}]));
    assert_eq!(
        parse_aggregate(&pairs(&[])).unwrap().plan()["group_by"],
        json!([])
    );
}

#[test]
fn aggregate_errors() {
    for (p, code) in [
        (vec![("group_by", "d:quarter")], "invalid_parameter"),
        (vec![("group_by", "a,,b")], "invalid_parameter"),
        (vec![("metrics", "median(x)")], "invalid_parameter"),
        (vec![("metrics", "sum")], "invalid_parameter"),
        (vec![("metrics", "sum()")], "invalid_parameter"),
        (vec![("metrics", "count(x)")], "invalid_parameter"),
        (vec![("metrics", "sum(x")], "invalid_parameter"),
        (vec![("order", "metric:1")], "invalid_parameter"),
        (vec![("order", "group:x")], "invalid_parameter"),
        (vec![("order", "price.desc")], "invalid_parameter"),
        (vec![("limit", "0")], "invalid_limit"),
        (vec![("limit", "10001")], "invalid_limit"),
        (vec![("select", "a")], "invalid_parameter"),
        (vec![("cursor", "x")], "invalid_parameter"),
        (
            vec![("metrics", "count"), ("metrics", "count")],
            "duplicate_parameter",
        ),
        (vec![("x", "fts.y")], "invalid_operator"),
    ] {
        let e = parse_aggregate(&pairs(&p)).unwrap_err();
        assert_eq!(e.code, code, "{p:?}: {e:?}");
    }
    assert!(parse_aggregate(&pairs(&[("metrics", "count(*)")])).is_ok());
}

#[test]
fn sql_unknown_field_gets_a_did_you_mean_over_fields_and_parameters() {
    let detail = |field: &str| json!({"code": "unknown_field", "field": field, "fields": ["sex", "species", "island", "body_mass_g"]});
    let e = from_sql_error(&detail("limt"), "unknown field `limt`", READ_PARAMETERS);
    assert_eq!(e.code, "unknown_field");
    assert_eq!(e.message, "unknown field `limt`");
    assert_eq!(
        e.hint.as_deref(),
        Some("did you mean the parameter `limit`?")
    );
    assert_eq!(
        e.details.unwrap(),
        json!({"field": "limt", "fields": ["sex", "species", "island", "body_mass_g"]})
    );
    let e = from_sql_error(&detail("Sex"), "m", READ_PARAMETERS);
    assert_eq!(e.hint.as_deref(), Some("did you mean `sex`?"));
    let e = from_sql_error(&detail("body_mas_g"), "m", READ_PARAMETERS);
    assert_eq!(e.hint.as_deref(), Some("did you mean `body_mass_g`?"));
    let e = from_sql_error(&detail("zzzzzz"), "m", READ_PARAMETERS);
    assert_eq!(
        e.hint.as_deref(),
        Some("the fields are `sex`, `species`, `island`, `body_mass_g`")
    );
    // Fields given as {key, name} objects: the header text is a candidate too.
    let e = from_sql_error(
        &json!({"code": "unknown_field", "field": "Unit Prise", "fields": [{"key": "unit_price", "name": "Unit Price"}]}),
        "m",
        READ_PARAMETERS,
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `Unit Price`?"));
}

#[test]
fn sql_other_codes_keep_code_and_details() {
    let e = from_sql_error(
        &json!({"code": "unknown_table", "table": "sales", "tables": ["client_x_sales", "client_x_orders"]}),
        "no table `sales`",
        READ_PARAMETERS,
    );
    assert_eq!(e.code, "unknown_table");
    // `sales` is too far from both names to guess: the hint lists them.
    assert_eq!(
        e.hint.as_deref(),
        Some("the tables are `client_x_sales`, `client_x_orders`")
    );
    let e = from_sql_error(
        &json!({"code": "unknown_table", "table": "client_x_sale", "tables": ["client_x_sales"]}),
        "m",
        &[],
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `client_x_sales`?"));
    let e = from_sql_error(
        &json!({"code": "table_required", "tables": ["a", "b"]}),
        "m",
        &[],
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("add ?table=<name>; the tables are `a`, `b`")
    );
    let d = json!({"code": "invalid_value", "field": "price", "type": "number", "value": "abc"});
    let e = from_sql_error(&d, "`abc` is not a number", &[]);
    assert_eq!(e.code, "invalid_value");
    assert_eq!(
        e.details.unwrap(),
        json!({"field": "price", "type": "number", "value": "abc"})
    );
    for code in ["invalid_operator", "invalid_cursor", "invalid_query"] {
        assert_eq!(from_sql_error(&json!({"code": code}), "m", &[]).code, code);
    }
    let e = from_sql_error(&json!({"code": "something_new", "path": "x"}), "m", &[]);
    assert_eq!(e.code, "invalid_query");
    assert_eq!(
        e.details.unwrap(),
        json!({"path": "x", "sql_code": "something_new"})
    );
    assert_eq!(
        from_sql_error(&json!("not an object"), "m", &[]).code,
        "invalid_query"
    );
}

#[test]
fn error_body_shape() {
    let e = err(&[("limit", "5000")]);
    assert_eq!(
        e.to_json(),
        json!({"code": "invalid_limit", "message": "limit must be an integer from 0 to 1000, got `5000`",
               "details": {"parameter": "limit", "min": 0, "max": 1000}})
    );
    assert_eq!(
        QueryError::new("invalid_query", "m").to_json(),
        json!({"code": "invalid_query", "message": "m"})
    );
}

#[test]
fn json_schema_of_a_realistic_schema_def() {
    let schema_def = json!({
        "version": 1, "format": "delimited", "data_type": "ecommerce",
        "columns": [
            {"key": "order_id", "name": "Order ID", "position": 0, "type": "integer", "nullable": false, "semantic_type": "identifier"},
            {"key": "unit_price", "name": "Unit Price", "position": 1, "type": "number", "nullable": true,
             "semantic_type": "currency", "format": {"currency_code": "EUR"}},
            {"key": "shipped", "name": "Shipped?", "position": 2, "type": "boolean", "nullable": false},
            {"key": "order_date", "name": "Order Date", "position": 3, "type": "date", "nullable": true},
            {"key": "updated_at", "name": "Updated", "position": 4, "type": "datetime", "nullable": false},
            {"key": "note", "name": "Note", "position": 5, "type": "mixed", "inferred_type": "number", "nullable": true},
            {"key": "country", "name": "Country", "position": 6, "type": "string", "nullable": false},
            {"key": "opens", "name": "Opens", "position": 7, "type": "time", "nullable": false,
             "source_format": {"pattern": "%H:%M", "checked": 3, "misses": 0}},
            {"key": "meta", "name": "Meta", "position": 8, "type": "json", "nullable": true},
            {"key": "blank", "name": "Blank", "position": 9, "type": "empty", "nullable": true}
        ]
    });
    let s = json_schema(&schema_def, "client_x_orders");
    assert_eq!(
        s["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(s["type"], json!("object"));
    assert_eq!(s["title"], json!("client_x_orders"));
    assert_eq!(s["x-data-type"], json!("ecommerce"));
    assert!(s.get("required").is_none());
    let p = &s["properties"];
    assert_eq!(
        p["order_id"],
        json!({"type": "integer", "title": "Order ID", "x-header": "Order ID", "x-type": "integer",
               "x-semantic-type": "identifier", "x-position": 0})
    );
    assert_eq!(p["unit_price"]["type"], json!(["number", "null"]));
    assert_eq!(p["unit_price"]["x-currency"], json!("EUR"));
    assert_eq!(p["unit_price"]["x-semantic-type"], json!("currency"));
    assert_eq!(p["shipped"]["type"], json!("boolean"));
    assert_eq!(
        (
            p["order_date"]["type"].clone(),
            p["order_date"]["format"].clone()
        ),
        (json!(["string", "null"]), json!("date"))
    );
    assert_eq!(
        (
            p["updated_at"]["type"].clone(),
            p["updated_at"]["format"].clone()
        ),
        (json!("string"), json!("date-time"))
    );
    assert!(p["note"].get("type").is_none(), "mixed: no type constraint");
    assert!(p["note"]["description"]
        .as_str()
        .unwrap()
        .contains("Mostly number"));
    assert_eq!(p["country"]["type"], json!("string"));
    assert_eq!(p["opens"]["type"], json!("string"));
    assert!(p["opens"].get("format").is_none());
    assert_eq!(
        p["opens"]["x-source-format"],
        json!({"pattern": "%H:%M", "checked": 3, "misses": 0})
    );
    assert!(
        p["country"].get("x-source-format").is_none(),
        "absent for old tables"
    );
    assert!(p["meta"].get("type").is_none(), "json: any value");
    assert_eq!(p["blank"]["type"], json!("null"));
    assert_eq!(p.as_object().unwrap().len(), 10);
    // A schema_def without columns is an object with no known properties.
    assert_eq!(json_schema(&json!({}), "t")["properties"], json!({}));
}

#[test]
fn openapi_parameters_cover_every_reserved_parameter_and_operator() {
    let p = openapi_parameters();
    for name in READ_PARAMETERS.iter().chain(AGGREGATE_PARAMETERS) {
        let found = p
            .as_object()
            .unwrap()
            .values()
            .any(|v| v["name"] == json!(name));
        assert!(found, "{name}");
    }
    for v in p.as_object().unwrap().values() {
        assert_eq!(v["in"], json!("query"));
        assert!(
            v["schema"].is_object() && v["description"].is_string(),
            "{v}"
        );
    }
    let f = &p["filter"];
    assert_eq!(
        (f["style"].clone(), f["explode"].clone()),
        (json!("form"), json!(true))
    );
    assert_eq!(f["x-operators"], json!(OPERATORS));
    for op in OPERATORS {
        assert!(f["description"].as_str().unwrap().contains(op), "{op}");
        assert!(FILTER_PATTERN.contains(op), "{op}");
    }
    assert_eq!(p["limit"]["schema"]["maximum"], json!(MAX_LIMIT));
}

/// A deterministic generator (xorshift) of strings made of the grammar's characters, operator
/// words and multi-byte text, so every branch of the parser sees garbage.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "(",
            ")",
            ",",
            ".",
            "\"",
            "\\",
            "*",
            ":",
            "not.",
            "or(",
            "and(",
            "in.(",
            "is.",
            "eq.",
            "gt.",
            "like.",
            "null",
            "a",
            "b",
            "1",
            " ",
            "é",
            "日",
            "\u{0}",
            "%",
            "=",
            "asc",
            "desc",
            "nullslast",
            "count",
            "sum(",
            "metric:",
            "group:",
            "month",
            "-",
            "_",
        ];
        let len = (self.next() % 24) as usize;
        (0..len)
            .map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize])
            .collect()
    }

    fn key(&mut self) -> String {
        const KEYS: &[&str] = &[
            "or", "and", "not.or", "not.and", "order", "select", "limit", "offset", "cursor",
            "count", "q", "table", "format", "group_by", "metrics", "price", "",
        ];
        match self.next() % 4 {
            0 => self.string(),
            _ => KEYS[(self.next() % KEYS.len() as u64) as usize].to_string(),
        }
    }
}

#[test]
fn parsers_never_panic_on_garbage() {
    let mut g = Garbage(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for _ in 0..50_000 {
        let n = (g.next() % 4) as usize;
        let p: Vec<(String, String)> = (0..n).map(|_| (g.key(), g.string())).collect();
        match parse_read(&p) {
            Ok(r) => {
                accepted += 1;
                assert!(r.plan().is_object());
            }
            Err(e) => {
                assert!(ERROR_CODES.contains(&e.code), "{e:?}");
                assert!(!e.message.is_empty());
            }
        }
        if let Err(e) = parse_aggregate(&p) {
            assert!(ERROR_CODES.contains(&e.code), "{e:?}");
        }
        let _ = decode_cursor(&g.string());
    }
    // The generator reaches both answers, so the loop tests the parser and not only one path.
    assert!(accepted > 1000 && accepted < 49_000, "{accepted}");
}

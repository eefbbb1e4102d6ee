//! `GET /api/data/{id}/aggregate`: the query pairs → [`AggregateRequest`], whose
//! [`AggregateRequest::plan`] is `aggregate_client_data`'s `p_query`.
//!
//! Design decision: the read route's own parameters that mean nothing for groups (`select`,
//! `offset`, `cursor`, `count`, `format`) are refused by name rather than taken as filters on
//! fields called `select`…, so a copied read URL fails loudly.

use serde_json::{json, Value};

use crate::error::QueryError;
use crate::filter::{is_logic_param, parse_field_filter, parse_logic_param, Filter};
use crate::read::{
    invalid_parameter, parse_bound, parse_q, parse_table, split_list, unquote, Direction, Seen,
};

pub const MAX_GROUPS: u32 = 10_000;

/// The aggregate route's parameters; any other key is a field filter (as on the read route).
pub const AGGREGATE_PARAMETERS: &[&str] = &[
    "table", "group_by", "metrics", "order", "limit", "q", "or", "and", "not.or", "not.and",
];

/// Read-route parameters that do not apply to an aggregate.
const NOT_FOR_AGGREGATES: [&str; 5] = ["select", "offset", "cursor", "count", "format"];

pub const BUCKETS: [&str; 4] = ["day", "week", "month", "year"];
pub const METRIC_FUNCTIONS: [&str; 6] = ["count", "sum", "avg", "min", "max", "count_distinct"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBy {
    pub field: String,
    /// One of [`BUCKETS`]: dates truncated to it.
    pub bucket: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// One of [`METRIC_FUNCTIONS`].
    pub func: &'static str,
    /// `None` only for `count` (rows).
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateOrder {
    /// `group:<field as in group_by>` or `metric:<index into metrics>`.
    pub by: String,
    pub dir: Direction,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRequest {
    pub table: Option<String>,
    pub filter: Option<Filter>,
    pub q: Option<String>,
    /// Empty: one group of all matching rows.
    pub group_by: Vec<GroupBy>,
    /// Never empty: `[count]` when not given.
    pub metrics: Vec<Metric>,
    /// Empty: group keys ascending.
    pub order: Vec<AggregateOrder>,
    /// `None`: not given (the SQL decides the default).
    pub limit: Option<u32>,
}

impl AggregateRequest {
    /// `aggregate_client_data`'s `p_query` (docs/QUERY.md).
    pub fn plan(&self) -> Value {
        let mut plan = json!({
            "table": self.table,
            "filter": self.filter.as_ref().map(Filter::to_json),
            "q": self.q,
            "group_by": self.group_by.iter().map(|g| match g.bucket {
                Some(b) => json!({"field": g.field, "bucket": b}),
                None => json!({"field": g.field}),
            }).collect::<Vec<_>>(),
            "metrics": self.metrics.iter().map(|m| match &m.field {
                Some(f) => json!({"fn": m.func, "field": f}),
                None => json!({"fn": m.func}),
            }).collect::<Vec<_>>(),
            "order": self.order.iter().map(|o| json!({"by": o.by, "dir": o.dir.as_str()})).collect::<Vec<_>>(),
        });
        if let Some(l) = self.limit {
            plan["limit"] = json!(l);
        }
        plan
    }
}

/// Parses the decoded query pairs of the aggregate route, in order.
pub fn parse_aggregate(pairs: &[(String, String)]) -> Result<AggregateRequest, QueryError> {
    let mut r = AggregateRequest {
        table: None,
        filter: None,
        q: None,
        group_by: Vec::new(),
        metrics: vec![Metric {
            func: "count",
            field: None,
        }],
        order: Vec::new(),
        limit: None,
    };
    let mut order_value = None;
    let mut seen = Seen::new();
    let mut filters = Vec::new();
    for (key, value) in pairs {
        let (key, value) = (key.as_str(), value.as_str());
        if is_logic_param(key) {
            filters.push(parse_logic_param(key, value)?);
            continue;
        }
        if AGGREGATE_PARAMETERS.contains(&key) {
            seen.once(key)?;
        }
        match key {
            "table" => r.table = Some(parse_table(value)?),
            "q" => r.q = Some(parse_q(value)?),
            "limit" => r.limit = Some(parse_bound("limit", value, 1, MAX_GROUPS, "invalid_limit")?),
            "group_by" => r.group_by = parse_group_by(value)?,
            "metrics" => r.metrics = parse_metrics(value)?,
            "order" => order_value = Some(value),
            _ if NOT_FOR_AGGREGATES.contains(&key) => {
                return Err(QueryError::new(
                    "invalid_parameter",
                    format!("`{key}` does not apply to an aggregate"),
                )
                .with_details(json!({"parameter": key, "parameters": AGGREGATE_PARAMETERS})))
            }
            field => filters.push(parse_field_filter(field, value)?),
        }
    }
    // After the loop: `order` names groups and metrics, whatever the parameters' order.
    if let Some(value) = order_value {
        r.order = parse_aggregate_order(value, &r.group_by, r.metrics.len())?;
    }
    r.filter = Filter::all(filters);
    Ok(r)
}

/// `group_by=country,order_date:month`: a trailing `:day|week|month|year` is a bucket.
fn parse_group_by(value: &str) -> Result<Vec<GroupBy>, QueryError> {
    split_list("group_by", value)?
        .into_iter()
        .map(|(start, item)| {
            let (name, bucket) = match item.rsplit_once(':') {
                Some((name, b)) if !item.ends_with('"') => {
                    match BUCKETS.iter().find(|x| **x == b) {
                        Some(b) => (name.to_string(), Some(*b)),
                        None => {
                            return Err(invalid_parameter(
                                "group_by",
                                value,
                                start + name.len() + 1,
                                format!(
                                    "`{b}` is not a bucket; the buckets are day, week, month, year"
                                ),
                            )
                            .with_hint("quote a field name that contains `:`, as in \"a:b\""))
                        }
                    }
                }
                _ => (item.clone(), None),
            };
            Ok(GroupBy {
                field: unquote("group_by", value, start, &name)?,
                bucket,
            })
        })
        .collect()
}

/// `metrics=count,sum(price),count_distinct("a,b")`.
fn parse_metrics(value: &str) -> Result<Vec<Metric>, QueryError> {
    split_list("metrics", value)?
        .into_iter()
        .map(|(start, item)| {
            let (name, arg) = match item.split_once('(') {
                Some((name, rest)) => match rest.strip_suffix(')') {
                    Some(arg) => (name, Some(arg)),
                    None => {
                        return Err(invalid_parameter(
                            "metrics",
                            value,
                            start,
                            format!("`{item}` is not fn or fn(field)"),
                        ))
                    }
                },
                None => (item.as_str(), None),
            };
            let Some(func) = METRIC_FUNCTIONS.iter().copied().find(|f| *f == name) else {
                return Err(invalid_parameter(
                    "metrics",
                    value,
                    start,
                    format!(
                        "`{name}` is not a metric; the metrics are {}",
                        METRIC_FUNCTIONS.join(", ")
                    ),
                ));
            };
            let field = match (func, arg) {
                ("count", None | Some("*") | Some("")) => None,
                ("count", Some(_)) => {
                    return Err(invalid_parameter(
                        "metrics",
                        value,
                        start,
                        "count counts rows and takes no field",
                    )
                    .with_hint("count_distinct(field) counts a field's distinct values"))
                }
                (_, Some(arg)) if !arg.is_empty() => {
                    Some(unquote("metrics", value, start + name.len() + 1, arg)?)
                }
                _ => {
                    return Err(invalid_parameter(
                        "metrics",
                        value,
                        start,
                        format!("{func} needs a field, as in {func}(price)"),
                    ))
                }
            };
            Ok(Metric { func, field })
        })
        .collect()
}

/// `order=metric:0.desc,group:country`.
fn parse_aggregate_order(
    value: &str,
    group_by: &[GroupBy],
    metric_count: usize,
) -> Result<Vec<AggregateOrder>, QueryError> {
    split_list("order", value)?
        .into_iter()
        .map(|(start, item)| {
            let (by, dir) = match item.rsplit_once('.') {
                Some((by, "asc")) => (by, Direction::Asc),
                Some((by, "desc")) => (by, Direction::Desc),
                _ => (item.as_str(), Direction::Asc),
            };
            let bad = |message: String| invalid_parameter("order", value, start, message);
            match by.split_once(':') {
                Some(("metric", i)) => match i.parse::<usize>() {
                    Ok(i) if i < metric_count => {}
                    _ => {
                        return Err(bad(format!(
                            "`{by}`: metric:N needs N from 0 to {} (its place in metrics)",
                            metric_count.saturating_sub(1)
                        )))
                    }
                },
                Some(("group", field)) => {
                    if !group_by.iter().any(|g| g.field == field) {
                        return Err(bad(format!("`{by}`: `{field}` is not one of group_by")));
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "`{item}` is not group:<field>[.asc|.desc] or metric:<n>[.asc|.desc]"
                    )))
                }
            }
            Ok(AggregateOrder {
                by: by.to_string(),
                dir,
            })
        })
        .collect()
}

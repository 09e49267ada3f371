//! Rules on values the config types accept but that cannot work: a page size of zero, a timeout
//! of nothing, a rate limit of one request a year, a URL Dango cannot fetch, an empty name or key.
//! Each rule returns [`Problem`]s at paths relative to what it checks; the loader places them.

use serde_json::Value;

use super::config::{
    PaginationConfig, PrimaryKey, RateLimitConfig, ResourceConfig, RetryConfig, SourceConfig,
};
use super::errors::{FieldSeg, Problem};
use crate::hints::WriteDisposition;
use crate::normalize::naming::normalize_path;
use crate::source::json_path;

/// Slowest rate limit accepted: one request an hour. Anything slower is a typo, not a rate (at
/// `1e-7` a sync of one page a resource would take months).
const MIN_RATE: f64 = 1.0 / 3600.0;
/// Shortest request timeout accepted, in seconds: no HTTP round trip finishes sooner.
const MIN_TIMEOUT: f64 = 0.1;
/// Longest timeout or wait accepted, in seconds: the client waits at most a day.
const MAX_WAIT: f64 = 86_400.0;

/// The key that `raw` (a mapping) spells one of `names` with, if any.
fn written<'a>(raw: Option<&Value>, names: &[&'a str]) -> Option<&'a str> {
    let map = raw?.as_object()?;
    names.iter().copied().find(|k| map.contains_key(*k))
}

fn keys(path: &[&str]) -> Vec<FieldSeg> {
    path.iter()
        .map(|k| FieldSeg::Key((*k).to_string()))
        .collect()
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Problems of one source's own settings (not its resources'), at paths under the source.
/// `raw` is the source as written, to point at the key the user actually wrote.
pub fn source_problems(s: &SourceConfig, raw: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    if is_blank(&s.name) {
        out.push(
            Problem::at(&["name"], "is empty: every source needs a name")
                .hint("e.g. `name: my_api`; it selects the source in `dango sync my_api`"),
        );
    }
    if s.dataset_name.as_deref().is_some_and(is_blank) {
        out.push(Problem::at(&["dataset_name"], "is empty").hint(format!(
            "leave it out to load into `raw_{}`, or name a schema, e.g. `dataset_name: billing`",
            s.name
        )));
    }
    let Some(rest) = &s.rest_api else {
        return out;
    };
    let raw_rest = raw.get("rest_api");
    let base_at =
        if rest.base_url.is_none() && rest.client.as_ref().is_some_and(|c| c.base_url.is_some()) {
            keys(&["rest_api", "client", "base_url"])
        } else {
            keys(&["rest_api", "base_url"])
        };
    match rest.effective_base_url() {
        None => out.push(Problem {
            path: base_at,
            message: "missing `base_url` (or `client: {base_url: ...}`)".into(),
            hint: Some("e.g. base_url: https://api.example.com".into()),
        }),
        Some(url) => out.extend(url_problem(url, true).map(|p| p.under(&base_at))),
    }
    if let Some(limit) = &rest.rate_limit {
        let at = keys(&["rest_api", "rate_limit"]);
        out.extend(rate_limit_problems(limit).into_iter().map(|p| p.under(&at)));
    }
    let at = keys(&["rest_api", "retry"]);
    out.extend(
        retry_problems(&rest.retry)
            .into_iter()
            .map(|p| p.under(&at)),
    );
    let paginator_at = match written(raw_rest, &["paginator", "pagination"]) {
        Some(key) => Some(keys(&["rest_api", key])),
        None if rest.paginator.is_none() => Some(keys(&["rest_api", "client", "paginator"])),
        None => None,
    };
    if let (Some(p), Some(at)) = (rest.effective_paginator(), paginator_at) {
        let problems = paginator_problems(p)
            .into_iter()
            .chain(paginator_json_paths(p));
        out.extend(problems.map(|p| p.under(&at)));
    }
    out
}

/// A URL Dango cannot fetch: not a URL, or not http(s). References to `${VAR}` are checked
/// once they are substituted (see `loader::resolve_source`). `base` says whether it is the
/// source's base URL (which must be absolute) rather than an endpoint (which may be a path).
fn url_problem(url: &str, base: bool) -> Option<Problem> {
    if url.contains("${") {
        return None;
    }
    match url::Url::parse(url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            let hint = if base {
                "use an http:// or https:// URL, e.g. https://api.example.com"
            } else {
                "use an http:// or https:// URL, or a path relative to base_url such as /users"
            };
            let message = format!(
                "`{}:` URLs cannot be fetched: Dango speaks HTTP",
                u.scheme()
            );
            Some(Problem::at(&[], message).hint(hint))
        }
        Err(e) if base => Some(
            Problem::at(&[], format!("`{url}` is not a URL ({e})"))
                .hint("write it in full, e.g. https://api.example.com"),
        ),
        _ => None,
    }
}

fn rate_limit_problems(limit: &RateLimitConfig) -> Vec<Problem> {
    let (rate, burst, rate_at): (f64, Option<u32>, &[&str]) = match *limit {
        RateLimitConfig::PerSecond(r) => (r, None, &[]),
        RateLimitConfig::Detailed {
            requests_per_second,
            burst,
        } => (requests_per_second, burst, &["requests_per_second"]),
    };
    let mut out = Vec::new();
    if !rate.is_finite() || rate < MIN_RATE {
        out.push(
            Problem::at(
                rate_at,
                format!(
                    "{rate} requests per second is not a usable rate limit: it must be a number of \
                     at least {MIN_RATE:.6} (one request an hour)"
                ),
            )
            .hint("e.g. `rate_limit: 10`; leave `rate_limit` out for no limit"),
        );
    }
    if burst == Some(0) {
        out.push(
            Problem::at(
                &["burst"],
                "must be at least 1: a burst of 0 would allow no request",
            )
            .hint("e.g. `burst: 5`, or leave it out for 1"),
        );
    }
    out
}

fn retry_problems(retry: &RetryConfig) -> Vec<Problem> {
    let mut out = Vec::new();
    if retry.max_attempts == 0 {
        out.push(
            Problem::at(
                &["max_attempts"],
                "must be at least 1 (the first attempt counts)",
            )
            .hint("e.g. `max_attempts: 5`; `max_attempts: 1` turns retries off"),
        );
    }
    let t = retry.timeout_seconds;
    if !(MIN_TIMEOUT..=MAX_WAIT).contains(&t) {
        out.push(
            Problem::at(
                &["timeout_seconds"],
                format!(
                    "{t} seconds cannot work as a request timeout: it must be between \
                     {MIN_TIMEOUT} and {MAX_WAIT} (a day)"
                ),
            )
            .hint("e.g. `timeout_seconds: 60`"),
        );
    }
    for (field, value) in [
        ("backoff_seconds", retry.backoff_seconds),
        ("max_backoff_seconds", retry.max_backoff_seconds),
    ] {
        if !(0.0..=MAX_WAIT).contains(&value) {
            out.push(
                Problem::at(
                    &[field],
                    format!(
                        "{value} seconds is not a wait: it must be between 0 and {MAX_WAIT} (a day)"
                    ),
                )
                .hint(format!("e.g. `{field}: 1`")),
            );
        }
    }
    out
}

/// Problems of one paginator's settings, at paths under it.
fn paginator_problems(p: &PaginationConfig) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut param = |field: &str, value: &str| {
        if is_blank(value) {
            out.push(
                Problem::at(
                    &[field],
                    "is empty: the page would be requested without a parameter",
                )
                .hint("name the query parameter the API reads, or leave it out for the default"),
            );
        }
    };
    match p {
        PaginationConfig::PageNumber(c) => {
            param("param", &c.param);
            if c.page_size.is_some() {
                param("page_size_param", &c.page_size_param);
            }
            if c.page_size == Some(0) {
                out.push(
                    Problem::at(
                        &["page_size"],
                        "must be at least 1: pages of 0 records never end",
                    )
                    .hint("e.g. `page_size: 100`, or leave it out to use the API's default"),
                );
            }
        }
        PaginationConfig::Offset(c) => {
            param("param", &c.param);
            param("limit_param", &c.limit_param);
            if c.limit == 0 {
                out.push(
                    Problem::at(
                        &["limit"],
                        "must be at least 1: with a limit of 0 the offset never moves and \
                         paging never ends",
                    )
                    .hint("e.g. `limit: 100`"),
                );
            }
        }
        PaginationConfig::Cursor(c) => param("param", &c.param),
        _ => {}
    }
    out
}

/// Problems of one resource's own settings, at paths under the resource. `raw` is the resource
/// as written (with `resource_defaults` merged in).
pub fn resource_problems(res: &ResourceConfig, raw: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    if is_blank(&res.name) {
        out.push(
            Problem::at(&["name"], "is empty: every resource needs a name")
                .hint("e.g. `name: users`; it is also the table's name"),
        );
    }
    if res.table_name.as_deref().is_some_and(is_blank) {
        out.push(
            Problem::at(&["table_name"], "is empty")
                .hint("leave it out to name the table after the resource"),
        );
    }
    out.extend(key_problems(res));
    out.extend(schema_problems(res));
    let ep = res.effective_endpoint();
    let path_at = match raw.get("endpoint") {
        Some(Value::Object(_)) => keys(&["endpoint", "path"]),
        Some(_) => keys(&["endpoint"]),
        None => keys(&["name"]),
    };
    out.extend(url_problem(&ep.path, false).map(|p| p.under(&path_at)));
    let endpoint = raw.get("endpoint").filter(|e| e.is_object());
    let paginator_at = match written(endpoint, &["paginator", "pagination"]) {
        Some(key) => keys(&["endpoint", key]),
        None => keys(&[written(Some(raw), &["pagination", "paginator"]).unwrap_or("pagination")]),
    };
    let selector_at = match written(endpoint, &["data_selector"]) {
        Some(_) => keys(&["endpoint", "data_selector"]),
        None => keys(&["data_selector"]),
    };
    if let Some(s) = &ep.data_selector {
        out.extend(json_path_problem(s).map(|p| p.under(&selector_at)));
    }
    if let Some(p) = &ep.paginator {
        let problems = paginator_problems(p)
            .into_iter()
            .chain(paginator_json_paths(p));
        out.extend(problems.map(|p| p.under(&paginator_at)));
    }
    out
}

fn json_path_problem(path: &str) -> Option<Problem> {
    json_path::validate(path)
        .err()
        .map(|e| Problem::at(&[], e.to_string()))
}

/// Problems of the JSONPaths a paginator reads, at paths under it.
fn paginator_json_paths(p: &PaginationConfig) -> Vec<Problem> {
    let paths: Vec<(&str, &str)> = match p {
        PaginationConfig::PageNumber(c) => [
            ("total_path", &c.total_path),
            ("has_more_path", &c.has_more_path),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.as_deref().map(|v| (f, v)))
        .collect(),
        PaginationConfig::Offset(c) => [
            ("total_path", &c.total_path),
            ("has_more_path", &c.has_more_path),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.as_deref().map(|v| (f, v)))
        .collect(),
        PaginationConfig::Cursor(c) => std::iter::once(("cursor_path", c.cursor_path.as_str()))
            .chain(c.has_more_path.as_deref().map(|v| ("has_more_path", v)))
            .collect(),
        PaginationConfig::NextUrl(c) => vec![("next_url_path", c.next_url_path.as_str())],
        _ => Vec::new(),
    };
    paths
        .into_iter()
        .filter_map(|(field, path)| json_path_problem(path).map(|p| p.under(&keys(&[field]))))
        .collect()
}

/// Empty keys: an empty column name never names a column, and a merge needs a key to match on.
/// Column hints that name no type Dango loads, and transforms that are not one SQL query or
/// name a table that is not one of the resource's.
fn schema_problems(res: &ResourceConfig) -> Vec<Problem> {
    let mut out = Vec::new();
    let nested = res.nested_hints.iter().flat_map(|(path, n)| {
        n.columns.iter().map(move |(c, h)| {
            (
                vec!["nested_hints", path.as_str(), "columns", c.as_str()],
                h,
            )
        })
    });
    let own = res
        .columns
        .iter()
        .map(|(c, h)| (vec!["columns", c.as_str()], h));
    for (mut path, hint) in own.chain(nested) {
        let column = path.last().copied().unwrap_or_default();
        if let Some(name) = hint.name.as_deref().filter(|n| *n != column) {
            path.push("name");
            out.push(
                Problem::at(
                    &path,
                    format!("is `{name}`, but the hint is under `{column}`"),
                )
                .hint("leave `name` out: the key names the column"),
            );
            path.pop();
        }
        if let Err(e) = hint.dlt_type() {
            path.push("data_type");
            out.push(Problem::at(&path, e.to_string()));
        }
    }
    let root = res.table();
    let own = res.transform.iter().map(|sql| (vec!["transform"], sql));
    let children = res
        .transforms
        .iter()
        .map(|(table, sql)| (vec!["transforms", table.as_str()], sql));
    for (path, sql) in own.chain(children) {
        if let Some(problem) = sql_problem(sql) {
            out.push(Problem::at(&path, problem).hint(
                "write one query over the table's rows, named `data`:                  `SELECT id, lower(email) AS email FROM data WHERE status <> 'test'`",
            ));
        } else if let Some(problem) = transform_shape_problem(res, &path, sql) {
            out.push(Problem::at(&path, problem));
        }
    }
    for table in res.transforms.keys() {
        let normalized = normalize_path(table);
        if !normalized.starts_with(&format!("{root}__")) {
            out.push(
                Problem::at(&["transforms", table], format!(
                    "names table `{normalized}`, which is not a child table of `{root}`"
                ))
                .hint(format!(
                    "key `transforms:` by child table, e.g. `{root}__items`; the table's own                      transform is `transform:`"
                )),
            );
        }
    }
    out
}

/// Why the transform `sql` at `path` (`transform` or `transforms.<table>`) of `res` cannot be
/// one, whatever its records hold: it reads something other than `data`, or makes more than
/// one row of a record, or does not pass a `merge` key through (planned, not string-matched).
fn transform_shape_problem(res: &ResourceConfig, path: &[&str], sql: &str) -> Option<String> {
    let (table, whose, keys) = match path {
        [_, child] => {
            let table = normalize_path(child);
            let whose = format!("table `{table}`");
            (table, whose, Vec::new())
        }
        _ => {
            let keys = match res.write_disposition.unwrap_or_default() {
                WriteDisposition::Merge => res.keys().0,
                _ => Vec::new(),
            };
            (res.table(), format!("resource `{}`", res.name), keys)
        }
    };
    let reason = crate::table::transform::shape_problem(&table, sql, &keys)?;
    Some(format!("the transform of {whose} {reason}"))
}

/// Why `sql` is not one SQL query, if it is not.
fn sql_problem(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
    match Parser::parse_sql(&GenericDialect {}, sql) {
        Err(e) => Some(format!("is not valid SQL: {e}")),
        Ok(statements) => match statements.as_slice() {
            [datafusion::sql::sqlparser::ast::Statement::Query(_)] => None,
            [_] => Some("is not a query: a transform is one `SELECT ... FROM data`".into()),
            _ => Some(format!(
                "holds {} statements: a transform is one `SELECT ... FROM data`",
                statements.len()
            )),
        },
    }
}

fn key_problems(res: &ResourceConfig) -> Vec<Problem> {
    let merge = res.write_disposition.unwrap_or_default() == WriteDisposition::Merge;
    let mut out = Vec::new();
    let columns = |k: &Option<PrimaryKey>| k.as_ref().map(PrimaryKey::columns);
    if let Some(pk) = columns(&res.primary_key) {
        if pk.iter().any(|c| is_blank(c)) {
            out.push(
                Problem::at(&["primary_key"], "has an empty column name").hint(
                    "name the key column(s), e.g. `primary_key: id` or `primary_key: [org, id]`",
                ),
            );
        } else if pk.is_empty() && merge {
            out.push(
                Problem::at(
                    &["primary_key"],
                    "is empty, so a `merge` has no key to match rows on (it would append)",
                )
                .hint(
                    "name the key column(s), e.g. `primary_key: id`, or set \
                     `write_disposition: append` if every sync's rows should be added",
                ),
            );
        }
    }
    if let Some(mk) = columns(&res.merge_key) {
        if mk.iter().any(|c| is_blank(c)) {
            out.push(
                Problem::at(&["merge_key"], "has an empty column name")
                    .hint("name the column(s), e.g. `merge_key: day`"),
            );
        } else if mk.is_empty() && merge {
            out.push(
                Problem::at(
                    &["merge_key"],
                    "is empty: it names no column whose rows to replace",
                )
                .hint("name the column(s), e.g. `merge_key: day`, or leave it out"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(v: Value) -> Vec<Problem> {
        let res: ResourceConfig = serde_json::from_value(v.clone()).unwrap();
        resource_problems(&res, &v)
    }

    fn paths(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| super::super::errors::render_path(&p.path))
            .collect()
    }

    #[test]
    fn zero_page_sizes_are_found_where_they_are_written() {
        let found = resource(json!({"name": "a", "pagination": {"type": "offset", "limit": 0}}));
        assert_eq!(paths(&found), ["pagination.limit"]);
        let found = resource(json!({"name": "a", "endpoint": {"path": "/a",
            "paginator": {"type": "page_number", "page_size": 0}}}));
        assert_eq!(paths(&found), ["endpoint.paginator.page_size"]);
    }

    #[test]
    fn empty_keys_only_matter_where_they_are_used() {
        let found = resource(json!({"name": "a", "primary_key": []}));
        assert_eq!(paths(&found), ["primary_key"]);
        assert!(
            resource(json!({"name": "a", "primary_key": [], "write_disposition": "append"}))
                .is_empty()
        );
        let found =
            resource(json!({"name": "a", "primary_key": [""], "write_disposition": "append"}));
        assert_eq!(paths(&found), ["primary_key"]);
        let found = resource(json!({"name": "a", "merge_key": []}));
        assert_eq!(paths(&found), ["merge_key"]);
    }

    #[test]
    fn only_http_endpoints_can_be_fetched() {
        let found = resource(json!({"name": "a", "endpoint": "file:///etc/passwd"}));
        assert_eq!(paths(&found), ["endpoint"]);
        assert!(found[0].message.contains("`file:`"), "{:?}", found[0]);
        assert!(resource(json!({"name": "a", "endpoint": "https://b.test/x"})).is_empty());
        assert!(resource(json!({"name": "a", "endpoint": "/x"})).is_empty());
    }

    #[test]
    fn rates_and_waits_that_cannot_work() {
        let limit = RateLimitConfig::PerSecond(1e-7);
        assert_eq!(rate_limit_problems(&limit).len(), 1);
        let limit = RateLimitConfig::PerSecond(1.0 / 3600.0);
        assert!(rate_limit_problems(&limit).is_empty());
        let limit = RateLimitConfig::Detailed {
            requests_per_second: f64::NAN,
            burst: Some(0),
        };
        assert_eq!(
            paths(&rate_limit_problems(&limit)),
            ["requests_per_second", "burst"]
        );
        let retry = RetryConfig {
            max_attempts: 0,
            backoff_seconds: -1.0,
            max_backoff_seconds: f64::INFINITY,
            timeout_seconds: 0.0,
        };
        assert_eq!(
            paths(&retry_problems(&retry)),
            [
                "max_attempts",
                "timeout_seconds",
                "backoff_seconds",
                "max_backoff_seconds"
            ]
        );
        assert!(retry_problems(&RetryConfig::default()).is_empty());
    }
}

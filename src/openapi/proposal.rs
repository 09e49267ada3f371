//! From an API's operations to a source: which endpoints become resources (and why the others
//! do not), their names, parents, parameters, paginators, keys, cursors and dispositions.

use regex::Regex;

use super::auth::{self, AuthChoice};
use super::document::{Description, Node};
use super::fields::{self, Choice, Cursor};
use super::json_schema;
use super::model::{Api, Operation, Param, Response};
use super::paging::{self, Paging};
use super::records::{self, Records};
use crate::normalize::naming::normalize_identifier;

/// Path segments that say nothing about what a resource holds.
const VERSION_SEGMENTS: [&str; 4] = ["api", "rest", "v1", "v2"];

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The source's name.
    pub source: String,
    /// Glob patterns (`*`) on paths or resource names; empty takes every collection.
    pub select: Vec<String>,
}

/// A source proposed from a description.
#[derive(Debug)]
pub struct Proposal {
    /// The source's name.
    pub source: String,
    /// The API's title.
    pub title: String,
    /// The base URL and the field it came from.
    pub base_url: (String, String),
    /// Its auth, if the API asks for one.
    pub auth: Option<AuthChoice>,
    /// The resources.
    pub resources: Vec<ResourcePlan>,
    /// Endpoints that are not resources, and why.
    pub skipped: Vec<Skipped>,
    /// Operations that are not GET, by method (listed only as counts).
    pub not_get: Vec<(String, usize)>,
}

/// An endpoint that did not become a resource.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// `GET /path`.
    pub endpoint: String,
    /// Why.
    pub reason: String,
}

/// A value written for a query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A number.
    Number(u64),
    /// A string.
    Text(String),
    /// A `${VAR}` the user must set.
    Placeholder(String),
}

/// A resource as it will be written.
#[derive(Debug, Clone)]
pub struct ResourcePlan {
    /// Its name (unique, normalised).
    pub name: String,
    /// `GET /path` as the description writes it.
    pub endpoint: String,
    /// `endpoint.path`, with a parent's fields as `{resources.parent.field}`.
    pub path: String,
    /// Query parameters to send: name, value, why.
    pub params: Vec<(String, ParamValue, String)>,
    /// `data_selector` (`None`: the body is the list), why, and whether it is sure.
    pub selector: Choice<Option<String>>,
    /// The paginator.
    pub paging: Paging,
    /// The primary key.
    pub key: Option<Choice<String>>,
    /// The incremental cursor.
    pub cursor: Option<Choice<Cursor>>,
    /// `write_disposition` and why.
    pub disposition: (&'static str, String),
    /// The parent resource and the fields its path takes from it (parameter, field).
    pub parent: Option<(String, Vec<(String, String)>)>,
    /// What the probe found, or that it did not run.
    pub notes: Vec<String>,
    /// The fields a record has, per the description.
    pub fields: Vec<String>,
}

/// Where a resource's path parameters come from: `None` for a top-level resource, else the
/// parent (an index into the candidates) and (parameter, parent field) pairs.
type ParentLink = Option<(usize, Vec<(String, String)>)>;

/// A GET collection before names and parents are settled.
struct Candidate<'a> {
    op: &'a Operation<'a>,
    records: Records<'a>,
    selected_by_name: bool,
}

/// Proposes a source for `api` as `options` ask.
pub fn propose(desc: &Description, api: &Api<'_>, options: &Options) -> Result<Proposal, String> {
    let patterns: Vec<Regex> = options
        .select
        .iter()
        .map(|p| glob(p))
        .collect::<Result<_, _>>()?;
    let mut skipped = Vec::new();
    let mut not_get: Vec<(String, usize)> = Vec::new();
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    for op in &api.operations {
        let endpoint = format!("{} {}", op.method.to_ascii_uppercase(), op.path);
        let base = base_name(&op.path);
        let matched = patterns.is_empty()
            || patterns
                .iter()
                .any(|p| p.is_match(&op.path) || p.is_match(&base) || p.is_match(&endpoint));
        if !matched {
            continue;
        }
        if op.method != "get" {
            let method = op.method.to_ascii_uppercase();
            match not_get.iter_mut().find(|(m, _)| *m == method) {
                Some((_, n)) => *n += 1,
                None => not_get.push((method, 1)),
            }
            continue;
        }
        let skip = |reason: String| Skipped {
            endpoint: endpoint.clone(),
            reason,
        };
        let schema = match &op.response {
            Response::Json { schema, .. } => *schema,
            Response::Other(media) => {
                skipped.push(skip(format!("its response is not JSON ({media})")));
                continue;
            }
            Response::Missing => {
                skipped.push(skip("no success response is described".into()));
                continue;
            }
        };
        // `/gists/{gist_id}` reads one record, whatever lists it holds.
        if let Some(last) = op.path.rsplit('/').find(|s| !s.is_empty())
            && last.starts_with('{')
            && patterns.is_empty()
        {
            skipped.push(skip(format!(
                "it returns one record (the path ends with `{last}`)"
            )));
            continue;
        }
        let found = match records::find(desc, schema) {
            Ok(found) => found,
            // Asked for by name: assume the body is the list, and say so.
            Err(reason) if schema.is_none() && !patterns.is_empty() => Records {
                selector: None,
                item: None,
                why: format!("{reason}: the body is assumed to be the list"),
                sure: false,
            },
            Err(reason) => {
                skipped.push(skip(reason));
                continue;
            }
        };
        candidates.push(Candidate {
            op,
            records: found,
            selected_by_name: !patterns.is_empty(),
        });
    }
    let parents = link_parents(desc, &candidates, &mut skipped);
    let names = unique_names(&candidates, &parents);
    let auth_needed: Vec<Option<&Vec<Vec<String>>>> = parents
        .iter()
        .zip(&candidates)
        .filter(|(p, _)| p.is_some())
        .map(|(_, c)| c.op.security.as_ref())
        .collect();
    // Parents are planned before their children (shorter paths first), whose disposition
    // depends on whether the parent is incremental; the resources keep the description's order.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| candidates[i].op.path.len());
    let mut planned: Vec<(usize, ResourcePlan)> = Vec::new();
    for i in order {
        let c = &candidates[i];
        let Some(link) = &parents[i] else { continue };
        let parent = link
            .as_ref()
            .map(|(p, fields)| (names[*p].clone(), fields.clone()));
        let parent_cursor = link
            .as_ref()
            .and_then(|(p, _)| resources_cursor(&planned, &names[*p]));
        let resource = plan(desc, c, &names[i], parent, parent_cursor, &options.source);
        planned.push((i, resource));
    }
    planned.sort_by_key(|(i, _)| *i);
    let resources = planned.into_iter().map(|(_, r)| r).collect();
    let auth = auth::choose(api, &auth_needed, &options.source)?;
    Ok(Proposal {
        source: options.source.clone(),
        title: api.title.clone(),
        base_url: api.server.clone(),
        auth,
        resources,
        skipped,
        not_get,
    })
}

/// Whether the resource named `name`, planned already, loads incrementally (itself or
/// through its own parent).
fn resources_cursor(planned: &[(usize, ResourcePlan)], name: &str) -> Option<bool> {
    planned
        .iter()
        .find(|(_, r)| r.name == name)
        .map(|(_, r)| r.cursor.is_some() || r.disposition.0 != "replace")
}

/// Where each candidate's path parameters come from: `None` to drop it (recorded in
/// `skipped`), `Some(None)` for a top-level resource, `Some(Some((parent, [(param, field)])))`
/// for a dependent one. A parent comes before its children in `candidates` order or not, so
/// parents are settled shortest path first.
fn link_parents(
    desc: &Description,
    candidates: &[Candidate<'_>],
    skipped: &mut Vec<Skipped>,
) -> Vec<Option<ParentLink>> {
    let mut links: Vec<Option<ParentLink>> = vec![None; candidates.len()];
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| candidates[i].op.path.len());
    for i in order {
        let c = &candidates[i];
        let params = path_params(&c.op.path);
        if params.is_empty() {
            links[i] = Some(None);
            continue;
        }
        // The parent is the collection at the path before the first parameter.
        let first = format!("/{{{}}}", params[0]);
        let prefix = c.op.path.split(&first).next().unwrap_or("");
        let parent = candidates
            .iter()
            .position(|p| p.op.path == prefix)
            .filter(|&p| matches!(links[p], Some(None) | Some(Some(_))));
        let mapped: Option<Vec<(String, String)>> = parent.and_then(|p| {
            params
                .iter()
                .map(|param| {
                    parent_field(desc, candidates[p].records.item, param, prefix)
                        .map(|f| (param.clone(), f))
                })
                .collect()
        });
        match (parent, mapped) {
            (Some(p), Some(fields)) => links[i] = Some(Some((p, fields))),
            _ if c.selected_by_name => links[i] = Some(None),
            _ => {
                let list: Vec<String> = params.iter().map(|p| format!("`{{{p}}}`")).collect();
                skipped.push(Skipped {
                    endpoint: format!("GET {}", c.op.path),
                    reason: format!(
                        "needs path parameter {}, which no listed collection's records provide",
                        list.join(", ")
                    ),
                });
            }
        }
    }
    links
}

/// The field of a parent's records that fills path parameter `param`: the same name, or `id`
/// for `id`, `user_id`, `userId` under `/users`.
fn parent_field(
    desc: &Description,
    item: Option<Node<'_>>,
    param: &str,
    parent_path: &str,
) -> Option<String> {
    let props: Vec<String> = json_schema::properties(desc, item?)
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    if props.iter().any(|p| p == param) {
        return Some(param.to_string());
    }
    let words = normalize_identifier(param);
    let parent = base_name(parent_path);
    let singular = parent.trim_end_matches('s');
    // `{id}`, `{user_id}`, `{userId}`, or Stripe's `{customer}` under `/customers`.
    let names_parent = words == "id"
        || words == singular
        || words == format!("{singular}_id")
        || words == format!("{parent}_id");
    (names_parent && props.iter().any(|p| p == "id")).then(|| "id".to_string())
}

/// The `{name}` parameters of a path, in order.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// The last literal segment of a path, normalised: `/v1/customers` → `customers`.
fn base_name(path: &str) -> String {
    path.split('/')
        .rev()
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .map(normalize_identifier)
        .unwrap_or_else(|| "root".into())
}

/// Unique names: the last segment, else the path's meaningful segments, else a number.
fn unique_names(candidates: &[Candidate<'_>], links: &[Option<ParentLink>]) -> Vec<String> {
    let long = |path: &str| {
        let parts: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .map(normalize_identifier)
            .filter(|s| !VERSION_SEGMENTS.contains(&s.as_str()))
            .collect();
        if parts.is_empty() {
            "root".into()
        } else {
            parts.join("_")
        }
    };
    let short: Vec<String> = candidates.iter().map(|c| base_name(&c.op.path)).collect();
    let mut names: Vec<String> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let clash = short
                .iter()
                .enumerate()
                .any(|(j, s)| j != i && *s == short[i] && links[j].is_some());
            // `/gists/starred` is a view of `/gists`: `gists_starred`, not `starred`.
            let view_of_another = !c.op.path.contains('{')
                && candidates.iter().enumerate().any(|(j, other)| {
                    j != i
                        && links[j].is_some()
                        && c.op.path.starts_with(&format!("{}/", other.op.path))
                });
            if clash || view_of_another {
                long(&c.op.path)
            } else {
                short[i].clone()
            }
        })
        .collect();
    for i in 0..names.len() {
        let mut n = 2;
        let base = names[i].clone();
        while names[..i].contains(&names[i]) {
            names[i] = format!("{base}_{n}");
            n += 1;
        }
    }
    names
}

/// One resource's plan.
fn plan(
    desc: &Description,
    c: &Candidate<'_>,
    name: &str,
    parent: Option<(String, Vec<(String, String)>)>,
    parent_incremental: Option<bool>,
    source: &str,
) -> ResourcePlan {
    let schema = match &c.op.response {
        Response::Json { schema, .. } => *schema,
        _ => None,
    };
    let paging = paging::detect(desc, c.op, schema, &c.records);
    let query: Vec<&Param<'_>> =
        c.op.params
            .iter()
            .filter(|p| p.location == "query" && !paging.params_used.contains(&p.name))
            .collect();
    let cursor = fields::cursor(desc, &query, c.records.item);
    let key = fields::primary_key(desc, c.records.item, name);
    let mut params = Vec::new();
    if let Some((size_param, size, why)) = &paging.page_size {
        params.push((size_param.clone(), ParamValue::Number(*size), why.clone()));
    }
    for p in query.iter().filter(|p| p.required) {
        if cursor.as_ref().is_some_and(|cur| cur.value.param == p.name) {
            continue;
        }
        params.push(required_param(desc, p, source));
    }
    let mut path = c.op.path.clone();
    if let Some((parent_name, fields)) = &parent {
        for (param, field) in fields {
            path = path.replace(
                &format!("{{{param}}}"),
                &format!("{{resources.{parent_name}.{field}}}"),
            );
        }
    }
    for param in path_params(&path)
        .into_iter()
        .filter(|p| !p.starts_with("resources."))
    {
        let var = format!("{}_{}", source, normalize_identifier(&param)).to_ascii_uppercase();
        path = path.replace(&format!("{{{param}}}"), &format!("${{{var}}}"));
    }
    let disposition = disposition(&key, &cursor, parent_incremental);
    let fields = c
        .records
        .item
        .map(|item| {
            json_schema::properties(desc, item)
                .into_iter()
                .map(|(n, _)| n.to_string())
                .collect()
        })
        .unwrap_or_default();
    ResourcePlan {
        name: name.to_string(),
        endpoint: format!("GET {}", c.op.path),
        path,
        params,
        selector: Choice {
            value: c.records.selector.clone(),
            why: c.records.why.clone(),
            sure: c.records.sure,
        },
        paging,
        key,
        cursor,
        disposition,
        parent,
        notes: Vec::new(),
        fields,
    }
}

/// A required query parameter's value: its default, its first allowed value, or a
/// placeholder the user must set.
fn required_param(desc: &Description, p: &Param<'_>, source: &str) -> (String, ParamValue, String) {
    let schema = p.schema.and_then(|s| desc.follow(s)).map(|s| s.value);
    let given = schema.and_then(|s| s.get("default").or_else(|| s.pointer("/enum/0")));
    let value = match given {
        Some(serde_json::Value::Number(n)) if n.as_u64().is_some() => {
            ParamValue::Number(n.as_u64().unwrap_or_default())
        }
        Some(serde_json::Value::String(s)) => ParamValue::Text(s.clone()),
        Some(other) => ParamValue::Text(other.to_string()),
        None => {
            let var = format!("{}_{}", source, normalize_identifier(&p.name)).to_ascii_uppercase();
            return (
                p.name.clone(),
                ParamValue::Placeholder(var),
                format!("FILL IN: required by the API{}", describe(&p.description)),
            );
        }
    };
    let why = if schema.and_then(|s| s.get("default")).is_some() {
        "required; the description's default"
    } else {
        "required; the first value the description allows"
    };
    (p.name.clone(), value, why.to_string())
}

/// `: <first sentence>` of a parameter's description, for the comment.
fn describe(text: &str) -> String {
    let first = text.split(['\n', '.']).next().unwrap_or("").trim();
    match first {
        "" => String::new(),
        s if s.chars().count() > 80 => format!(": {}...", s.chars().take(80).collect::<String>()),
        s => format!(": {s}"),
    }
}

/// How a resource loads: merge what changed, append new records, or replace the whole list.
fn disposition(
    key: &Option<Choice<String>>,
    cursor: &Option<Choice<Cursor>>,
    parent_incremental: Option<bool>,
) -> (&'static str, String) {
    let incremental = cursor.is_some() || parent_incremental == Some(true);
    match (incremental, key.is_some()) {
        (true, true) => (
            "merge",
            "incremental with a primary key: changed records replace their old rows".into(),
        ),
        (true, false) => (
            "append",
            "incremental without a primary key: new records are added".into(),
        ),
        (false, _) => (
            "replace",
            "not incremental: each sync reads the whole list".into(),
        ),
    }
}

/// A `*` glob as an anchored regex.
fn glob(pattern: &str) -> Result<Regex, String> {
    let body = regex::escape(pattern).replace(r"\*", ".*");
    Regex::new(&format!("^{body}$")).map_err(|e| format!("--select `{pattern}`: {e}"))
}

//! One entry of a `rest_api:` block's `resources:`: the endpoint it fetches and the table it
//! loads, validated beside its structs. These documented structs are the reference for it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{expand_paginator_and_auth, url_problem, written};
use super::incremental::IncrementalConfig;
use super::paginate::config::PaginationConfig;
use crate::hints::{
    AbsentDeletes, ColumnHint, ColumnHints, ContractConfig, Disposition, MergeHints,
    WriteDisposition,
};
use crate::normalize::naming::{normalize_identifier, normalize_path};
use crate::source::CheckpointInterval;
use crate::source::config_problem::{Problem, all_under, is_blank, keys};
use crate::source::json_path;

/// One entry of `resources:`: an endpoint that becomes one table. A bare string is a resource
/// whose name and path are that string.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("paginator", "pagination")]))]
pub struct ResourceConfig {
    /// Name of the resource and, normalised, of its table. Example: `name: users`
    pub name: String,
    /// Path appended to `base_url` (or an absolute URL), or dlt's endpoint mapping. Default: the
    /// name. Examples: `endpoint: /users`,
    /// `endpoint: {path: "posts/{resources.posts.id}/comments", params: {per_page: 100}}`
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// HTTP method. Example: `method: GET`
    #[serde(default)]
    pub method: Option<HttpMethod>,
    /// Query parameters; `${VAR}` is replaced. Example: `params: {status: completed}`
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Extra headers for this resource only. Example: `headers: {Accept: application/json}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How to fetch the next page. Default: the source's `paginator`, else detected from the
    /// first response. Example: `pagination: {type: page_number, param: page, start: 1}`
    #[serde(default, alias = "paginator")]
    pub pagination: Option<PaginationConfig>,
    /// JSONPath to the list of rows in a response. Default: detected (a top-level list, else the
    /// first list under `data`, `items`, `results`, ...). Example: `data_selector: data.items`
    #[serde(default)]
    pub data_selector: Option<String>,
    /// Table name, if not the resource name. Names starting with `_dlt_` or `_dango_` are
    /// reserved. Resources of one source share a table only if each names it here (and they
    /// agree on `write_disposition` and keys). Example: `table_name: crm_users`
    #[serde(default)]
    pub table_name: Option<String>,
    /// How rows are applied to the table: `append`, `replace`, `merge` (Default; by
    /// delete-insert), or dlt's mapping with a merge strategy. Example: `write_disposition:
    /// {disposition: merge, strategy: scd2}`
    #[serde(default)]
    pub write_disposition: Option<Disposition>,
    /// Column(s) identifying a row, for `merge`. Default: `id`. Example: `primary_key: [org, id]`
    #[serde(default)]
    pub primary_key: Option<PrimaryKey>,
    /// Column(s) whose old rows a `merge` replaces wholesale. Example: `merge_key: day`
    #[serde(default)]
    pub merge_key: Option<PrimaryKey>,
    /// Records that stop appearing are deleted (Dango's, beyond dlt): for a `merge` resource
    /// that reads its whole collection every sync, rows whose key did not come are removed
    /// (`hard`) or marked with `_dango_deleted_at` (`soft`), unless that is more than
    /// `max_ratio` of the table. Example: `deletes: {detect: absent, mode: hard, max_ratio: 0.2}`
    #[serde(default)]
    pub deletes: Option<AbsentDeletes>,
    /// Levels of nesting turned into child tables; deeper data is stored as JSON.
    /// Example: `max_table_nesting: 1`
    #[serde(default)]
    pub max_table_nesting: Option<usize>,
    /// `false` fetches the resource only to feed its dependent resources. Default: `true`.
    #[serde(default = "default_true")]
    pub selected: bool,
    /// Load only records newer than the last sync's (dlt's place is `endpoint.incremental`).
    /// Example: `incremental: {cursor_path: updated_at, initial_value: "2024-01-01T00:00:00Z"}`
    #[serde(default)]
    pub incremental: Option<IncrementalConfig>,
    /// Fields of the parent record copied into each record of a dependent resource, as
    /// `_<parent>_<field>`. Example: `include_from_parent: [title]`
    #[serde(default)]
    pub include_from_parent: Vec<String>,
    /// How often a long sync of it commits what it loaded with where it stands, so a sync
    /// killed midway resumes there (over the source's `checkpoint`; default every 100,000
    /// records, 30 s apart at least; `{rows: N}`: exactly every N). Examples:
    /// `checkpoint: {rows: 50000}`, `checkpoint: false`
    #[serde(default)]
    pub checkpoint: Option<CheckpointConfig>,
    /// Declared columns of the table (dlt's column hints), by column name as it lands (nested
    /// fields flattened: `address__city`). Example:
    /// `columns: {price: {data_type: decimal}, external_id: {data_type: text}, email: {nullable: false}}`
    #[serde(default)]
    pub columns: ColumnHints,
    /// Declared columns of child tables, by the child's path below the table in dlt's
    /// `parent__child` naming (dlt's `nested_hints`). Example:
    /// `nested_hints: {items: {columns: {sku: {data_type: text}}}}`
    #[serde(default)]
    pub nested_hints: BTreeMap<String, NestedHints>,
    /// What a sync may change of the tables' schema (over the source's `schema_contract`).
    /// Examples: `schema_contract: freeze`, `schema_contract: {columns: discard_value}`
    #[serde(default)]
    pub schema_contract: Option<ContractConfig>,
    /// SQL over the table's rows, named `data`, run on every batch before it loads: filters,
    /// computed, renamed and cast columns. Example:
    /// `transform: "SELECT id, lower(email) AS email, total * 100 AS total_cents FROM data WHERE status <> 'test'"`
    #[serde(default)]
    pub transform: Option<String>,
    /// The same for child tables, by table name. Example:
    /// `transforms: {orders__items: "SELECT * FROM data WHERE qty > 0"}`
    #[serde(default)]
    pub transforms: BTreeMap<String, String>,
}

/// `checkpoint:` of a resource or a source: off, on, or every so many records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(
    untagged,
    expecting = "`false`, `true` or `{rows: N}` with N at least 1"
)]
pub enum CheckpointConfig {
    /// `false`: commit once, at the end of the sync; `true`: the default interval.
    Switch(bool),
    /// Every so many records.
    Every(CheckpointEvery),
}

/// `checkpoint: {rows: N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointEvery {
    /// Records between checkpoints. Example: `rows: 50000`
    pub rows: std::num::NonZeroUsize,
}

/// Records between checkpoints unless `checkpoint:` says otherwise. The default interval is
/// paced (`warehouse::chunks`): a commit costs DuckDB a fraction of a second, which at 100,000
/// records a second would be a large share of a fast sync (docs/performance.md).
pub const DEFAULT_CHECKPOINT_ROWS: usize = 100_000;

impl CheckpointConfig {
    /// The checkpoints of a resource with this config over its source's; `None`: none.
    pub fn every(resource: Option<Self>, source: Option<Self>) -> Option<CheckpointInterval> {
        match resource.or(source) {
            None | Some(Self::Switch(true)) => Some(CheckpointInterval {
                rows: DEFAULT_CHECKPOINT_ROWS,
                paced: true,
            }),
            Some(Self::Switch(false)) => None,
            Some(Self::Every(e)) => Some(CheckpointInterval::exactly(e.rows.get())),
        }
    }
}

/// Hints of one child table (an entry of `nested_hints:`).
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NestedHints {
    /// Declared columns of the child table. Example: `columns: {sku: {data_type: text}}`
    #[serde(default)]
    pub columns: ColumnHints,
}

impl ResourceConfig {
    /// The table it loads: `table_name`, else its name, in dlt's naming.
    pub fn table(&self) -> String {
        normalize_identifier(self.table_name.as_deref().unwrap_or(&self.name))
    }

    /// Its table's (primary key, merge key), in dlt's naming: the resource's, else its
    /// columns' `primary_key`/`merge_key` hints. Dango's default: a `merge` without either key
    /// merges on `id`.
    pub fn keys(&self) -> (Vec<String>, Vec<String>) {
        let names = |k: &PrimaryKey| -> Vec<String> {
            k.columns()
                .iter()
                .map(|c| normalize_identifier(c))
                .collect()
        };
        let hinted = |is: fn(&ColumnHint) -> bool| -> Vec<String> {
            let columns = self.columns.iter().filter(|(_, h)| is(h));
            columns.map(|(c, _)| normalize_path(c)).collect()
        };
        let merge_key = match &self.merge_key {
            Some(mk) => names(mk),
            None => hinted(|h| h.merge_key),
        };
        let primary_key = match (
            &self.primary_key,
            hinted(|h| h.primary_key),
            self.disposition(),
        ) {
            (Some(pk), _, _) => names(pk),
            (None, pk, _) if !pk.is_empty() => pk,
            // scd2 tells records apart by their whole content, not by a key.
            (None, _, WriteDisposition::Merge)
                if merge_key.is_empty() && !self.merge_hints().is_scd2() =>
            {
                vec!["id".to_string()]
            }
            (None, _, _) => Vec::new(),
        };
        (primary_key, merge_key)
    }

    /// How its rows are applied (`merge` unless configured).
    pub fn disposition(&self) -> WriteDisposition {
        self.write_disposition
            .as_ref()
            .map_or_else(WriteDisposition::default, |d| d.kind)
    }

    /// Its merge strategy and the column hints that shape it (normalised names).
    pub fn merge_hints(&self) -> MergeHints {
        let configured = self.write_disposition.clone().unwrap_or_default();
        let first = |is: fn(&ColumnHint) -> bool| {
            self.columns
                .iter()
                .find(|(_, h)| is(h))
                .map(|(c, _)| normalize_path(c))
        };
        MergeHints {
            strategy: configured.strategy,
            hard_delete: first(|h| h.hard_delete),
            dedup_sort: self
                .columns
                .iter()
                .find_map(|(c, h)| Some((normalize_path(c), h.dedup_sort?))),
            deduplicated: configured.deduplicated,
            deletes: self.deletes,
        }
    }

    /// Its declared columns by table (its own and its child tables'), names normalised.
    pub fn declared_columns(&self) -> BTreeMap<String, ColumnHints> {
        let root = self.table();
        let normalized = |columns: &ColumnHints| {
            columns
                .iter()
                .map(|(name, hint)| (normalize_path(name), hint.clone()))
                .collect::<ColumnHints>()
        };
        let mut out = BTreeMap::new();
        if !self.columns.is_empty() {
            out.insert(root.clone(), normalized(&self.columns));
        }
        for (path, nested) in &self.nested_hints {
            let table = format!("{root}__{}", normalize_path(path));
            out.insert(table, normalized(&nested.columns));
        }
        out
    }

    /// Its transforms by table: `transform` for its own, `transforms` for child tables.
    pub fn table_transforms(&self) -> BTreeMap<String, String> {
        let own = self.transform.iter().map(|sql| (self.table(), sql.clone()));
        let children = self
            .transforms
            .iter()
            .map(|(table, sql)| (normalize_path(table), sql.clone()));
        own.chain(children).collect()
    }

    /// The endpoint mapping, with the tutorial's resource-level keys folded in (the endpoint's
    /// own keys win).
    pub fn effective_endpoint(&self) -> EndpointConfig {
        let mut ep = self.endpoint.clone().map(|e| e.0).unwrap_or_default();
        if ep.path.is_empty() {
            ep.path = self.name.clone();
        }
        ep.method = ep.method.or(self.method);
        let mut params = self.params.clone();
        params.extend(ep.params);
        ep.params = params;
        let mut headers = self.headers.clone();
        headers.extend(ep.headers);
        ep.headers = headers;
        ep.paginator = ep.paginator.or_else(|| self.pagination.clone());
        ep.data_selector = ep.data_selector.or_else(|| self.data_selector.clone());
        ep.incremental = ep.incremental.or_else(|| self.incremental.clone());
        ep
    }
}

impl ResourceConfig {
    /// A resource entry as written, with dlt's shorthands expanded (a bare string is a
    /// resource of that name; paginators and auth as in [`super::config::RestApiConfig::expand_shorthand`])
    /// and `defaults` (`resource_defaults`) merged in as dlt merges them: shallow, except that
    /// `endpoint`, and its `params` and `json`, are merged one level deeper.
    pub fn expand_shorthand(written: Value, defaults: Option<&Value>) -> Value {
        let mut resource = match written {
            Value::String(name) => Map::from_iter([("name".to_string(), Value::String(name))]),
            Value::Object(map) => map,
            other => return other,
        };
        if let Some(Value::Object(defaults)) = defaults {
            resource = with_defaults(resource, defaults);
        }
        if let Some(Value::Object(ep)) = resource.get_mut("endpoint") {
            expand_paginator_and_auth(ep);
        }
        for key in super::config::PAGINATOR_KEYS {
            resource
                .get_mut(key)
                .map(PaginationConfig::expand_shorthand);
        }
        Value::Object(resource)
    }
}

/// `resource` over `defaults`, as dlt merges them (see [`ResourceConfig::expand_shorthand`]).
fn with_defaults(
    resource: Map<String, Value>,
    defaults: &Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = defaults.clone();
    let default_ep = endpoint_map(merged.remove("endpoint"));
    let mut resource = resource;
    let own_ep = endpoint_map(resource.remove("endpoint"));
    merged.extend(resource);
    if default_ep.is_none() && own_ep.is_none() {
        return merged;
    }
    let mut ep = default_ep.unwrap_or_default();
    for (key, value) in own_ep.unwrap_or_default() {
        match (key.as_str(), ep.get_mut(&key), value) {
            ("params" | "json", Some(Value::Object(base)), Value::Object(over)) => {
                base.extend(over)
            }
            (_, _, value) => {
                ep.insert(key, value);
            }
        }
    }
    merged.insert("endpoint".into(), Value::Object(ep));
    merged
}

/// An endpoint as a mapping (a bare path becomes `{path: ...}`).
fn endpoint_map(endpoint: Option<Value>) -> Option<Map<String, Value>> {
    match endpoint? {
        Value::String(path) => Some(Map::from_iter([("path".to_string(), Value::String(path))])),
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Checks of a resource's values that cannot work. Its transforms are checked by the project,
/// which knows the transform stage (`source/` must not).
impl ResourceConfig {
    /// Values of the table it loads that cannot work (an empty name or key, a column hint
    /// that names no type Dango loads), at paths under the resource.
    pub fn validate_table(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if is_blank(&self.name) {
            out.push(
                Problem::at(&["name"], "is empty: every resource needs a name")
                    .hint("e.g. `name: users`; it is also the table's name"),
            );
        }
        if self.table_name.as_deref().is_some_and(is_blank) {
            out.push(
                Problem::at(&["table_name"], "is empty")
                    .hint("leave it out to name the table after the resource"),
            );
        }
        out.extend(self.key_problems());
        out.extend(self.merge_problems());
        out.extend(self.column_hint_problems());
        out
    }

    /// Values of how it is fetched that cannot work (an endpoint Dango cannot fetch, a
    /// JSONPath that does not parse, its paginator's), at paths under the resource. `raw` is
    /// the resource as written (with `resource_defaults` merged in), to point at the key the
    /// user wrote.
    pub fn validate_request(&self, raw: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        let ep = self.effective_endpoint();
        let path_at = match raw.get("endpoint") {
            Some(Value::Object(_)) => keys(&["endpoint", "path"]),
            Some(_) => keys(&["endpoint"]),
            None => keys(&["name"]),
        };
        out.extend(url_problem(&ep.path, false).map(|p| p.under(&path_at)));
        let endpoint = raw.get("endpoint").filter(|e| e.is_object());
        let paginator_at = match written(endpoint, &["paginator", "pagination"]) {
            Some(key) => keys(&["endpoint", key]),
            None => {
                keys(&[written(Some(raw), &["pagination", "paginator"]).unwrap_or("pagination")])
            }
        };
        let selector_at = match written(endpoint, &["data_selector"]) {
            Some(_) => keys(&["endpoint", "data_selector"]),
            None => keys(&["data_selector"]),
        };
        if let Some(s) = &ep.data_selector {
            out.extend(json_path::problem(s).map(|p| p.under(&selector_at)));
        }
        if let Some(p) = &ep.paginator {
            out.extend(all_under(p.validate(), &paginator_at));
        }
        if let Some(inc) = &ep.incremental {
            let at = match written(endpoint, &["incremental"]) {
                Some(_) => keys(&["endpoint", "incremental"]),
                None => keys(&["incremental"]),
            };
            out.extend(all_under(inc.validate(), &at));
        }
        out
    }

    /// Column hints (its own and its child tables') whose `name` is not their key, or that
    /// name no type Dango loads.
    fn column_hint_problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let nested = self.nested_hints.iter().flat_map(|(path, n)| {
            n.columns.iter().map(move |(c, h)| {
                (
                    vec!["nested_hints", path.as_str(), "columns", c.as_str()],
                    h,
                )
            })
        });
        let own = self
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
        out
    }
}

/// dlt's `endpoint:` mapping.
#[derive(Debug, Clone, PartialEq, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("pagination", "paginator")]))]
pub struct EndpointConfig {
    /// Path relative to `base_url`, or an absolute URL; may use `{resources.<parent>.<field>}`.
    /// Example: `path: /users`
    #[serde(default)]
    pub path: String,
    /// Example: `method: POST`
    #[serde(default)]
    pub method: Option<HttpMethod>,
    /// Example: `params: {per_page: 100}`
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// JSON body (POST). Example: `json: {query: {status: open}}`
    #[serde(default)]
    pub json: Option<Value>,
    /// Example: `headers: {Accept: application/json}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Example: `data_selector: $.payload.items`
    #[serde(default)]
    pub data_selector: Option<String>,
    /// Example: `paginator: {type: cursor, cursor_path: meta.next, cursor_param: after}`
    #[serde(default, alias = "pagination")]
    pub paginator: Option<PaginationConfig>,
    /// Responses to skip instead of failing. Example:
    /// `response_actions: [{status_code: 404, action: ignore}, {content: "not found", action: ignore}]`
    #[serde(default)]
    pub response_actions: Vec<ResponseAction>,
    /// Example: `incremental: {cursor_path: updated_at, initial_value: "2024-01-01T00:00:00Z"}`
    #[serde(default)]
    pub incremental: Option<IncrementalConfig>,
}

/// A path, or an [`EndpointConfig`] mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint(pub EndpointConfig);

impl schemars::JsonSchema for Endpoint {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Endpoint".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mapping = generator.subschema_for::<EndpointConfig>();
        schemars::json_schema!({
            "description": "A path such as `/users`, or a mapping with `path`.",
            "anyOf": [{"type": "string"}, mapping],
        })
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PathOrMapping;
        impl<'de> serde::de::Visitor<'de> for PathOrMapping {
            type Value = EndpointConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path such as /users, or a mapping with `path`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EndpointConfig {
                    path: v.to_string(),
                    ..EndpointConfig::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                EndpointConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(PathOrMapping).map(Endpoint)
    }
}

/// One of `response_actions:`: when a response matches, do `action` instead of failing.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseAction {
    /// Status to match. Example: `status_code: 404`
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Text the body must contain. Example: `content: "not found"`
    #[serde(default)]
    pub content: Option<String>,
    /// What to do; `ignore` skips the response (no records, no further pages).
    pub action: ResponseActionKind,
}

/// What a matching response action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseActionKind {
    /// Skip the response.
    Ignore,
}

/// HTTP methods a resource may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[schemars(transform = crate::source::config_schema::MoreValues(&["get", "post"]))]
pub enum HttpMethod {
    /// `GET` (the default).
    #[default]
    #[serde(alias = "get")]
    GET,
    /// `POST`, with `params` in the query string.
    #[serde(alias = "post")]
    POST,
}

/// A primary key: one column name or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PrimaryKey {
    /// `primary_key: id`
    One(String),
    /// `primary_key: [org_id, id]`
    Many(Vec<String>),
}

impl PrimaryKey {
    /// The key's column names, in order.
    pub fn columns(&self) -> Vec<String> {
        match self {
            Self::One(c) => vec![c.clone()],
            Self::Many(cs) => cs.clone(),
        }
    }
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::config_problem::render_path;
    use serde_json::json;

    fn resource(v: Value) -> Vec<Problem> {
        let res: ResourceConfig = serde_json::from_value(v.clone()).unwrap();
        let mut problems = res.validate_table();
        problems.extend(res.validate_request(&v));
        problems
    }

    fn paths(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(|p| render_path(&p.path)).collect()
    }

    #[test]
    fn bare_strings_become_resources() {
        assert_eq!(
            ResourceConfig::expand_shorthand(json!("posts"), None),
            json!({"name": "posts"})
        );
    }

    #[test]
    fn defaults_merge_like_dlt() {
        let defaults = json!({
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {"params": {"per_page": 100, "state": "open"}, "paginator": "header_link"}
        });
        let resource = json!({
            "name": "issues",
            "write_disposition": "append",
            "endpoint": {"path": "issues", "params": {"state": "all"}}
        });
        let merged = ResourceConfig::expand_shorthand(resource, Some(&defaults));
        assert_eq!(
            merged,
            json!({
                "primary_key": "id",
                "write_disposition": "append",
                "name": "issues",
                "endpoint": {
                    "params": {"per_page": 100, "state": "all"},
                    "paginator": {"type": "header_link"},
                    "path": "issues"
                }
            })
        );
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
}

//! The `rest_api:` block of a source in `.dango/sources.yml`: client, resources, endpoints and
//! response actions. These documented structs are the reference for the block; each
//! paginator's settings are in [`super::paginate::config`], auth's in [`super::auth`] and
//! incremental loading's in [`super::incremental`].

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use serde::Deserialize;
use serde_json::Value;

pub use super::auth::AuthConfig;
pub use super::incremental::IncrementalConfig;
pub use super::paginate::config::*;
use crate::hints::{ColumnHint, ColumnHints, ContractConfig, WriteDisposition};
use crate::normalize::naming::{normalize_identifier, normalize_path};

/// `rest_api:` block of a source. Takes the tutorial's form (`base_url`, `headers` here) and
/// dlt's (`client: {base_url, headers, auth, paginator}`, `resource_defaults`) alike.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestApiConfig {
    /// Prefix of every resource's endpoint. Example: `base_url: "https://api.example.com/v1"`
    #[serde(default)]
    pub base_url: Option<String>,
    /// Headers sent with every request; `${VAR}` is replaced from the credentials.
    /// Example: `headers: {Authorization: "Bearer ${MY_API_TOKEN}"}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters sent with every request. Example: `params: {api_version: "2024-01"}`
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Authentication of every request. Example: `auth: {type: bearer, token: "${API_TOKEN}"}`
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Default paginator of the source's resources. Example: `paginator: header_link`
    #[serde(default, alias = "pagination")]
    pub paginator: Option<PaginationConfig>,
    /// dlt's form of `base_url`, `headers`, `auth` and `paginator`.
    #[serde(default)]
    pub client: Option<ClientConfig>,
    /// Requests per second across all the source's resources and pages; at least one an hour
    /// (`0.000278`). Example: `rate_limit: 10` or `rate_limit: {requests_per_second: 10, burst: 5}`
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Retries and timeouts of this source's requests.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Pages of one resource in flight at once, when the paginator knows them in advance (page
    /// numbers or offsets with a total). Still under `rate_limit`. Example: `concurrency: 8`
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
    /// What a sync may change of the tables' schema, for every resource that does not say.
    /// Examples: `schema_contract: freeze`, `schema_contract: {tables: freeze}`
    #[serde(default)]
    pub schema_contract: Option<ContractConfig>,
    /// The endpoints to load, one table each. Parsed one by one by the loader (after merging
    /// `resource_defaults` into each) so that every resource's mistakes are reported.
    #[serde(skip)]
    pub resources: Vec<ResourceConfig>,
}

/// Four pages in flight hide most of an API's latency without crowding it.
fn default_concurrency() -> NonZeroUsize {
    const { NonZeroUsize::new(4).expect("4 is not zero") }
}

impl RestApiConfig {
    /// `base_url` from either form.
    pub fn effective_base_url(&self) -> Option<&str> {
        self.base_url
            .as_deref()
            .or(self.client.as_ref().and_then(|c| c.base_url.as_deref()))
    }

    /// Headers from `client` overlaid with the top-level ones.
    pub fn effective_headers(&self) -> BTreeMap<String, String> {
        let mut headers = self
            .client
            .as_ref()
            .map(|c| c.headers.clone())
            .unwrap_or_default();
        headers.extend(self.headers.clone());
        headers
    }

    /// The source's authentication, from either form.
    pub fn effective_auth(&self) -> Option<&AuthConfig> {
        self.auth
            .as_ref()
            .or(self.client.as_ref().and_then(|c| c.auth.as_ref()))
    }

    /// The source's default paginator, from either form.
    pub fn effective_paginator(&self) -> Option<&PaginationConfig> {
        self.paginator
            .as_ref()
            .or(self.client.as_ref().and_then(|c| c.paginator.as_ref()))
    }
}

/// dlt's `client:` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Example: `base_url: "https://api.github.com/repos/dlt-hub/dlt/"`
    #[serde(default)]
    pub base_url: Option<String>,
    /// Example: `headers: {Accept: application/json}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Example: `auth: {type: bearer, token: "${GITHUB_TOKEN}"}`
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Example: `paginator: {type: json_link, next_url_path: paging.next}`
    #[serde(default)]
    pub paginator: Option<PaginationConfig>,
}

/// `rate_limit:` as a number of requests per second, or with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RateLimitConfig {
    /// `rate_limit: 10`
    PerSecond(f64),
    /// `rate_limit: {requests_per_second: 10, burst: 5}`
    Detailed {
        /// Sustained rate.
        requests_per_second: f64,
        /// Requests allowed at once after a pause, at least 1. Default: 1.
        #[serde(default)]
        burst: Option<u32>,
    },
}

impl RateLimitConfig {
    /// (requests per second, burst)
    pub fn rate_and_burst(&self) -> (f64, u32) {
        match *self {
            Self::PerSecond(r) => (r, 1),
            Self::Detailed {
                requests_per_second,
                burst,
            } => (requests_per_second, burst.unwrap_or(1).max(1)),
        }
    }
}

/// Retry and timeout settings (dlt's defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per request, the first included (at least 1). Example: `max_attempts: 5`
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First backoff in seconds, doubled on every retry (with jitter). Example: `backoff_seconds: 1`
    #[serde(default = "default_backoff")]
    pub backoff_seconds: f64,
    /// Longest single wait, also the cap on `Retry-After`; at most a day.
    /// Example: `max_backoff_seconds: 60`
    #[serde(default = "default_max_backoff")]
    pub max_backoff_seconds: f64,
    /// Timeout of one request in seconds, from 0.1 to 86400. Example: `timeout_seconds: 60`
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: default_attempts(),
            backoff_seconds: default_backoff(),
            max_backoff_seconds: default_max_backoff(),
            timeout_seconds: default_timeout(),
        }
    }
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> f64 {
    1.0
}
fn default_max_backoff() -> f64 {
    60.0
}
fn default_timeout() -> f64 {
    60.0
}

/// One entry of `resources:`: an endpoint that becomes one table. A bare string is a resource
/// whose name and path are that string.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// How rows are applied to the table. Default: `merge`. Example: `write_disposition: append`
    #[serde(default)]
    pub write_disposition: Option<WriteDisposition>,
    /// Column(s) identifying a row, for `merge`. Default: `id`. Example: `primary_key: [org, id]`
    #[serde(default)]
    pub primary_key: Option<PrimaryKey>,
    /// Column(s) whose old rows a `merge` replaces wholesale. Example: `merge_key: day`
    #[serde(default)]
    pub merge_key: Option<PrimaryKey>,
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

/// Hints of one child table (an entry of `nested_hints:`).
#[derive(Debug, Clone, Deserialize, Default)]
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
            self.write_disposition.unwrap_or_default(),
        ) {
            (Some(pk), _, _) => names(pk),
            (None, pk, _) if !pk.is_empty() => pk,
            (None, _, WriteDisposition::Merge) if merge_key.is_empty() => vec!["id".to_string()],
            (None, _, _) => Vec::new(),
        };
        (primary_key, merge_key)
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

/// dlt's `endpoint:` mapping.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseActionKind {
    /// Skip the response.
    Ignore,
}

/// HTTP methods a resource may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

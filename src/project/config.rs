//! The `.dango/sources.yml` model. These documented structs are the reference for the file: every
//! field says what it does and shows an example. `loader.rs` turns the YAML into these.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::hints::WriteDisposition;

/// The whole `.dango/sources.yml` file.
#[derive(Debug, Clone, Default)]
pub struct SourcesFile {
    /// Every source in the file, enabled or not, in file order.
    pub sources: Vec<SourceConfig>,
}

/// One entry of `sources:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name of the source; selects it on the command line (`dango sync my_api`).
    /// Example: `name: my_api`
    pub name: String,
    /// Kind of source. Example: `type: rest_api`
    #[serde(rename = "type")]
    pub kind: SourceKind,
    /// Disabled sources are kept in the file but never synced. Default: `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Free text shown by `dango validate`. Example: `description: "Billing API"`
    #[serde(default)]
    pub description: Option<String>,
    /// Warehouse schema the source loads into. Default: `raw_<name>`.
    /// Example: `dataset_name: billing`
    #[serde(default)]
    pub dataset_name: Option<String>,
    /// Settings of a `type: rest_api` source.
    #[serde(default)]
    pub rest_api: Option<RestApiConfig>,
    /// Settings of a `type: dlt_native` source.
    #[serde(default)]
    pub dlt_native: Option<DltNativeConfig>,
    /// The source as written, before `${VAR}` substitution (see `loader::resolve_source`).
    #[serde(skip)]
    pub raw: Value,
}

fn default_true() -> bool {
    true
}

/// The kinds of source Dango knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A declarative REST API, configured entirely in YAML.
    RestApi,
    /// A Python dlt source from `custom_sources/`.
    DltNative,
}

/// `rest_api:` block of a source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestApiConfig {
    /// Prefix of every resource's endpoint. Example: `base_url: "https://api.example.com/v1"`
    pub base_url: String,
    /// Headers sent with every request; `${VAR}` is replaced from the credentials.
    /// Example: `headers: {Authorization: "Bearer ${MY_API_TOKEN}"}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters sent with every request. Example: `params: {api_version: "2024-01"}`
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Retries and timeouts of this source's requests.
    #[serde(default)]
    pub retry: RetryConfig,
    /// The endpoints to load, one table each. Parsed one by one by the loader so that every
    /// resource's mistakes are reported, not just the first.
    #[serde(skip)]
    pub resources: Vec<ResourceConfig>,
}

/// Retry and timeout settings (dlt's defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per request, the first included. Example: `max_attempts: 5`
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First backoff in seconds, doubled on every retry (with jitter). Example: `backoff_seconds: 1`
    #[serde(default = "default_backoff")]
    pub backoff_seconds: f64,
    /// Longest single wait, also the cap on `Retry-After`. Example: `max_backoff_seconds: 60`
    #[serde(default = "default_max_backoff")]
    pub max_backoff_seconds: f64,
    /// Timeout of one request in seconds. Example: `timeout_seconds: 60`
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

/// One entry of `resources:`: an endpoint that becomes one table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// Name of the resource and, normalised, of its table. Example: `name: users`
    pub name: String,
    /// Path appended to `base_url`, or an absolute URL. Example: `endpoint: /users`
    pub endpoint: String,
    /// HTTP method. Example: `method: GET`
    #[serde(default)]
    pub method: HttpMethod,
    /// Query parameters; `${VAR}` is replaced. Example: `params: {status: completed}`
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Extra headers for this resource only. Example: `headers: {Accept: application/json}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How to fetch the next page. Default: detected from the first response.
    /// Example: `pagination: {type: page_number, param: page, start: 1}`
    #[serde(default)]
    pub pagination: Option<PaginationConfig>,
    /// JSONPath to the list of rows in a response. Default: detected (a top-level list, else the
    /// first list under `data`, `items`, `results`, ...). Example: `data_selector: data.items`
    #[serde(default)]
    pub data_selector: Option<String>,
    /// Table name, if not the resource name. Example: `table_name: crm_users`
    #[serde(default)]
    pub table_name: Option<String>,
    /// How rows are applied to the table. Default: `merge`. Example: `write_disposition: append`
    #[serde(default)]
    pub write_disposition: Option<WriteDisposition>,
    /// Column(s) identifying a row, for `merge`. Default: `id`. Example: `primary_key: [org, id]`
    #[serde(default)]
    pub primary_key: Option<PrimaryKey>,
    /// Levels of nesting turned into child tables; deeper data is stored as JSON.
    /// Example: `max_table_nesting: 1`
    #[serde(default)]
    pub max_table_nesting: Option<usize>,
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

/// `pagination:` of a resource, chosen by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaginationConfig {
    /// `?page=1`, `?page=2`, ... until an empty page, `total_path` or `maximum_page`.
    PageNumber(PageNumberConfig),
    /// `?offset=0&limit=100`, `?offset=100&limit=100`, ... until a short page or the total.
    Offset(OffsetConfig),
    /// A cursor from each response is sent back as a parameter until it is missing.
    Cursor(CursorConfig),
    /// The next page's URL is in the response body.
    #[serde(alias = "json_link")]
    NextUrl(NextUrlConfig),
    /// The next page's URL is in the `Link` response header (`rel="next"`).
    HeaderLink(EmptyConfig),
    /// The endpoint returns everything in one response.
    SinglePage(EmptyConfig),
    /// Detect the pagination from the first response (the default).
    Auto(EmptyConfig),
}

/// Settings of paginators that take none.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyConfig {}

/// `type: page_number`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageNumberConfig {
    /// Query parameter carrying the page number. Example: `param: page`
    #[serde(default = "default_page_param", alias = "page_param")]
    pub param: String,
    /// Number of the first page. Example: `start: 1`
    #[serde(default = "default_one", alias = "base_page")]
    pub start: u64,
    /// Page size to request, if the API takes one. Example: `page_size: 100`
    #[serde(default)]
    pub page_size: Option<u64>,
    /// Query parameter carrying `page_size`. Example: `page_size_param: per_page`
    #[serde(default = "default_page_size_param")]
    pub page_size_param: String,
    /// JSONPath to the total number of pages in the response. Example: `total_path: meta.pages`
    #[serde(default)]
    pub total_path: Option<String>,
    /// Last page to fetch, whatever the API says. Example: `maximum_page: 50`
    #[serde(default)]
    pub maximum_page: Option<u64>,
}

/// `type: offset`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsetConfig {
    /// Query parameter carrying the offset. Example: `param: offset`
    #[serde(default = "default_offset_param", alias = "offset_param")]
    pub param: String,
    /// Query parameter carrying the page size. Example: `limit_param: limit`
    #[serde(default = "default_limit_param")]
    pub limit_param: String,
    /// Rows per page. Example: `limit: 100`
    #[serde(default = "default_limit")]
    pub limit: u64,
    /// Offset of the first page. Example: `start: 0`
    #[serde(default, alias = "offset")]
    pub start: u64,
    /// JSONPath to the total number of rows in the response. Example: `total_path: total`
    #[serde(default)]
    pub total_path: Option<String>,
    /// Largest offset to request. Example: `maximum_offset: 10000`
    #[serde(default)]
    pub maximum_offset: Option<u64>,
}

/// `type: cursor`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorConfig {
    /// Query parameter the cursor is sent in. Example: `param: cursor`
    #[serde(default = "default_cursor_param", alias = "cursor_param")]
    pub param: String,
    /// JSONPath to the next cursor in the response. Example: `cursor_path: meta.next_cursor`
    #[serde(default = "default_cursor_path")]
    pub cursor_path: String,
}

/// `type: next_url` (dlt: `json_link`)
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextUrlConfig {
    /// JSONPath to the next page's URL. Example: `next_url_path: next_page_url`
    #[serde(default = "default_next_url_path")]
    pub next_url_path: String,
}

fn default_page_param() -> String {
    "page".into()
}
fn default_page_size_param() -> String {
    "per_page".into()
}
fn default_one() -> u64 {
    1
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_limit() -> u64 {
    100
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn default_cursor_path() -> String {
    "next_cursor".into()
}
fn default_next_url_path() -> String {
    "next".into()
}

/// `dlt_native:` block of a source: a Python dlt source function.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DltNativeConfig {
    /// Python module, importable from the project root. Example: `source_module: custom_sources.my_api`
    pub source_module: String,
    /// The `@dlt.source` function in it. Example: `source_name: my_api_source`
    pub source_name: String,
}

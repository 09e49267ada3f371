//! The `paginator:` / `pagination:` settings of a REST resource, one variant per paginator.

use std::num::NonZeroU64;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::source::config_problem::{Problem, is_blank, keys};
use crate::source::json_path;

/// `pagination:` of a resource, chosen by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
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

impl PaginationConfig {
    /// The `max_pages` set on this paginator, if any.
    pub fn max_pages(&self) -> Option<NonZeroU64> {
        match self {
            Self::PageNumber(c) => c.max_pages,
            Self::Offset(c) => c.max_pages,
            Self::Cursor(c) => c.max_pages,
            Self::NextUrl(c) => c.max_pages,
            Self::HeaderLink(c) | Self::SinglePage(c) | Self::Auto(c) => c.max_pages,
        }
    }

    /// dlt's shorthand, on a paginator as written before it is typed: `header_link` is
    /// `{type: header_link}`.
    pub fn expand_shorthand(written: &mut Value) {
        if let Value::String(kind) = written {
            let kind = Value::String(std::mem::take(kind));
            *written = Value::Object(Map::from_iter([("type".to_string(), kind)]));
        }
    }

    /// Values its kind accepts but that cannot work (an empty parameter, pages of 0, a
    /// JSONPath that does not parse), at paths under the paginator. Every kind says what it
    /// checks: a new kind does not compile until it does.
    pub fn validate(&self) -> Vec<Problem> {
        match self {
            Self::PageNumber(c) => c.validate(),
            Self::Offset(c) => c.validate(),
            Self::Cursor(c) => c.validate(),
            Self::NextUrl(c) => c.validate(),
            Self::HeaderLink(c) | Self::SinglePage(c) | Self::Auto(c) => c.validate(),
        }
    }
}

/// A query parameter written empty: the page would be requested without it.
fn empty_param(field: &str, value: &str) -> Option<Problem> {
    is_blank(value).then(|| {
        Problem::at(
            &[field],
            "is empty: the page would be requested without a parameter",
        )
        .hint("name the query parameter the API reads, or leave it out for the default")
    })
}

/// The JSONPaths among `paths` (field, path if written) that do not parse, at their fields.
fn json_path_problems<'a>(
    paths: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> impl Iterator<Item = Problem> {
    paths
        .into_iter()
        .filter_map(|(field, path)| Some(json_path::problem(path?)?.under(&keys(&[field]))))
}

/// Settings of paginators that take nothing but the page cap every paginator has.
#[derive(Debug, Clone, PartialEq, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyConfig {
    /// Safety limit: the most pages one run of this paginator fetches; reaching it with more
    /// pages to come fails the sync instead of loading forever. Default: 1,000,000.
    /// Example: `max_pages: 500`
    #[serde(default, deserialize_with = "page_cap")]
    pub max_pages: Option<NonZeroU64>,
}

impl EmptyConfig {
    /// Nothing beyond `max_pages`, which refuses 0 as it is read (see `page_cap`).
    pub fn validate(&self) -> Vec<Problem> {
        Vec::new()
    }
}

/// `type: page_number`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("page_param", "param"), ("base_page", "start"), ("page", "start")]))]
pub struct PageNumberConfig {
    /// Query parameter carrying the page number. Example: `param: page`
    #[serde(default = "default_page_param", alias = "page_param")]
    pub param: String,
    /// Number of the first page. Example: `start: 1`
    #[serde(default = "default_one", alias = "base_page", alias = "page")]
    pub start: u64,
    /// Page size to request (at least 1), if the API takes one. Example: `page_size: 100`
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
    /// JSONPath to a boolean that is false on the last page. Example: `has_more_path: has_more`
    #[serde(default)]
    pub has_more_path: Option<String>,
    /// Stop at the first page without records. Default: `true`.
    #[serde(default = "default_true")]
    pub stop_after_empty_page: bool,
    /// Safety limit: the most pages one run of this paginator fetches; reaching it with more
    /// pages to come fails the sync instead of loading forever. Default: 1,000,000.
    /// Example: `max_pages: 500`
    #[serde(default, deserialize_with = "page_cap")]
    pub max_pages: Option<NonZeroU64>,
}

impl PageNumberConfig {
    /// Empty parameters, pages of 0 records, JSONPaths that do not parse.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = empty_param("param", &self.param).into_iter().collect();
        if self.page_size.is_some() {
            out.extend(empty_param("page_size_param", &self.page_size_param));
        }
        if self.page_size == Some(0) {
            out.push(
                Problem::at(
                    &["page_size"],
                    "must be at least 1: pages of 0 records never end",
                )
                .hint("e.g. `page_size: 100`, or leave it out to use the API's default"),
            );
        }
        out.extend(json_path_problems([
            ("total_path", self.total_path.as_deref()),
            ("has_more_path", self.has_more_path.as_deref()),
        ]));
        out
    }
}

/// `type: offset`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("offset_param", "param"), ("offset", "start")]))]
pub struct OffsetConfig {
    /// Query parameter carrying the offset. Example: `param: offset`
    #[serde(default = "default_offset_param", alias = "offset_param")]
    pub param: String,
    /// Query parameter carrying the page size. Example: `limit_param: limit`
    #[serde(default = "default_limit_param")]
    pub limit_param: String,
    /// Rows per page, at least 1. Example: `limit: 100`
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
    /// JSONPath to a boolean that is false on the last page. Example: `has_more_path: has_more`
    #[serde(default)]
    pub has_more_path: Option<String>,
    /// Stop at the first page without records. Default: `true`.
    #[serde(default = "default_true")]
    pub stop_after_empty_page: bool,
    /// Safety limit: the most pages one run of this paginator fetches; reaching it with more
    /// pages to come fails the sync instead of loading forever. Default: 1,000,000.
    /// Example: `max_pages: 500`
    #[serde(default, deserialize_with = "page_cap")]
    pub max_pages: Option<NonZeroU64>,
}

impl OffsetConfig {
    /// Empty parameters, a limit of 0, JSONPaths that do not parse.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = empty_param("param", &self.param).into_iter().collect();
        out.extend(empty_param("limit_param", &self.limit_param));
        if self.limit == 0 {
            out.push(
                Problem::at(
                    &["limit"],
                    "must be at least 1: with a limit of 0 the offset never moves and \
                     paging never ends",
                )
                .hint("e.g. `limit: 100`"),
            );
        }
        out.extend(json_path_problems([
            ("total_path", self.total_path.as_deref()),
            ("has_more_path", self.has_more_path.as_deref()),
        ]));
        out
    }
}

/// `type: cursor`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("cursor_param", "param")]))]
pub struct CursorConfig {
    /// Query parameter the cursor is sent in. Example: `param: cursor`
    #[serde(default = "default_cursor_param", alias = "cursor_param")]
    pub param: String,
    /// JSONPath to the next cursor in the response. Example: `cursor_path: meta.next_cursor`
    #[serde(default = "default_cursor_path")]
    pub cursor_path: String,
    /// JSONPath to a boolean that is false on the last page. Example: `has_more_path: has_more`
    #[serde(default)]
    pub has_more_path: Option<String>,
    /// Safety limit: the most pages one run of this paginator fetches; reaching it with more
    /// pages to come fails the sync instead of loading forever. Default: 1,000,000.
    /// Example: `max_pages: 500`
    #[serde(default, deserialize_with = "page_cap")]
    pub max_pages: Option<NonZeroU64>,
}

impl CursorConfig {
    /// An empty parameter, JSONPaths that do not parse.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = empty_param("param", &self.param).into_iter().collect();
        out.extend(json_path_problems([
            ("cursor_path", Some(self.cursor_path.as_str())),
            ("has_more_path", self.has_more_path.as_deref()),
        ]));
        out
    }
}

/// `type: next_url` (dlt: `json_link`)
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextUrlConfig {
    /// JSONPath to the next page's URL. Example: `next_url_path: next_page_url`
    #[serde(default = "default_next_url_path")]
    pub next_url_path: String,
    /// Safety limit: the most pages one run of this paginator fetches; reaching it with more
    /// pages to come fails the sync instead of loading forever. Default: 1,000,000.
    /// Example: `max_pages: 500`
    #[serde(default, deserialize_with = "page_cap")]
    pub max_pages: Option<NonZeroU64>,
}

impl NextUrlConfig {
    /// A JSONPath that does not parse.
    pub fn validate(&self) -> Vec<Problem> {
        json_path_problems([("next_url_path", Some(self.next_url_path.as_str()))]).collect()
    }
}

/// `max_pages`, refusing 0 with a message that names it (an error inside a paginator loses
/// the field's name on its way out of serde's tagged enum).
fn page_cap<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NonZeroU64>, D::Error> {
    let pages = Option::<u64>::deserialize(d)?;
    match pages {
        Some(0) => Err(serde::de::Error::custom(
            "`max_pages: 0` would fetch nothing: set 1 or more, or leave it out (default 1,000,000)",
        )),
        other => Ok(other.and_then(NonZeroU64::new)),
    }
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

fn default_true() -> bool {
    true
}

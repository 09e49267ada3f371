//! The `rest_api:` block of a source in `.dango/sources.yml`: client, rate limit and retries,
//! each validated beside its struct. These documented structs are the reference for the block;
//! a resource's settings are in [`super::resource_config`], each paginator's in
//! [`super::paginate::config`], auth's in [`super::auth`] and incremental loading's in
//! [`super::incremental`].

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use super::auth::AuthConfig;
pub use super::paginate::config::*;
pub use super::resource_config::*;
use crate::hints::ContractConfig;
use crate::source::config_problem::{Problem, all_under, keys};

/// Slowest rate limit accepted: one request an hour. Anything slower is a typo, not a rate (at
/// `1e-7` a sync of one page a resource would take months).
const MIN_RATE: f64 = 1.0 / 3600.0;
/// Shortest request timeout accepted, in seconds: no HTTP round trip finishes sooner.
const MIN_TIMEOUT: f64 = 0.1;
/// Longest timeout or wait accepted, in seconds: the client waits at most a day.
const MAX_WAIT: f64 = 86_400.0;

/// `rest_api:` block of a source. Takes the tutorial's form (`base_url`, `headers` here) and
/// dlt's (`client: {base_url, headers, auth, paginator}`, `resource_defaults`) alike.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("pagination", "paginator")]))]
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
    /// How often each resource's long sync commits a checkpoint it resumes from, unless the
    /// resource says. Examples: `checkpoint: {rows: 200000}`, `checkpoint: false`
    #[serde(default)]
    pub checkpoint: Option<super::resource_config::CheckpointConfig>,
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

impl RestApiConfig {
    /// Values of the block's own settings that cannot work (not its resources'): no base
    /// URL or one Dango cannot fetch, a rate limit, retry or paginator that cannot work. At
    /// paths under the block; `raw` is the block as written, to point at the key the user
    /// actually wrote.
    pub fn validate(&self, raw: Option<&Value>) -> Vec<Problem> {
        let mut out = Vec::new();
        let in_client = self.client.as_ref().is_some_and(|c| c.base_url.is_some());
        let base_at = match self.base_url.is_none() && in_client {
            true => keys(&["client", "base_url"]),
            false => keys(&["base_url"]),
        };
        match self.effective_base_url() {
            None => out.push(Problem {
                path: base_at,
                message: "missing `base_url` (or `client: {base_url: ...}`)".into(),
                hint: Some("e.g. base_url: https://api.example.com".into()),
            }),
            Some(url) => out.extend(url_problem(url, true).map(|p| p.under(&base_at))),
        }
        if let Some(limit) = &self.rate_limit {
            out.extend(all_under(limit.validate(), &keys(&["rate_limit"])));
        }
        out.extend(all_under(self.retry.validate(), &keys(&["retry"])));
        let paginator_at = match written(raw, &["paginator", "pagination"]) {
            Some(key) => Some(keys(&[key])),
            None if self.paginator.is_none() => Some(keys(&["client", "paginator"])),
            None => None,
        };
        if let (Some(p), Some(at)) = (self.effective_paginator(), paginator_at) {
            out.extend(all_under(p.validate(), &at));
        }
        out
    }
}

/// Keys whose value is a paginator, at the source and resource levels.
pub(super) const PAGINATOR_KEYS: [&str; 2] = ["paginator", "pagination"];

/// dlt's shorthands in the `paginator`/`pagination` and `auth` of a mapping as written.
pub(super) fn expand_paginator_and_auth(map: &mut Map<String, Value>) {
    for key in PAGINATOR_KEYS {
        map.get_mut(key).map(PaginationConfig::expand_shorthand);
    }
    map.get_mut("auth").map(AuthConfig::expand_shorthand);
}

impl RestApiConfig {
    /// dlt's shorthands in the source-level settings of a `rest_api` block as written (and
    /// its `client`'s), expanded before the block is typed; resources are expanded one by one
    /// (see [`ResourceConfig::expand_shorthand`]).
    pub fn expand_shorthand(rest: &mut Map<String, Value>) {
        expand_paginator_and_auth(rest);
        if let Some(Value::Object(client)) = rest.get_mut("client") {
            expand_paginator_and_auth(client);
        }
    }

    /// Fills the secret fields the `auth` blocks of a `rest_api` block as written (its own and
    /// its `client`'s) leave out, from `lookup(field)` (see [`AuthConfig::fill_secrets`]).
    pub fn fill_auth_secrets(
        rest: &mut Map<String, Value>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) {
        for (key, value) in rest.iter_mut() {
            let auth = match (key.as_str(), value) {
                ("auth", Value::Object(auth)) => Some(auth),
                ("client", Value::Object(client)) => {
                    client.get_mut("auth").and_then(Value::as_object_mut)
                }
                _ => None,
            };
            if let Some(auth) = auth {
                AuthConfig::fill_secrets(auth, lookup);
            }
        }
    }

    /// Its `auth`'s secret that is neither written nor found where dlt would look for it
    /// (checked once the source `source`'s secrets are filled in), at a path under the block.
    pub fn validate_secrets(&self, source: &str) -> Option<Problem> {
        let (auth, at) = match (&self.auth, &self.client) {
            (Some(auth), _) => (auth, keys(&["auth"])),
            (
                None,
                Some(ClientConfig {
                    auth: Some(auth), ..
                }),
            ) => (auth, keys(&["client", "auth"])),
            (None, _) => return None,
        };
        Some(auth.validate_secrets(source)?.under(&at))
    }
}

/// The key that `raw` (a mapping) spells one of `names` with, if any.
pub(super) fn written<'a>(raw: Option<&Value>, names: &[&'a str]) -> Option<&'a str> {
    let map = raw?.as_object()?;
    names.iter().copied().find(|k| map.contains_key(*k))
}

/// A URL Dango cannot fetch: not a URL, or not http(s). References to `${VAR}` are checked
/// once they are substituted (see `project::loader::resolve_source`). `base` says whether it
/// is the source's base URL (which must be absolute) rather than an endpoint (which may be a
/// path).
pub(super) fn url_problem(url: &str, base: bool) -> Option<Problem> {
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
        Ok(_) | Err(_) => None,
    }
}

/// dlt's `client:` block.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
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

    /// A rate slower than one request an hour (or not a number), a burst of 0; at paths under
    /// `rate_limit`.
    pub fn validate(&self) -> Vec<Problem> {
        let (rate, burst, rate_at): (f64, Option<u32>, &[&str]) = match *self {
            Self::PerSecond(r) => (r, None, &[]),
            Self::Detailed {
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
                        "{rate} requests per second is not a usable rate limit: it must be a \
                         number of at least {MIN_RATE:.6} (one request an hour)"
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
}

/// Retry and timeout settings (dlt's defaults).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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

impl RetryConfig {
    /// No attempt at all, a timeout no request can meet or longer than a day, a wait that is
    /// negative or longer than a day; at paths under `retry`.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.max_attempts == 0 {
            out.push(
                Problem::at(
                    &["max_attempts"],
                    "must be at least 1 (the first attempt counts)",
                )
                .hint("e.g. `max_attempts: 5`; `max_attempts: 1` turns retries off"),
            );
        }
        let t = self.timeout_seconds;
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
            ("backoff_seconds", self.backoff_seconds),
            ("max_backoff_seconds", self.max_backoff_seconds),
        ] {
            if !(0.0..=MAX_WAIT).contains(&value) {
                out.push(
                    Problem::at(
                        &[field],
                        format!(
                            "{value} seconds is not a wait: it must be between 0 and {MAX_WAIT} \
                             (a day)"
                        ),
                    )
                    .hint(format!("e.g. `{field}: 1`")),
                );
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::config_problem::render_path;

    fn paths(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(|p| render_path(&p.path)).collect()
    }

    #[test]
    fn auth_without_type_is_bearer() {
        let mut rest = serde_json::json!({"auth": {"token": "x"}})
            .as_object()
            .unwrap()
            .clone();
        RestApiConfig::expand_shorthand(&mut rest);
        assert_eq!(
            rest["auth"],
            serde_json::json!({"token": "x", "type": "bearer"})
        );
    }

    #[test]
    fn rates_and_waits_that_cannot_work() {
        let limit = RateLimitConfig::PerSecond(1e-7);
        assert_eq!(limit.validate().len(), 1);
        let limit = RateLimitConfig::PerSecond(1.0 / 3600.0);
        assert!(limit.validate().is_empty());
        let limit = RateLimitConfig::Detailed {
            requests_per_second: f64::NAN,
            burst: Some(0),
        };
        assert_eq!(paths(&limit.validate()), ["requests_per_second", "burst"]);
        let retry = RetryConfig {
            max_attempts: 0,
            backoff_seconds: -1.0,
            max_backoff_seconds: f64::INFINITY,
            timeout_seconds: 0.0,
        };
        assert_eq!(
            paths(&retry.validate()),
            [
                "max_attempts",
                "timeout_seconds",
                "backoff_seconds",
                "max_backoff_seconds"
            ]
        );
        assert!(RetryConfig::default().validate().is_empty());
    }
}

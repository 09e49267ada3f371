//! Authentication, in dlt's vocabulary: `bearer`, `api_key` (header or query), `http_basic` and
//! `oauth2_client_credentials` (token fetched on first use, cached until it expires, fetched again
//! after a 401 — once). Every secret is handed to the redactor, so none can reach a message.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::redact::Redactor;
use crate::source::config_problem::Problem;

/// `auth:` of a `client` or a resource's `endpoint`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthConfig {
    /// `Authorization: Bearer <token>`. Example: `auth: {type: bearer, token: "${API_TOKEN}"}`
    Bearer(BearerConfig),
    /// A key in a header or the query. Example:
    /// `auth: {type: api_key, name: X-API-Key, api_key: "${KEY}", location: header}`
    ApiKey(ApiKeyConfig),
    /// `Authorization: Basic ...`. Example:
    /// `auth: {type: http_basic, username: me, password: "${PASSWORD}"}`
    HttpBasic(HttpBasicConfig),
    /// OAuth2 client-credentials grant. Example: `auth: {type: oauth2_client_credentials,
    /// access_token_url: https://auth.example.com/token, client_id: "${ID}", client_secret: "${SECRET}"}`
    Oauth2ClientCredentials(OAuth2Config),
}

/// `type: bearer`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BearerConfig {
    /// The token. Default: `token` of `[sources.<source>]` in `.dlt/secrets.toml`.
    /// Example: `token: "${API_TOKEN}"`
    #[serde(default)]
    pub token: String,
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::source::config_schema::MoreValues(&["param"]))]
pub enum ApiKeyLocation {
    /// In a request header (the default).
    #[default]
    Header,
    /// In the query string.
    #[serde(alias = "param")]
    Query,
}

/// `type: api_key`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Header or parameter name. Default: `Authorization`. Example: `name: X-API-Key`
    #[serde(default = "default_key_name")]
    pub name: String,
    /// The key. Default: `api_key` of `[sources.<source>]` in `.dlt/secrets.toml`.
    /// Example: `api_key: "${API_KEY}"`
    #[serde(default)]
    pub api_key: String,
    /// `header` or `query`. Example: `location: query`
    #[serde(default)]
    pub location: ApiKeyLocation,
}

fn default_key_name() -> String {
    "Authorization".into()
}

/// `type: http_basic`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpBasicConfig {
    /// User name. Example: `username: reporting`
    pub username: String,
    /// Password. Default: `password` of `[sources.<source>]` in `.dlt/secrets.toml`.
    /// Example: `password: "${API_PASSWORD}"`
    #[serde(default)]
    pub password: String,
}

/// `type: oauth2_client_credentials`
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::source::config_schema::Aliases(&[("token_endpoint", "access_token_url")]))]
pub struct OAuth2Config {
    /// Token endpoint. Example: `access_token_url: https://auth.example.com/oauth/token`
    #[serde(alias = "token_endpoint")]
    pub access_token_url: String,
    /// Client id. Default: from `.dlt/secrets.toml`. Example: `client_id: "${CLIENT_ID}"`
    #[serde(default)]
    pub client_id: String,
    /// Client secret. Default: from `.dlt/secrets.toml`. Example: `client_secret: "${CLIENT_SECRET}"`
    #[serde(default)]
    pub client_secret: String,
    /// Extra form fields of the token request. Example: `access_token_request_data: {scope: read}`
    #[serde(default)]
    pub access_token_request_data: BTreeMap<String, String>,
    /// Token lifetime when the response has no `expires_in`. Example: `default_token_expiration: 3600`
    #[serde(default = "default_expiration")]
    pub default_token_expiration: u64,
}

fn default_expiration() -> u64 {
    3600
}

/// The `type:` of an auth block, read before the block is typed (to fill its secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AuthKind {
    Bearer,
    ApiKey,
    HttpBasic,
    Oauth2ClientCredentials,
}

impl AuthKind {
    /// Its fields that dlt resolves from its secrets when not given.
    fn secret_fields(self) -> &'static [&'static str] {
        match self {
            Self::Bearer => &["token"],
            Self::ApiKey => &["api_key"],
            Self::HttpBasic => &["username", "password"],
            Self::Oauth2ClientCredentials => &["client_id", "client_secret"],
        }
    }
}

/// The fields of auth `type` `kind` that dlt resolves from its secrets when the block leaves
/// them out (none for a type it does not have).
pub fn secret_fields(kind: &str) -> &'static [&'static str] {
    use serde::de::IntoDeserializer;
    let kind: Result<AuthKind, serde::de::value::Error> =
        AuthKind::deserialize(kind.into_deserializer());
    kind.map_or(&[], AuthKind::secret_fields)
}

impl AuthConfig {
    /// dlt's shorthand, on an `auth` block as written before it is typed: a mapping without a
    /// `type` is bearer. A bare `auth: bearer` is left to fail with a clear error, since a bare
    /// type has no credential.
    pub fn expand_shorthand(written: &mut Value) {
        if let Value::Object(auth) = written
            && !auth.contains_key("type")
        {
            auth.insert("type".into(), Value::String("bearer".into()));
        }
    }

    /// Fills the secret fields an `auth` block as written (its shorthand expanded) leaves out
    /// from `lookup(field)`, as dlt fills `dlt.secrets.value` arguments (e.g.
    /// `[sources.<source>] token = ...` in secrets.toml).
    pub fn fill_secrets(written: &mut Map<String, Value>, lookup: &dyn Fn(&str) -> Option<String>) {
        let kind = match written.get("type") {
            None => Some(AuthKind::Bearer),
            // An unknown type has no secrets to fill: typing the block reports it.
            Some(kind) => AuthKind::deserialize(kind).ok(),
        };
        for field in kind.map_or(&[][..], AuthKind::secret_fields) {
            let missing = written
                .get(*field)
                .is_none_or(|v| v.as_str().is_some_and(str::is_empty));
            if missing && let Some(value) = lookup(field) {
                written.insert(field.to_string(), Value::String(value));
            }
        }
    }

    /// Its `type:`. Every kind has one: a new kind does not compile until it says which of
    /// its fields are secrets dlt would fill.
    #[cfg(test)]
    fn kind(&self) -> AuthKind {
        match self {
            Self::Bearer(_) => AuthKind::Bearer,
            Self::ApiKey(_) => AuthKind::ApiKey,
            Self::HttpBasic(_) => AuthKind::HttpBasic,
            Self::Oauth2ClientCredentials(_) => AuthKind::Oauth2ClientCredentials,
        }
    }

    /// Registers every secret of this config with `redactor`.
    pub fn register_secrets(&self, redactor: &Redactor) {
        match self {
            Self::Bearer(c) => redactor.add(&c.token),
            Self::ApiKey(c) => redactor.add(&c.api_key),
            Self::HttpBasic(c) => redactor.add_basic(&c.username, &c.password),
            Self::Oauth2ClientCredentials(c) => {
                redactor.add(&c.client_secret);
                redactor.add(&c.client_id);
            }
        }
    }

    /// The name of a secret field that is still empty, if any. Every kind names its secrets:
    /// a new kind does not compile until it does.
    pub fn missing_secret(&self) -> Option<&'static str> {
        let secrets: &[(&'static str, &str)] = match self {
            Self::Bearer(c) => &[("token", &c.token)],
            Self::ApiKey(c) => &[("api_key", &c.api_key)],
            Self::HttpBasic(c) => &[("password", &c.password)],
            Self::Oauth2ClientCredentials(c) => &[
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
            ],
        };
        secrets
            .iter()
            .find(|(_, value)| value.is_empty())
            .map(|(field, _)| *field)
    }

    /// A secret that is neither written nor found where dlt would look for it, once the
    /// source `source`'s secrets are filled in; at a path under the `auth` block.
    pub fn validate_secrets(&self, source: &str) -> Option<Problem> {
        let field = self.missing_secret()?;
        let hint = format!(
            "write it as `{field}: \"${{MY_VAR}}\"`, or add `{field} = \"...\"` under \
             [sources.{source}] in .dlt/secrets.toml (or set SOURCES__{upper}__{field_upper})",
            upper = source.to_uppercase(),
            field_upper = field.to_uppercase()
        );
        Some(Problem::at(&[field], format!("auth `{field}` is not set")).hint(hint))
    }

    /// Which credential this is, for messages: never its value.
    pub fn describe(&self) -> String {
        match self {
            Self::Bearer(_) => "the bearer token (auth.token)".into(),
            Self::ApiKey(c) => format!("the API key in {} `{}`", location_name(c.location), c.name),
            Self::HttpBasic(c) => format!("HTTP basic auth for user `{}`", c.username),
            Self::Oauth2ClientCredentials(_) => {
                "the OAuth2 client credentials (client_id/client_secret)".into()
            }
        }
    }
}

fn location_name(l: ApiKeyLocation) -> &'static str {
    match l {
        ApiKeyLocation::Header => "header",
        ApiKeyLocation::Query => "query parameter",
    }
}

fn basic_value(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// What authentication adds to a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credential {
    /// Headers to set.
    pub headers: Vec<(String, String)>,
    /// Query parameters to add.
    pub query: Vec<(String, String)>,
}

/// Authentication state of one source: static credentials, or a cached OAuth2 token.
#[derive(Debug)]
pub struct Authenticator {
    config: AuthConfig,
    token: Mutex<Option<(String, Instant)>>,
    redactor: Redactor,
}

/// Why an OAuth2 token could not be obtained.
#[derive(Debug, thiserror::Error)]
#[error("fetching an OAuth2 token from {url} failed: {reason}")]
pub struct TokenError {
    /// The token endpoint (redacted).
    pub url: String,
    /// What happened.
    pub reason: String,
    /// The endpoint's HTTP status, when it answered with an error.
    pub status: Option<u16>,
}

impl Authenticator {
    /// An authenticator for `config`; its secrets are registered with `redactor` now.
    pub fn new(config: AuthConfig, redactor: Redactor) -> Self {
        config.register_secrets(&redactor);
        Self {
            config,
            token: Mutex::new(None),
            redactor,
        }
    }

    /// The configuration, for messages.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Whether a 401 may be cured by fetching a new token.
    pub fn refreshable(&self) -> bool {
        matches!(self.config, AuthConfig::Oauth2ClientCredentials(_))
    }

    /// Forgets a cached token, after the API rejected it.
    pub async fn invalidate(&self) {
        *self.token.lock().await = None;
    }

    /// The headers and query parameters to send.
    pub async fn credential(&self, http: &reqwest::Client) -> Result<Credential, TokenError> {
        let mut out = Credential::default();
        match &self.config {
            AuthConfig::Bearer(c) => {
                out.headers
                    .push(("Authorization".into(), format!("Bearer {}", c.token)));
            }
            AuthConfig::ApiKey(c) => match c.location {
                ApiKeyLocation::Header => out.headers.push((c.name.clone(), c.api_key.clone())),
                ApiKeyLocation::Query => out.query.push((c.name.clone(), c.api_key.clone())),
            },
            AuthConfig::HttpBasic(c) => {
                out.headers.push((
                    "Authorization".into(),
                    basic_value(&c.username, &c.password),
                ));
            }
            AuthConfig::Oauth2ClientCredentials(c) => {
                let token = self.oauth_token(http, c).await?;
                out.headers
                    .push(("Authorization".into(), format!("Bearer {token}")));
            }
        }
        Ok(out)
    }

    async fn oauth_token(
        &self,
        http: &reqwest::Client,
        c: &OAuth2Config,
    ) -> Result<String, TokenError> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() < *expires
        {
            return Ok(token.clone());
        }
        let err = |reason: String| TokenError {
            url: self.redactor.redact(&c.access_token_url),
            reason: self.redactor.redact(&reason),
            status: None,
        };
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            form.append_pair("client_id", &c.client_id);
            form.append_pair("client_secret", &c.client_secret);
            for (k, v) in &c.access_token_request_data {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let resp = http
            .post(&c.access_token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            return Err(TokenError {
                status: Some(status.as_u16()),
                ..err(format!("HTTP {status}; check client_id and client_secret"))
            });
        }
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| err("the response is not JSON".into()))?;
        let token = json
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| err("the response has no `access_token`".into()))?
            .to_string();
        self.redactor.add(&token);
        let lifetime = json
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(c.default_token_expiration);
        // Renew a little early so a token never expires in flight.
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(lifetime / 20));
        *cached = Some((token.clone(), expires));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_fills_the_secret_it_needs() {
        let blocks = [
            json!({"type": "bearer"}),
            json!({"type": "api_key"}),
            json!({"type": "http_basic", "username": "me"}),
            json!({"type": "oauth2_client_credentials", "access_token_url": "https://a.test/t"}),
        ];
        for block in blocks {
            let auth = AuthConfig::deserialize(&block).expect("a valid auth block");
            let kind = AuthKind::deserialize(&block["type"]).expect("a known type");
            assert_eq!(auth.kind(), kind);
            let missing = auth.missing_secret().expect("no secret written");
            assert!(kind.secret_fields().contains(&missing), "{block}");
        }
    }

    #[test]
    fn secrets_are_filled_where_left_out() {
        let mut block = json!({"token": ""});
        AuthConfig::expand_shorthand(&mut block);
        let auth = block.as_object_mut().expect("a mapping");
        AuthConfig::fill_secrets(auth, &|field| Some(format!("from {field}")));
        assert_eq!(block, json!({"type": "bearer", "token": "from token"}));
    }
}

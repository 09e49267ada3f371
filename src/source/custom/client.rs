//! Dango's HTTP client for sources written in Rust: the one the declarative REST source uses,
//! with its auth, retries (honouring `Retry-After`), rate limit and paginators.

use serde_json::Value;
use url::Url;

use crate::redact::Redactor;
use crate::source::rest::FetchError;
use crate::source::rest::RestClient;
use crate::source::rest::auth::{AuthConfig, BearerConfig};
use crate::source::rest::config::{HttpMethod, PaginationConfig, RateLimitConfig, RetryConfig};
use crate::source::rest::paginate::{self, Paginator, ResponseView, StallGuard};
use crate::source::rest::request::PageRequest;
use crate::source::rest::selector::take_records;
use crate::source::{Records, SecretOrigin};

/// Sends requests for one source; clones share the rate limit and the auth token.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: RestClient,
    redactor: Redactor,
}

/// Sets up an [`HttpClient`].
#[derive(Debug, Default)]
pub struct HttpClientBuilder {
    headers: Vec<(String, String)>,
    auth: Option<AuthConfig>,
    retry: RetryConfig,
    rate_limit: Option<RateLimitConfig>,
    redactor: Redactor,
    secret_origins: Vec<SecretOrigin>,
}

impl HttpClient {
    /// A builder with no auth, no rate limit and the REST source's retry defaults.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// GETs `url` with `query` and parses the body as JSON.
    pub async fn get_json(&self, url: &str, query: &[(&str, String)]) -> Result<Value, FetchError> {
        let mut req = self.request(url)?;
        for (k, v) in query {
            req.set_param(k, v);
        }
        let (_, body) = self.send(&req).await?;
        Ok(body)
    }

    /// The pages of records at `url` with `query`: each response's records taken by
    /// `data_selector` (a JSONPath; `None` finds the list as dlt does), the next request made
    /// by `paginator` (`None` detects one as dlt does).
    pub fn pages(
        &self,
        url: &str,
        query: &[(&str, String)],
        paginator: Option<PaginationConfig>,
        data_selector: Option<&str>,
    ) -> Result<Pages, FetchError> {
        let mut req = self.request(url)?;
        for (k, v) in query {
            req.set_param(k, v);
        }
        let mut pager = paginate::build(paginator.as_ref());
        pager.prepare(&mut req);
        Ok(Pages {
            client: self.clone(),
            next: Some(req),
            stall_guard: StallGuard::new(paginator.as_ref().and_then(|p| p.max_pages())),
            paginator: pager,
            selector: data_selector.map(str::to_string),
        })
    }

    fn request(&self, url: &str) -> Result<PageRequest, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::BadUrl {
            url: self.redactor.redact(url),
            reason: e.to_string(),
        })?;
        Ok(PageRequest {
            method: HttpMethod::GET,
            url,
            query: Vec::new(),
            headers: Vec::new(),
            json: None,
        })
    }

    /// Sends `req`; the response headers and the body parsed as JSON.
    async fn send(
        &self,
        req: &PageRequest,
    ) -> Result<(reqwest::header::HeaderMap, Value), FetchError> {
        let url = req.full_url();
        let resp = self
            .client
            .send(req, &[])
            .await?
            .ok_or_else(|| FetchError::BadUrl {
                url: self.redactor.redact(url.as_str()),
                reason: "the response was ignored".into(),
            })?;
        let body = crate::json::parse(&resp.body).map_err(|e| FetchError::NotJson {
            url: self.redactor.redact(url.as_str()),
            content_type: resp
                .headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_string(),
            excerpt: e.to_string(),
        })?;
        Ok((resp.headers, body))
    }
}

impl HttpClientBuilder {
    /// Sends `name: value` with every request (the value is treated as a secret).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.redactor.add(value);
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Authenticates with `Authorization: Bearer <token>`.
    pub fn bearer_token(self, token: &str) -> Self {
        self.auth(AuthConfig::Bearer(BearerConfig {
            token: token.to_string(),
        }))
    }

    /// Authenticates as `auth` says (any auth the REST source supports).
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Names `origin` (where a credential given to this builder was found, e.g. by
    /// `Credentials::secret`) when the API rejects it with a 401 or 403.
    pub fn secret_origin(mut self, origin: SecretOrigin) -> Self {
        self.secret_origins.push(origin);
        self
    }

    /// Retries, backoff and timeout.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// At most `per_second` requests a second, across every clone of the client.
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.rate_limit = Some(RateLimitConfig::PerSecond(per_second));
        self
    }

    /// The client.
    pub fn build(self) -> Result<HttpClient, FetchError> {
        if let Some(auth) = &self.auth {
            auth.register_secrets(&self.redactor);
        }
        let client = RestClient::new(
            &self.headers,
            self.retry,
            self.redactor.clone(),
            self.auth,
            self.rate_limit,
        )?
        .with_secret_origins(self.secret_origins);
        Ok(HttpClient {
            client,
            redactor: self.redactor,
        })
    }
}

/// The pages of one paginated endpoint (see [`HttpClient::pages`]).
pub struct Pages {
    client: HttpClient,
    next: Option<PageRequest>,
    paginator: Box<dyn Paginator>,
    stall_guard: StallGuard,
    selector: Option<String>,
}

impl Pages {
    /// The next page's records; `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, FetchError> {
        let Some(mut req) = self.next.take() else {
            return Ok(None);
        };
        let url = req.full_url();
        let (headers, mut body) = self.client.send(&req).await?;
        let shown = || self.client.redactor.redact(url.as_str());
        let records = take_records(&mut body, self.selector.as_deref()).map_err(|source| {
            FetchError::Selector {
                url: shown(),
                source,
            }
        })?;
        let page = Records::Parsed(records);
        self.stall_guard
            .page(&page)
            .map_err(|stall| FetchError::NoProgress {
                url: shown(),
                detail: stall.describe(&self.paginator.advice()),
            })?;
        let records = page.into_values().unwrap_or_default();
        let view = ResponseView {
            url: &url,
            headers: &headers,
            body: &body,
            records: records.len(),
        };
        let more =
            self.paginator
                .advance(&mut req, &view)
                .map_err(|e| FetchError::PaginationLoop {
                    url: shown(),
                    detail: e.to_string(),
                })?;
        if more {
            self.stall_guard
                .next()
                .map_err(|stall| FetchError::NoProgress {
                    url: shown(),
                    detail: stall.describe(&self.paginator.advice()),
                })?;
            self.next = Some(req);
        }
        Ok(Some(records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_api::{MockApi, MockApiConfig, MockAuth};
    use crate::source::SecretStore;

    #[tokio::test]
    async fn a_rejected_token_is_named_by_its_variable_never_its_value() {
        let api = MockApi::start(MockApiConfig {
            auth: MockAuth::Bearer("right-token".into()),
            ..MockApiConfig::default()
        })
        .expect("mock API");
        let origin = SecretOrigin {
            variable: "HUBSPOT_API_KEY".into(),
            store: SecretStore::DotEnv,
        };
        let client = HttpClient::builder()
            .bearer_token("wrong-token-17")
            .secret_origin(origin)
            .build()
            .expect("client");
        let err = client
            .get_json(&format!("{}/users", api.base_url()), &[])
            .await
            .expect_err("the token is wrong")
            .to_string();
        assert!(err.contains("HTTP 401"), "{err}");
        assert!(
            err.contains("was rejected: check HUBSPOT_API_KEY (from .env)"),
            "{err}"
        );
        assert!(!err.contains("wrong-token-17"), "{err}");
    }
}

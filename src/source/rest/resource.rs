//! One REST resource as a producer of pages: send, parse, select the records, ask the paginator
//! for the next request, repeat. Pages go into a bounded channel, so a slow consumer slows the
//! fetching instead of filling memory.

use serde_json::Value;
use tokio::sync::mpsc;
use url::Url;

use super::client::{RestClient, excerpt};
use super::error::FetchError;
use super::paginate::{self, ResponseView};
use super::request::{PageRequest, param_text};
use super::selector::take_records;
use crate::project::Redactor;
use crate::project::config::{ResourceConfig, RestApiConfig};
use crate::source::Page;

/// Counts of what one resource fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Responses received.
    pub pages: usize,
    /// Records selected from them.
    pub records: usize,
}

/// A configured REST endpoint, ready to fetch.
#[derive(Debug, Clone)]
pub struct RestResource {
    /// The resource's name from the config.
    pub name: String,
    config: ResourceConfig,
    first_request: PageRequest,
    client: RestClient,
    redactor: Redactor,
}

impl RestResource {
    /// Plans `resource` of a `rest_api` block whose `${VAR}`s are already substituted.
    pub fn new(
        api: &RestApiConfig,
        resource: &ResourceConfig,
        client: RestClient,
        redactor: Redactor,
    ) -> Result<Self, FetchError> {
        let url = endpoint_url(&api.base_url, &resource.endpoint).map_err(|reason| {
            FetchError::BadUrl {
                url: redactor.redact(&format!("{} + {}", api.base_url, resource.endpoint)),
                reason,
            }
        })?;
        let mut query: Vec<(String, String)> = Vec::new();
        for (k, v) in api.params.iter().chain(resource.params.iter()) {
            query.retain(|(existing, _)| existing != k);
            query.push((k.clone(), param_text(v)));
        }
        let headers = resource
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Self {
            name: resource.name.clone(),
            config: resource.clone(),
            first_request: PageRequest {
                method: resource.method,
                url,
                query,
                headers,
                json: None,
            },
            client,
            redactor,
        })
    }

    /// Fetches every page into `pages`, in order; stops early if the receiver is dropped.
    pub async fn fetch(self, pages: mpsc::Sender<Page>) -> Result<FetchStats, FetchError> {
        let mut paginator = paginate::build(self.config.pagination.as_ref());
        let mut req = self.first_request.clone();
        paginator.prepare(&mut req);
        let mut stats = FetchStats::default();
        loop {
            let url = req.full_url();
            let resp = self.client.send(&req).await?;
            let mut body = self.parse(&url, &resp.headers, &resp.body)?;
            let records = take_records(&mut body, self.config.data_selector.as_deref()).map_err(
                |source| FetchError::Selector {
                    url: self.redactor.redact(url.as_str()),
                    source,
                },
            )?;
            let count = records.len();
            stats.pages += 1;
            stats.records += count;
            tracing::debug!(resource = %self.name, page = stats.pages, records = count, "page");
            let page = Page {
                number: stats.pages - 1,
                records,
            };
            if pages.send(page).await.is_err() {
                return Err(FetchError::Cancelled);
            }
            let view = ResponseView {
                url: &url,
                headers: &resp.headers,
                body: &body,
                records: count,
            };
            let more = paginator.advance(&mut req, &view).map_err(|e| match e {
                paginate::PaginateError::Loop(detail) => FetchError::PaginationLoop {
                    url: self.redactor.redact(url.as_str()),
                    detail,
                },
                other => FetchError::BadUrl {
                    url: self.redactor.redact(url.as_str()),
                    reason: other.to_string(),
                },
            })?;
            if !more {
                return Ok(stats);
            }
        }
    }

    fn parse(
        &self,
        url: &Url,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<Value, FetchError> {
        serde_json::from_slice(body).map_err(|_| FetchError::NotJson {
            url: self.redactor.redact(url.as_str()),
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_string(),
            excerpt: excerpt(&self.redactor, body),
        })
    }
}

/// `base` + `endpoint` as dlt joins them: the endpoint is relative to the base's path, unless
/// it is an absolute URL.
pub fn endpoint_url(base: &str, endpoint: &str) -> Result<Url, String> {
    if let Ok(absolute) = Url::parse(endpoint) {
        return Ok(absolute);
    }
    let base = if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    };
    let base = Url::parse(&base).map_err(|e| e.to_string())?;
    if base.cannot_be_a_base() {
        return Err("the base URL cannot have paths appended".into());
    }
    base.join(endpoint.trim_start_matches('/'))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path() {
        let u = endpoint_url("https://api.example.com/v1", "/users").unwrap();
        assert_eq!(u.as_str(), "https://api.example.com/v1/users");
        let u = endpoint_url("https://api.example.com/v1/", "users").unwrap();
        assert_eq!(u.as_str(), "https://api.example.com/v1/users");
        let u = endpoint_url("https://a.test", "https://b.test/x").unwrap();
        assert_eq!(u.as_str(), "https://b.test/x");
        assert!(endpoint_url("not a url", "/x").is_err());
    }
}

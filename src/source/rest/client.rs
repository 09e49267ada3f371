//! The HTTP stage: sends a [`PageRequest`] with the source's headers, authentication and
//! timeouts, under the source's rate limit, retrying 429, 5xx, timeouts and connection errors
//! with exponential backoff and jitter, honouring `Retry-After`. Every URL and body that reaches
//! an error goes through the redactor first.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::auth::{AuthConfig, Authenticator};
use super::config::{HttpMethod, RateLimitConfig, ResponseAction, ResponseActionKind, RetryConfig};
use super::error::FetchError;
use super::request::PageRequest;
use super::traffic::Traffic;
use crate::redact::Redactor;
use crate::source::HttpCounts;
use crate::source::{SecretOrigin, describe_origins};

/// Longest body excerpt put in an error message.
const EXCERPT_CHARS: usize = 300;

/// A response that came back with a success status.
#[derive(Debug)]
pub struct PageResponse {
    /// The status code.
    pub status: u16,
    /// Time from the first attempt to the response, retries included.
    pub elapsed: std::time::Duration,
    /// Response headers (for `Link` pagination).
    pub headers: HeaderMap,
    /// The body, undecoded.
    pub body: Bytes,
}

/// Sends requests for one source; clones share the rate limiter and the auth token.
#[derive(Clone)]
pub struct RestClient {
    /// Built on the first request, not with the source: building one loads and parses the
    /// system's root certificates (time and memory per client: docs/performance.md), and
    /// planning, which `dango validate` does for every source of a file that can
    /// hold thousands, sends no request.
    http: Arc<OnceLock<Result<reqwest::Client, String>>>,
    headers: HeaderMap,
    retry: RetryConfig,
    redactor: Redactor,
    auth: Option<Arc<Authenticator>>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    /// The variables the credentials it sends were read from, named when one is rejected.
    secret_origins: Arc<[SecretOrigin]>,
    /// Its resource's requests, counted.
    traffic: Arc<Traffic>,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The shared limiter for `config`: `rate` requests per second, `burst` at once.
fn limiter(config: &RateLimitConfig) -> Option<Arc<DefaultDirectRateLimiter>> {
    let (rate, burst) = config.rate_and_burst();
    let period = Duration::from_secs_f64(1.0 / rate.max(1e-6));
    let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst)?);
    Some(Arc::new(RateLimiter::direct(quota)))
}

/// A response, read in full.
struct RawResponse {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

/// Why a single attempt failed before a response arrived.
enum SendError {
    Http(reqwest::Error),
    Token(super::auth::TokenError),
}

impl RestClient {
    /// A client sending `headers` (and `auth`) with every request, at most `rate_limit`
    /// requests per second, retrying as `retry` says.
    pub fn new(
        headers: &[(String, String)],
        retry: RetryConfig,
        redactor: Redactor,
        auth: Option<AuthConfig>,
        rate_limit: Option<RateLimitConfig>,
    ) -> Result<Self, FetchError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let bad = |reason: &str| FetchError::BadUrl {
                url: format!("header {name}"),
                reason: reason.to_string(),
            };
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("invalid header name"))?;
            let mut value =
                HeaderValue::from_str(value).map_err(|_| bad("invalid header value"))?;
            value.set_sensitive(true);
            map.insert(name, value);
        }
        let auth = auth.map(|a| Arc::new(Authenticator::new(a, redactor.clone())));
        Ok(Self {
            http: Arc::default(),
            headers: map,
            retry,
            redactor,
            auth,
            limiter: rate_limit.as_ref().and_then(limiter),
            secret_origins: Arc::new([]),
            traffic: Arc::default(),
        })
    }

    /// The same client (sharing its rate limit and token) naming `origins`, the variables its
    /// credentials came from, when the API rejects one.
    pub fn with_secret_origins(mut self, origins: Vec<SecretOrigin>) -> Self {
        self.secret_origins = origins.into();
        self
    }

    /// The same client counting its requests apart (one resource's, out of the source's).
    pub fn with_own_traffic(mut self) -> Self {
        self.traffic = Arc::default();
        self
    }

    /// Its requests so far.
    pub fn traffic(&self) -> HttpCounts {
        self.traffic.counts()
    }

    /// The HTTP client, built on first use (see the field).
    fn http(&self) -> Result<&reqwest::Client, FetchError> {
        let timeout = secs(self.retry.timeout_seconds);
        let built = self.http.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10).min(timeout))
                .timeout(timeout)
                .user_agent(concat!("dango/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|reason| FetchError::BadUrl {
            url: String::new(),
            reason: reason.clone(),
        })
    }

    /// Sends `req` until it succeeds, fails for good, or runs out of attempts; `None` when a
    /// response action says to ignore the response.
    pub async fn send(
        &self,
        req: &PageRequest,
        actions: &[ResponseAction],
    ) -> Result<Option<PageResponse>, FetchError> {
        let http = self.http()?;
        let url = req.full_url();
        let shown = self.redactor.redact(url.as_str());
        let method = method_name(req.method);
        let max = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        let mut token_refreshed = false;
        let started = std::time::Instant::now();
        loop {
            let after = |attempt: u32| match attempt {
                1 => String::new(),
                n => format!(" after {n} attempts"),
            };
            let sent = std::time::Instant::now();
            self.traffic.sent();
            let answer = self.send_once(http, req, url.clone()).await;
            if let Ok(resp) = &answer {
                self.traffic.received(resp.body.len());
                // `-vv`: one line per response.
                tracing::debug!(
                    method,
                    url = %shown,
                    status = resp.status,
                    bytes = resp.body.len(),
                    ms = sent.elapsed().as_millis() as u64,
                    attempt,
                    "response"
                );
            }
            match answer {
                Ok(resp) if matches_action(&resp, actions) => {
                    tracing::info!(url = %shown, status = resp.status, "response ignored (response_actions)");
                    return Ok(None);
                }
                Ok(resp)
                    if resp.status == 401
                        && !token_refreshed
                        && self.auth.as_ref().is_some_and(|a| a.refreshable()) =>
                {
                    // An expired or revoked token: fetch a new one, once.
                    token_refreshed = true;
                    if let Some(auth) = &self.auth {
                        auth.invalidate().await;
                    }
                }
                Ok(resp) if (200..300).contains(&resp.status) => {
                    return Ok(Some(PageResponse {
                        status: resp.status,
                        elapsed: started.elapsed(),
                        headers: resp.headers,
                        body: resp.body,
                    }));
                }
                Ok(resp) if is_retryable_status(resp.status) && attempt < max => {
                    let wait = self.backoff(attempt, retry_after(&resp.headers));
                    let wait_ms = wait.as_millis() as u64;
                    tracing::warn!(url = %shown, status = resp.status, attempt, wait_ms, "retrying");
                    self.traffic.retried(resp.status == 429);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Ok(resp) => {
                    return Err(FetchError::Status {
                        method,
                        url: shown,
                        status: resp.status,
                        after: after(attempt),
                        excerpt: excerpt(&self.redactor, &resp.body, &resp.headers),
                        hint: self.status_hint(resp.status),
                    });
                }
                Err(SendError::Token(e)) => return Err(self.token_error(e)),
                Err(SendError::Http(e)) if is_retryable_error(&e) && attempt < max => {
                    let wait = self.backoff(attempt, None);
                    let wait_ms = wait.as_millis() as u64;
                    tracing::warn!(url = %shown, attempt, wait_ms, error = %self.describe(&e), "retrying");
                    self.traffic.retried(false);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(SendError::Http(e)) => {
                    return Err(FetchError::Transport {
                        method,
                        url: shown,
                        reason: self.describe(&e),
                        after: after(attempt),
                    });
                }
            }
        }
    }

    /// One attempt: waits for the rate limiter, adds credentials, reads the whole response.
    async fn send_once(
        &self,
        http: &reqwest::Client,
        req: &PageRequest,
        mut url: url::Url,
    ) -> Result<RawResponse, SendError> {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let mut headers = self.headers.clone();
        if let Some(auth) = &self.auth {
            let credential = auth.credential(http).await.map_err(SendError::Token)?;
            for (name, value) in credential.headers {
                if let (Ok(n), Ok(mut v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    v.set_sensitive(true);
                    headers.insert(n, v);
                }
            }
            if !credential.query.is_empty() {
                url.query_pairs_mut().extend_pairs(credential.query.iter());
            }
        }
        let mut builder = match req.method {
            HttpMethod::GET => http.get(url),
            HttpMethod::POST => http.post(url),
        }
        .headers(headers);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        if let Some(json) = &req.json {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json.to_string());
        }
        let resp = builder.send().await.map_err(SendError::Http)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(SendError::Http)?;
        Ok(RawResponse {
            status,
            headers,
            body: without_bom(body),
        })
    }

    /// What to check after a 401/403: which credential was sent and the variables it came
    /// from, never its value.
    fn status_hint(&self, status: u16) -> String {
        if status != 401 && status != 403 {
            return String::new();
        }
        let sent = match &self.auth {
            Some(auth) => Some(auth.config().describe()),
            None => credential_headers(&self.headers),
        };
        let check = match self.secret_origins.is_empty() {
            true => "check the variable it comes from".to_string(),
            false => format!("check {}", describe_origins(&self.secret_origins)),
        };
        match sent {
            Some(sent) => format!("; {sent} was rejected: {check}"),
            // A key in the query (`params:`) or a resource's own header.
            None if !self.secret_origins.is_empty() => {
                format!("; a credential was rejected: {check}")
            }
            None => "; no credential was sent: add `auth:` or an Authorization header using \
                     ${YOUR_TOKEN} in sources.yml"
                .to_string(),
        }
    }

    /// Why a token could not be had; where the client credentials came from if the token
    /// endpoint refused them.
    fn token_error(&self, e: super::auth::TokenError) -> FetchError {
        let refused = matches!(e.status, Some(400 | 401 | 403));
        match refused && !self.secret_origins.is_empty() {
            true => FetchError::Auth(format!(
                "{e}; they come from {}",
                describe_origins(&self.secret_origins)
            )),
            false => FetchError::Auth(e.to_string()),
        }
    }

    /// Exponential backoff with full jitter in its upper half; `Retry-After` raises the floor.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = self.retry.backoff_seconds * 2f64.powi(attempt.saturating_sub(1) as i32);
        let jittered = base * rand::rng().random_range(0.5..=1.0);
        let wait = retry_after.map_or(jittered, |ra| ra.as_secs_f64().max(jittered));
        secs(wait.min(self.retry.max_backoff_seconds))
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        let kind = if e.is_timeout() {
            format!("timed out after {} s", self.retry.timeout_seconds)
        } else if e.is_connect() {
            "could not connect (is the host name right and the server up?)".to_string()
        } else if e.is_decode() && undecodable(e) {
            "the response body could not be decompressed".to_string()
        } else if e.is_decode() || e.is_body() {
            "the connection broke while the response body was read".to_string()
        } else {
            "request failed".to_string()
        };
        // reqwest's chain names the cause (DNS, refused, TLS); its URL is redacted with the rest.
        let mut detail = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        let text = if detail.is_empty() {
            kind
        } else {
            format!("{kind}: {detail}")
        };
        self.redactor.redact(&text)
    }
}

/// The body without a leading UTF-8 byte order mark, which JSON parsers refuse and Python's
/// `requests` (so dlt) skips.
fn without_bom(body: Bytes) -> Bytes {
    match body.starts_with(b"\xEF\xBB\xBF") {
        true => body.slice(3..),
        false => body,
    }
}

/// The start of `body` as text, secrets redacted, for error messages; a body that is not text
/// is described (size, type, encoding) instead of printed.
pub fn excerpt(redactor: &Redactor, body: &[u8], headers: &HeaderMap) -> String {
    let Ok(text) = std::str::from_utf8(body) else {
        return binary_description(body.len(), headers);
    };
    let mut cut: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        cut.push('…');
    }
    let cut = cut.replace(['\n', '\r'], " ");
    if cut.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        redactor.redact(&cut)
    }
}

/// What a body that is not text is, for an error message.
fn binary_description(len: usize, headers: &HeaderMap) -> String {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let mut out = format!(
        "(a body of {len} bytes that is not text; content-type {}",
        header(reqwest::header::CONTENT_TYPE).unwrap_or("none")
    );
    if let Some(encoding) = header(reqwest::header::CONTENT_ENCODING) {
        out.push_str(&format!(
            ", content-encoding {encoding}, which Dango does not decode (it decodes gzip and deflate)"
        ));
    }
    out.push(')');
    out
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 86_400.0))
}

fn method_name(m: HttpMethod) -> &'static str {
    match m {
        HttpMethod::GET => "GET",
        HttpMethod::POST => "POST",
    }
}

fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// Whether a failed attempt may succeed when sent again: timeouts, connections refused or
/// dropped (also in the middle of the body), but not a body that cannot be decompressed.
fn is_retryable_error(e: &reqwest::Error) -> bool {
    e.is_timeout()
        || e.is_connect()
        || e.is_request()
        || e.is_body()
        || (e.is_decode() && !undecodable(e))
}

/// Whether `e` says the bytes that arrived are not what their encoding claims.
fn undecodable(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::InvalidData
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(secs(seconds));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Whether a response action says to skip `resp` (dlt: status and content must both match
/// when both are given).
fn matches_action(resp: &RawResponse, actions: &[ResponseAction]) -> bool {
    actions.iter().any(|a| {
        a.action == ResponseActionKind::Ignore
            && (a.status_code.is_some() || a.content.is_some())
            && a.status_code.is_none_or(|s| s == resp.status)
            && a.content
                .as_ref()
                .is_none_or(|c| String::from_utf8_lossy(&resp.body).contains(c.as_str()))
    })
}

/// The credential headers that were sent, by name, for a 401/403 message: `None` if none was.
fn credential_headers(headers: &HeaderMap) -> Option<String> {
    let sent: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|h| {
            let h = h.to_ascii_lowercase();
            h == "authorization" || h.contains("key") || h.contains("token")
        })
        .collect();
    match sent.is_empty() {
        true => None,
        false => Some(format!("the credential sent in header {}", sent.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(backoff: f64, max: f64) -> RestClient {
        let retry = RetryConfig {
            backoff_seconds: backoff,
            max_backoff_seconds: max,
            ..RetryConfig::default()
        };
        RestClient::new(&[], retry, Redactor::default(), None, None).unwrap()
    }

    #[test]
    fn planning_builds_no_http_client_and_clones_share_the_one_built() {
        // Planning makes one client per source, and a large file has thousands of sources:
        // none of them may load the system's root certificates before it sends a request.
        let c = client(1.0, 5.0);
        let clone = c.clone();
        assert!(c.http.get().is_none());
        let (Ok(built), Ok(shared)) = (c.http(), clone.http()) else {
            panic!("a client with default settings builds");
        };
        assert!(std::ptr::eq(built, shared));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = client(1.0, 5.0);
        let first = c.backoff(1, None).as_secs_f64();
        assert!((0.5..=1.0).contains(&first), "{first}");
        let third = c.backoff(3, None).as_secs_f64();
        assert!((2.0..=4.0).contains(&third), "{third}");
        assert_eq!(c.backoff(10, None).as_secs_f64(), 5.0);
    }

    #[test]
    fn retry_after_zero_still_backs_off_and_large_values_are_capped() {
        let c = client(1.0, 30.0);
        assert!(c.backoff(1, Some(Duration::ZERO)) >= Duration::from_millis(500));
        assert_eq!(
            c.backoff(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&past).unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn response_actions_match_status_and_content() {
        let resp = |status: u16, body: &'static str| RawResponse {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        };
        let action = |status_code: Option<u16>, content: Option<&str>| ResponseAction {
            status_code,
            content: content.map(str::to_string),
            action: ResponseActionKind::Ignore,
        };
        let by_status = [action(Some(404), None)];
        assert!(matches_action(&resp(404, "x"), &by_status));
        assert!(!matches_action(&resp(200, "x"), &by_status));
        let by_content = [action(None, Some("no reports yet"))];
        assert!(matches_action(
            &resp(200, "{\"msg\": \"no reports yet\"}"),
            &by_content
        ));
        let both = [action(Some(404), Some("gone"))];
        assert!(!matches_action(&resp(404, "missing"), &both));
        assert!(matches_action(&resp(404, "gone for good"), &both));
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_binary_is_described_not_shown() {
        let body = without_bom(Bytes::from_static(b"\xEF\xBB\xBF[1]"));
        assert_eq!(&body[..], b"[1]");
        assert_eq!(&without_bom(Bytes::from_static(b"[2]"))[..], b"[2]");
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("content-encoding", HeaderValue::from_static("br"));
        let shown = excerpt(&Redactor::default(), &[0x1f, 0x8b, 0xff, 0x00], &h);
        assert_eq!(
            shown,
            "(a body of 4 bytes that is not text; content-type application/json, \
             content-encoding br, which Dango does not decode (it decodes gzip and deflate))"
        );
        let text = excerpt(&Redactor::default(), b"{\"error\":\n\"x\"}", &h);
        assert_eq!(text, "{\"error\": \"x\"}");
    }

    #[test]
    fn auth_hints_name_the_header_not_the_value() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer hunter2"));
        let hint = credential_headers(&h).unwrap_or_default();
        assert!(
            hint.contains("authorization") && !hint.contains("hunter2"),
            "{hint}"
        );
        assert_eq!(credential_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn a_rejected_credential_names_the_variables_it_came_from() {
        use crate::source::SecretStore;
        let headers = [("Authorization".to_string(), "Bearer hunter2".to_string())];
        let plain = RestClient::new(
            &headers,
            RetryConfig::default(),
            Redactor::default(),
            None,
            None,
        )
        .unwrap();
        let origin = SecretOrigin {
            variable: "MY_API_TOKEN".into(),
            store: SecretStore::DotEnv,
        };
        let named = plain.clone().with_secret_origins(vec![origin]);
        assert_eq!(
            named.status_hint(401),
            "; the credential sent in header authorization was rejected: \
             check MY_API_TOKEN (from .env)"
        );
        assert!(named.status_hint(403).contains("MY_API_TOKEN (from .env)"));
        assert_eq!(named.status_hint(404), "");
        assert!(
            plain
                .status_hint(401)
                .ends_with("check the variable it comes from"),
            "{}",
            plain.status_hint(401)
        );
        let bare = client(1.0, 1.0);
        assert!(bare.status_hint(401).contains("no credential was sent"));
    }
}

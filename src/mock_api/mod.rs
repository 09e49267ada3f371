//! A small REST API on 127.0.0.1 for tests, benchmarks and `dango demo`: one endpoint per
//! pagination style, bearer auth, injected faults and latency, and request counters. It is real
//! HTTP on a real socket, so Dango's client is exercised exactly as against a remote API.
//!
//! | path        | pagination                                   | records under |
//! |-------------|----------------------------------------------|---------------|
//! | `/users`    | `?page=1&per_page=K`, `meta.total_pages`     | `data`        |
//! | `/orders`   | `?offset=0&limit=K`, `total`; `?status=`     | `items`       |
//! | `/events`   | `?cursor=...`, `next_cursor`                 | `events`      |
//! | `/posts`    | `next_page_url` link in the body             | `results`     |
//! | `/products` | `Link: <...>; rel="next"` header             | top-level list|
//! | `/tags`     | none                                         | top-level list|
//! | `/html`     | none: answers HTML, for error tests          |               |

mod data;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub use data::{event, order, timestamp, user};

/// What the mock API serves and how it misbehaves.
#[derive(Debug, Clone)]
pub struct MockApiConfig {
    /// Number of users.
    pub users: usize,
    /// Number of orders.
    pub orders: usize,
    /// Number of events (and posts, products).
    pub events: usize,
    /// Default page size.
    pub page_size: usize,
    /// If set, every request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// If set, every n-th request fails: alternately 429 (`Retry-After: 0`) and 503.
    pub fail_every: Option<u64>,
    /// Delay before every response.
    pub latency: Duration,
}

impl Default for MockApiConfig {
    fn default() -> Self {
        Self {
            users: 25,
            orders: 120,
            events: 30,
            page_size: 10,
            token: None,
            fail_every: None,
            latency: Duration::ZERO,
        }
    }
}

/// Requests seen by the mock API.
#[derive(Debug, Default)]
pub struct Counters {
    total: AtomicU64,
    failed: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
    queries: Mutex<Vec<String>>,
}

impl Counters {
    /// All requests, including the failed ones.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }

    /// Requests answered with an injected fault.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// Requests to `path`.
    pub fn path(&self, path: &str) -> u64 {
        self.by_path
            .lock()
            .map(|m| m.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Every request's path and query, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }
}

struct AppState {
    config: MockApiConfig,
    counters: Arc<Counters>,
}

/// A running mock API; stops when dropped.
pub struct MockApi {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockApi {
    /// Starts the API on a random port of 127.0.0.1, on its own thread and runtime.
    pub fn start(config: MockApiConfig) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let state = Arc::new(AppState {
            config,
            counters: counters.clone(),
        });
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("mock-api".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = router(state);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stop.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            addr,
            counters,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/users", get(users))
        .route("/orders", get(orders))
        .route("/events", get(events))
        .route("/posts", get(posts))
        .route("/products", get(products))
        .route("/tags", get(tags))
        .route("/html", get(html))
        .layer(middleware::from_fn_with_state(state.clone(), gatekeeper))
        .with_state(state)
}

/// Counts, delays, authenticates and injects faults before any handler runs.
async fn gatekeeper(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let n = state.counters.total.fetch_add(1, Ordering::SeqCst) + 1;
    let path = req.uri().path().to_string();
    if let Ok(mut m) = state.counters.by_path.lock() {
        *m.entry(path.clone()).or_default() += 1;
    }
    if let Ok(mut q) = state.counters.queries.lock() {
        q.push(req.uri().to_string());
    }
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    if let Some(token) = &state.config.token {
        let expected = format!("Bearer {token}");
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if sent != Some(expected.as_str()) {
            let body = json!({"error": "invalid or missing bearer token"});
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
    }
    if let Some(every) = state.config.fail_every
        && every > 0
        && n % every == 0
    {
        state.counters.failed.fetch_add(1, Ordering::SeqCst);
        return if (n / every) % 2 == 1 {
            let mut headers = HeaderMap::new();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
            (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response()
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        };
    }
    next.run(req).await
}

type Params = Query<HashMap<String, String>>;

fn param(q: &HashMap<String, String>, name: &str, default: usize) -> usize {
    q.get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn window(total: usize, offset: usize, limit: usize) -> std::ops::Range<usize> {
    let start = offset.min(total);
    start..(start + limit).min(total)
}

async fn users(State(s): State<Arc<AppState>>, Query(q): Params) -> impl IntoResponse {
    let per_page = param(&q, "per_page", s.config.page_size).max(1);
    let page = param(&q, "page", 1).max(1);
    let range = window(s.config.users, (page - 1) * per_page, per_page);
    let data: Vec<Value> = range.map(|i| user(i + 1)).collect();
    let total_pages = s.config.users.div_ceil(per_page);
    axum::Json(json!({"data": data, "meta": {"page": page, "total_pages": total_pages}}))
}

async fn orders(State(s): State<Arc<AppState>>, Query(q): Params) -> impl IntoResponse {
    let limit = param(&q, "limit", s.config.page_size).max(1);
    let offset = param(&q, "offset", 0);
    let status = q.get("status");
    let all = (1..=s.config.orders)
        .map(order)
        .filter(|o| status.is_none_or(|st| o["status"] == **st));
    let matching: Vec<Value> = all.collect();
    let total = matching.len();
    let items: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    axum::Json(json!({"items": items, "total": total}))
}

async fn events(State(s): State<Arc<AppState>>, Query(q): Params) -> impl IntoResponse {
    let per_page = s.config.page_size;
    let start = q
        .get("cursor")
        .and_then(|c| c.strip_prefix("evt_"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0usize);
    let range = window(s.config.events, start, per_page);
    let end = range.end;
    let events: Vec<Value> = range.map(|i| event(i + 1)).collect();
    let next = (end < s.config.events).then(|| format!("evt_{end}"));
    axum::Json(json!({"events": events, "next_cursor": next}))
}

async fn posts(State(s): State<Arc<AppState>>, Query(q): Params) -> impl IntoResponse {
    let per_page = s.config.page_size;
    let page = param(&q, "page", 1).max(1);
    let range = window(s.config.events, (page - 1) * per_page, per_page);
    let end = range.end;
    let results: Vec<Value> = range
        .map(|i| json!({"id": i + 1, "userId": 1 + i % 5, "title": format!("Post {}", i + 1)}))
        .collect();
    let next = (end < s.config.events).then(|| format!("/posts?page={}", page + 1));
    axum::Json(json!({"results": results, "next_page_url": next}))
}

async fn products(State(s): State<Arc<AppState>>, Query(q): Params) -> impl IntoResponse {
    let per_page = s.config.page_size;
    let page = param(&q, "page", 1).max(1);
    let range = window(s.config.events, (page - 1) * per_page, per_page);
    let end = range.end;
    let list: Vec<Value> = range
        .map(
            |i| json!({"id": i + 1, "name": format!("Product {}", i + 1), "price": 9.5 + i as f64}),
        )
        .collect();
    let mut headers = HeaderMap::new();
    if end < s.config.events {
        let link = format!("</products?page={}>; rel=\"next\"", page + 1);
        if let Ok(v) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, v);
        }
    }
    (headers, axum::Json(Value::Array(list)))
}

async fn tags() -> impl IntoResponse {
    axum::Json(
        json!([{"id": 1, "name": "gift"}, {"id": 2, "name": "express"}, {"id": 3, "name": "standard"}]),
    )
}

async fn html() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body>Maintenance</body></html>",
    )
}

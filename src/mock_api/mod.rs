//! A small REST API on 127.0.0.1 for tests, benchmarks and `dango demo`: one endpoint per
//! pagination style, bearer auth, injected faults and latency, and request counters. It is real
//! HTTP on a real socket, so Dango's client is exercised exactly as against a remote API.
//!
//! | path        | pagination                                   | records under |
//! |-------------|----------------------------------------------|---------------|
//! | `/users`    | `?page=1&per_page=K`, `meta.total_pages`     | `data`        |
//! | `/orders`   | `?offset=0&limit=K`, `total`; `?status=`, `?updated_after=`, `?updated_before=` | `items` |
//! | `/events`   | `?cursor=...`, `next_cursor`                 | `events`      |
//! | `/posts`    | `next_page_url` link in the body             | `results`     |
//! | `/products` | `Link: <...>; rel="next"` header             | top-level list|
//! | `/tags`     | none                                         | top-level list|
//! | `/openapi.json` | its own OpenAPI description (`openapi.rs`), public |         |
//! | `/html`     | none: answers HTML, for error tests          |               |
//! | `/posts/{id}/comments` | none (3 per post), for dependent resources | top-level list |
//! | `POST /search` | JSON body `{"status": ...}`               | `items`       |
//! | `/gone`     | always 404 `{"error": "not found"}`          |               |
//! | `/loop`     | `next_cursor` that never changes             | `items`       |
//! | `POST /oauth/token` | OAuth2 client credentials (form)     |               |
//! | `/my_api/users`, `/my_api/orders` | the tutorial's My API: `?updated_after=`, `next_page_url` | `data` |
//! | `/v1/customers` | Stripe's: `?limit=&starting_after=<last id>`, `has_more` | `data` |
//! | `/crm/v3/objects/contacts` | HubSpot's: `?limit=&after=`, `paging.next.after`; `filterGroups` on `lastmodifieddate` | `results` |
//!
//! Hostile responses (a BOM, gzip nobody asked for, deep nesting, integers beyond 64 bits,
//! pages that repeat, a connection dropped mid-body, an error body echoing the request) are
//! served by the endpoints of `hostile.rs`.

mod data;
mod hostile;
mod hubspot;
mod my_api;
mod openapi;
mod stripe;

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
    /// Number of HubSpot contacts.
    pub contacts: usize,
    /// Default page size.
    pub page_size: usize,
    /// How requests must authenticate.
    pub auth: MockAuth,
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
            contacts: 250,
            page_size: 10,
            auth: MockAuth::None,
            fail_every: None,
            latency: Duration::ZERO,
        }
    }
}

/// The credential the mock API demands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockAuth {
    /// Anyone may call.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A key in the named header.
    ApiKeyHeader(String, String),
    /// A key in the named query parameter.
    ApiKeyQuery(String, String),
    /// HTTP basic with user and password.
    Basic(String, String),
    /// OAuth2 client credentials (id, secret); an issued token is revoked after
    /// `revoke_after` API requests, to exercise refreshing.
    OAuth2 {
        /// Accepted client id.
        client_id: String,
        /// Accepted client secret.
        client_secret: String,
        /// API requests a token is good for.
        revoke_after: u64,
    },
}

/// Requests seen by the mock API.
#[derive(Debug, Default)]
pub struct Counters {
    total: AtomicU64,
    failed: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
    queries: Mutex<Vec<String>>,
    times: Mutex<Vec<std::time::Instant>>,
    tokens: Mutex<Vec<(String, u64)>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Requests being answered per path, and the most distinct paths ever in flight together.
    paths_in_flight: Mutex<BTreeMap<String, u64>>,
    max_paths_in_flight: AtomicU64,
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

    /// Arrival time of every API request (token requests excluded).
    pub fn times(&self) -> Vec<std::time::Instant> {
        self.times.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// OAuth2 tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.tokens.lock().map(|t| t.len()).unwrap_or(0)
    }

    /// The most requests the API was answering at the same moment.
    pub fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// The most different paths (endpoints) the API was answering at the same moment.
    pub fn max_paths_in_flight(&self) -> u64 {
        self.max_paths_in_flight.load(Ordering::SeqCst)
    }

    /// Every request's path and query, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }
}

struct AppState {
    config: MockApiConfig,
    counters: Arc<Counters>,
    live: Arc<LiveData>,
}

/// Data settings that tests change between syncs while the server runs.
#[derive(Debug, Default)]
struct LiveData {
    orders: AtomicU64,
    discount_codes: std::sync::atomic::AtomicBool,
    /// HubSpot contacts edited since the start, by id: the hour of their last edit.
    contact_edits: Mutex<BTreeMap<usize, usize>>,
    /// Times `/events` cursors expired: a cursor handed out before the last expiry is refused.
    cursor_epoch: AtomicU64,
    /// One more than the `offset` distance past `hold_base` from which requests are held
    /// unanswered until release (0: none are).
    hold_span: AtomicU64,
    /// The `offset` of the first request since the hold was set (`u64::MAX`: none yet).
    hold_base: AtomicU64,
}

/// A running mock API; stops when dropped.
pub struct MockApi {
    addr: SocketAddr,
    counters: Arc<Counters>,
    live: Arc<LiveData>,
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
        let live = Arc::new(LiveData::default());
        live.orders.store(config.orders as u64, Ordering::SeqCst);
        let state = Arc::new(AppState {
            config,
            counters: counters.clone(),
            live: live.clone(),
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
            live,
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

    /// Changes how many orders the API has (new ones appear with later `updatedAt`).
    pub fn set_orders(&self, n: usize) {
        self.live.orders.store(n as u64, Ordering::SeqCst);
    }

    /// Edits the HubSpot contacts `ids` now: their email changes and their `updatedAt` moves
    /// past every other contact's.
    pub fn edit_contacts(&self, ids: impl IntoIterator<Item = usize>) {
        if let Ok(mut edits) = self.live.contact_edits.lock() {
            let next = edits
                .values()
                .max()
                .copied()
                .unwrap_or(hubspot::FIRST_EDIT_HOUR)
                + 1;
            for id in ids {
                edits.insert(id, next);
            }
        }
    }

    /// Expires every `/events` cursor handed out so far, as APIs expire their tokens: asked for
    /// with one, the API answers 400.
    pub fn expire_cursors(&self) {
        self.live.cursor_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// From the next request with an `offset` parameter on, requests whose offset is `span` or
    /// more past that first one get no answer until [`release`](Self::release): a sync waiting
    /// on one can be stopped at a known page, however many pages it fetches at once and
    /// wherever it resumes.
    pub fn hold_beyond(&self, span: u64) {
        self.live.hold_base.store(u64::MAX, Ordering::SeqCst);
        self.live.hold_span.store(span + 1, Ordering::SeqCst);
    }

    /// Answers the requests [`hold_beyond`](Self::hold_beyond) held, and holds no more.
    pub fn release(&self) {
        self.live.hold_span.store(0, Ordering::SeqCst);
    }

    /// From now on, orders carry a new field `discountCode` (schema evolution).
    pub fn add_discount_codes(&self) {
        self.live.discount_codes.store(true, Ordering::SeqCst);
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        // A held request would keep the graceful shutdown waiting.
        self.release();
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
        .route("/openapi.json", get(openapi::description))
        .route("/users", get(users))
        .route("/orders", get(orders))
        .route("/events", get(events))
        .route("/posts", get(posts))
        .route("/products", get(products))
        .route("/tags", get(tags))
        .route("/html", get(html))
        .route("/posts/{id}/comments", get(comments))
        .route("/search", axum::routing::post(search))
        .route("/gone", get(gone))
        .route("/loop", get(looping))
        .route("/oauth/token", axum::routing::post(token))
        .route("/crm/v3/objects/contacts", get(hubspot::contacts))
        .route("/my_api/users", get(my_api::users))
        .route("/v1/customers", get(stripe::customers))
        .route("/my_api/orders", get(my_api::orders))
        .route("/stuck", get(hostile::stuck))
        .route("/endless", get(hostile::endless))
        .route("/bom", get(hostile::bom))
        .route("/gzipped", get(hostile::gzipped))
        .route("/binary", get(hostile::binary))
        .route("/deep", get(hostile::deep))
        .route("/bigints", get(hostile::bigints))
        .route("/wide", get(hostile::wide))
        .route("/long_ids", get(hostile::long_ids))
        .route("/out_of_range", get(hostile::out_of_range))
        .route("/truncated", get(hostile::truncated))
        .route("/echo", get(hostile::echo))
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
    let now = state.counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state
        .counters
        .max_in_flight
        .fetch_max(now, Ordering::SeqCst);
    state.counters.path_started(&path, true);
    let response = answer(&state, n, &path, req, next).await;
    state.counters.path_started(&path, false);
    state.counters.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

impl Counters {
    /// Counts a request to `path` starting (or, with `false`, finishing).
    fn path_started(&self, path: &str, started: bool) {
        let Ok(mut paths) = self.paths_in_flight.lock() else {
            return;
        };
        let count = paths.entry(path.to_string()).or_default();
        if started {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
        }
        let busy = paths.values().filter(|&&c| c > 0).count() as u64;
        self.max_paths_in_flight.fetch_max(busy, Ordering::SeqCst);
    }
}

/// Delays, authenticates, injects faults, then runs the handler.
async fn answer(state: &AppState, n: u64, path: &str, req: Request, next: Next) -> Response {
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let offset = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("offset="))
            .and_then(|v| v.parse::<u64>().ok())
    });
    if let Some(offset) = offset
        && state.live.hold_span.load(Ordering::SeqCst) != 0
    {
        let base = match state.live.hold_base.compare_exchange(
            u64::MAX,
            offset,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => offset,
            Err(base) => base,
        };
        loop {
            let span = state.live.hold_span.load(Ordering::SeqCst);
            if span == 0 || offset.saturating_sub(base) + 1 < span {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // The token endpoint and the description are public, as real APIs have them.
    if path != "/oauth/token" && path != "/openapi.json" {
        if let Ok(mut t) = state.counters.times.lock() {
            t.push(std::time::Instant::now());
        }
        if !authorized(state, &req) {
            let body = json!({"error": "invalid or missing credentials"});
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
    }
    if let Some(every) = state.config.fail_every
        && every > 0
        && n.is_multiple_of(every)
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

/// Whether `req` carries the credential the config demands.
fn authorized(state: &AppState, req: &Request) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    match &state.config.auth {
        MockAuth::None => true,
        MockAuth::Bearer(token) => header("authorization") == Some(format!("Bearer {token}")),
        MockAuth::ApiKeyHeader(name, key) => header(name).as_deref() == Some(key.as_str()),
        MockAuth::ApiKeyQuery(name, key) => query.get(name) == Some(key),
        MockAuth::Basic(user, password) => {
            use base64::Engine;
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            header("authorization") == Some(format!("Basic {encoded}"))
        }
        MockAuth::OAuth2 { revoke_after, .. } => {
            let Some(sent) =
                header("authorization").and_then(|h| h.strip_prefix("Bearer ").map(str::to_string))
            else {
                return false;
            };
            let Ok(mut tokens) = state.counters.tokens.lock() else {
                return false;
            };
            // Only the latest token is valid, and only for `revoke_after` requests.
            match tokens.last_mut() {
                Some((token, uses)) if *token == sent && *uses < *revoke_after => {
                    *uses += 1;
                    true
                }
                _ => false,
            }
        }
    }
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

/// A page of `/orders`.
#[derive(serde::Serialize)]
struct OrdersPage {
    items: Vec<data::Order>,
    total: usize,
}

async fn orders(State(s): State<Arc<AppState>>, Query(q): Params) -> impl IntoResponse {
    let limit = param(&q, "limit", s.config.page_size).max(1);
    let offset = param(&q, "offset", 0);
    let count = s.live.orders.load(Ordering::SeqCst) as usize;
    let discounts = s.live.discount_codes.load(Ordering::SeqCst);
    // Filters are decided from the id alone, so only the returned page is ever built.
    let status = q.get("status").cloned();
    let first_id = match q.get("updated_after") {
        Some(t) => data::first_updated_after(count, t),
        None => 1,
    };
    // Past the last order in range (`updated_before` is exclusive).
    let end = match q.get("updated_before") {
        Some(t) => data::first_updated_after(count, t).max(first_id),
        None => count + 1,
    };
    // Without a status filter the page is a range: no walk over the whole data set, so a
    // million-order benchmark costs the server only the pages it serves.
    let (ids, total): (Vec<usize>, usize) = match status.as_deref() {
        None => (
            window(end, first_id + offset, limit).collect(),
            end.saturating_sub(first_id),
        ),
        Some(st) => {
            let matching = (first_id..end).filter(|&id| data::order_status(id) == st);
            (
                matching.clone().skip(offset).take(limit).collect(),
                matching.count(),
            )
        }
    };
    let items: Vec<data::Order> = ids
        .into_iter()
        .map(|id| match discounts {
            true => data::Order::new(id).with_discount_code(),
            false => data::Order::new(id),
        })
        .collect();
    axum::Json(OrdersPage { items, total })
}

async fn events(State(s): State<Arc<AppState>>, Query(q): Params) -> Response {
    let per_page = s.config.page_size;
    // Cursors are `evt_<offset>`, prefixed `e<epoch>` once cursors have expired.
    let epoch = s.live.cursor_epoch.load(Ordering::SeqCst);
    let prefix = match epoch {
        0 => "evt_".to_string(),
        n => format!("e{n}evt_"),
    };
    let start = match q.get("cursor") {
        None => 0,
        Some(c) => match c.strip_prefix(&prefix).and_then(|c| c.parse().ok()) {
            Some(start) => start,
            None => {
                let body = json!({"error": "cursor expired or invalid"});
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
        },
    };
    let range = window(s.config.events, start, per_page);
    let end = range.end;
    let events: Vec<Value> = range.map(|i| event(i + 1)).collect();
    let next = (end < s.config.events).then(|| format!("{prefix}{end}"));
    axum::Json(json!({"events": events, "next_cursor": next})).into_response()
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

async fn comments(axum::extract::Path(id): axum::extract::Path<usize>) -> impl IntoResponse {
    let list: Vec<Value> = (0..3)
        .map(|k| json!({"id": id * 100 + k, "postId": id, "body": format!("Comment {k} on post {id}")}))
        .collect();
    axum::Json(Value::Array(list))
}

async fn search(State(s): State<Arc<AppState>>, body: axum::Json<Value>) -> impl IntoResponse {
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_string);
    let items: Vec<Value> = (1..=s.live.orders.load(Ordering::SeqCst) as usize)
        .map(order)
        .filter(|o| status.as_deref().is_none_or(|st| o["status"] == st))
        .collect();
    axum::Json(json!({"items": items}))
}

async fn gone() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not found"})),
    )
}

async fn looping() -> impl IntoResponse {
    axum::Json(json!({"items": [{"id": 1}], "next_cursor": "same-cursor"}))
}

async fn token(State(s): State<Arc<AppState>>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let MockAuth::OAuth2 {
        client_id,
        client_secret,
        ..
    } = &s.config.auth
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let valid = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id") == Some(client_id)
        && form.get("client_secret") == Some(client_secret);
    if !valid {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Ok(mut tokens) = s.counters.tokens.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let token = format!("mock-access-token-{}", tokens.len() + 1);
    tokens.push((token.clone(), 0));
    axum::Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 3600}))
        .into_response()
}

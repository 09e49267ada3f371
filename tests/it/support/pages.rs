//! A REST API that serves whatever pages a test sets: `GET /{resource}?page=N` answers
//! `{"data": [...]}` with the N-th page (1-based) of that resource, and an empty list past the
//! last one, so page-number pagination ends there. Real HTTP on 127.0.0.1, on a thread of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::{Value, json};

type Pages = Arc<Mutex<Served>>;

/// What the server answers: each resource's pages, and a page to refuse once.
#[derive(Default)]
struct Served {
    pages: HashMap<String, Vec<Vec<Value>>>,
    /// (resource, 1-based page) answered once with HTTP 400, which fails a sync.
    refuse: Option<(String, usize)>,
}

/// The running server; it stops when dropped.
pub struct PagesApi {
    pages: Pages,
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PagesApi {
    /// Starts the server with no pages.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let pages: Pages = Arc::default();
        let app = Router::new()
            .route("/{resource}", get(page))
            .with_state(pages.clone());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        Self {
            pages,
            base_url,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// From now on `resource` answers with `pages`.
    pub fn set(&self, resource: &str, pages: Vec<Vec<Value>>) {
        let mut all = self.pages.lock().expect("pages lock");
        all.pages.insert(resource.to_string(), pages);
    }

    /// The next request for `page` (1-based) of `resource` gets HTTP 400; `None` disarms it.
    pub fn refuse_once(&self, at: Option<(&str, usize)>) {
        let mut all = self.pages.lock().expect("pages lock");
        all.refuse = at.map(|(r, n)| (r.to_string(), n));
    }
}

impl Drop for PagesApi {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn page(
    State(pages): State<Pages>,
    Path(resource): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let n: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let mut all = pages.lock().expect("pages lock");
    if all.refuse.as_ref() == Some(&(resource.clone(), n)) {
        all.refuse = None;
        let refused = json!({"error": "refused once, by the test"});
        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(refused));
    }
    let records = all
        .pages
        .get(&resource)
        .and_then(|p| p.get(n.wrapping_sub(1)))
        .cloned()
        .unwrap_or_default();
    (
        axum::http::StatusCode::OK,
        axum::Json(json!({ "data": records })),
    )
}

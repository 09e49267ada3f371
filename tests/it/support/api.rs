//! The one way tests start the in-repo mock API (`dango::mock_api`, real HTTP on 127.0.0.1):
//! [`mock_api`] with its defaults changed by name, then [`Api::start`].
//!
//! ```ignore
//! let api = mock_api().orders(3_000).bearer("t0ken").start();
//! ```
//!
//! Test files name the mock API's types through this module only, so they have one place to
//! change when the crate's modules move.

use std::time::Duration;

use dango::mock_api::MockApiConfig;
pub use dango::mock_api::{MockApi, MockAuth};

/// The mock API's defaults: 25 users, 120 orders, 30 events (and posts, products), 250 HubSpot
/// contacts, 10 records a page, no auth, no faults, no latency. Change them, then [`Api::start`].
pub fn mock_api() -> Api {
    Api(MockApiConfig::default())
}

/// The tutorial's My API (`/my_api/...`) as its custom sources call it: bearer token
/// `tutorial-token`, 25 users and 120 orders at 50 a page.
pub fn tutorial_my_api() -> MockApi {
    mock_api()
        .bearer(TUTORIAL_TOKEN)
        .users(25)
        .orders(120)
        .page_size(50)
        .start()
}

/// The key the tutorial's My API sources send as `api_key`.
pub const TUTORIAL_TOKEN: &str = "tutorial-token";

/// What the mock API is to serve, and how it misbehaves; [`Api::start`] runs it.
#[must_use = "start the mock API"]
pub struct Api(MockApiConfig);

impl Api {
    /// Number of users.
    pub fn users(mut self, n: usize) -> Self {
        self.0.users = n;
        self
    }

    /// Number of orders (about 2.5 line items each).
    pub fn orders(mut self, n: usize) -> Self {
        self.0.orders = n;
        self
    }

    /// Number of events (and posts, products).
    pub fn events(mut self, n: usize) -> Self {
        self.0.events = n;
        self
    }

    /// Records a page where the client does not say.
    pub fn page_size(mut self, n: usize) -> Self {
        self.0.page_size = n;
        self
    }

    /// How requests must authenticate.
    pub fn auth(mut self, auth: MockAuth) -> Self {
        self.0.auth = auth;
        self
    }

    /// Requests must send `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.auth(MockAuth::Bearer(token.into()))
    }

    /// Every `n`-th request fails, alternately with 429 (`Retry-After: 0`) and 503.
    pub fn fail_every(mut self, n: u64) -> Self {
        self.0.fail_every = Some(n);
        self
    }

    /// Delay before every response.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.0.latency = latency;
        self
    }

    /// Starts the API on a free port of 127.0.0.1; it stops when dropped.
    pub fn start(self) -> MockApi {
        MockApi::start(self.0).expect("start the mock API")
    }
}

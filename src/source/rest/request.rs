//! One HTTP request of a resource, as paginators see and change it.

use serde_json::Value;
use url::Url;

use super::config::HttpMethod;

/// The next request to send: paginators rewrite its URL or query between pages.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// GET or POST.
    pub method: HttpMethod,
    /// Full URL, without the `query` pairs.
    pub url: Url,
    /// Query parameters, in order; set by config and paginators.
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body, for POST.
    pub json: Option<Value>,
}

impl PageRequest {
    /// Sets query parameter `name` to `value`, replacing an earlier value.
    pub fn set_param(&mut self, name: &str, value: impl ToString) {
        let value = value.to_string();
        match self.query.iter_mut().find(|(k, _)| k == name) {
            Some(pair) => pair.1 = value,
            None => self.query.push((name.to_string(), value)),
        }
    }

    /// Points the request at `url`, whose own query replaces the configured parameters
    /// (a next-page link already carries them).
    pub fn follow(&mut self, url: Url) {
        self.query.clear();
        self.url = url;
    }

    /// The URL with the query applied, as it goes on the wire.
    pub fn full_url(&self) -> Url {
        let mut url = self.url.clone();
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(self.query.iter());
        }
        url
    }
}

/// The string form of a config parameter value: strings as they are, other JSON as JSON.
pub fn param_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

//! Checking a proposal against the live API before it is written: at most two pages per
//! resource, a few requests a second, secrets redacted. It corrects what the description got
//! wrong (where the records really are, a key that repeats, a cursor field that is missing,
//! a paginator the first response contradicts) and notes what it confirmed.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::paging::Paginator;
use super::proposal::{ParamValue, Proposal, ResourcePlan};
use crate::redact::Redactor;
use crate::source::json_path;
use crate::source::rest::paginate::links::next_link;
use crate::source::rest::resource::endpoint_url;

/// Pause between probe requests: well under any API's rate limit.
const PAUSE: Duration = Duration::from_millis(250);

/// Credentials the probe sends, resolved from the project's stores.
#[derive(Debug, Clone)]
pub enum ProbeAuth {
    /// None needed.
    None,
    /// A header.
    Header(String, String),
    /// A query parameter.
    Query(String, String),
    /// HTTP basic.
    Basic(String, String),
    /// OAuth2 client credentials: token URL, client id, secret.
    ClientCredentials(String, String, String),
}

/// What the probe needs to send requests.
pub struct Probe {
    client: reqwest::Client,
    auth: ProbeAuth,
    token: Option<String>,
    vars: BTreeMap<String, String>,
    redactor: Redactor,
}

/// A page as fetched.
struct Page {
    url: Url,
    headers: HeaderMap,
    body: Value,
}

impl Probe {
    /// A probe sending `auth`, with `vars` for the placeholders of paths and parameters.
    pub fn new(
        auth: ProbeAuth,
        vars: BTreeMap<String, String>,
        redactor: Redactor,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Probe {
            client,
            auth,
            token: None,
            vars,
            redactor,
        })
    }

    /// Probes every resource of `p`, parents before their children; an API that cannot be
    /// reached at all is an error (nothing is corrected then).
    pub async fn run(&mut self, p: &mut Proposal) -> Result<(), String> {
        if let ProbeAuth::ClientCredentials(url, id, secret) = &self.auth {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            form.append_pair("client_id", id);
            form.append_pair("client_secret", secret);
            let response = self
                .client
                .post(url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.finish())
                .send()
                .await
                .map_err(|e| self.say(&e.without_url().to_string()))?;
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.say(&e.to_string()))?;
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|_| "the token endpoint's answer is not JSON".to_string())?;
            let token = body
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or("the token endpoint returned no access_token")?;
            self.redactor.add(token);
            self.token = Some(token.to_string());
        }
        let base = p.base_url.0.clone();
        let mut first_records: BTreeMap<String, Value> = BTreeMap::new();
        let mut reached = false;
        let mut last_error = None;
        for (i, r) in p.resources.iter_mut().enumerate() {
            if i > 0 {
                tokio::time::sleep(PAUSE).await;
            }
            match self.resource(&base, r, &first_records).await {
                Ok(first) => {
                    reached = true;
                    if let Some(first) = first {
                        first_records.insert(r.name.clone(), first);
                    }
                }
                Err(e) => {
                    r.notes.push(format!("probe: {e}"));
                    last_error = Some(e);
                }
            }
        }
        match (reached, last_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Probes one resource; returns its first record (for its children's paths). An error is
    /// a request that failed to get any answer.
    async fn resource(
        &self,
        base: &str,
        r: &mut ResourcePlan,
        parents: &BTreeMap<String, Value>,
    ) -> Result<Option<Value>, String> {
        let Some(url) = self.first_url(base, r, parents)? else {
            r.notes
                .push("probe: skipped (a parameter to fill in, or no parent record)".into());
            return Ok(None);
        };
        let page = match self.get(url).await? {
            Ok(page) => page,
            Err(answer) => {
                r.notes
                    .push(format!("probe: the first request {answer} (unconfirmed)"));
                return Ok(None);
            }
        };
        let records = self.locate_records(r, &page.body);
        let Some(records) = records else {
            r.notes
                .push("probe: the first page holds no list of records (unconfirmed)".into());
            return Ok(None);
        };
        check_key(r, &records);
        check_cursor(r, &records);
        check_fields(r, &records);
        let first = records.first().cloned();
        let Some(next) = self.next_url(r, &page, records.len()) else {
            r.notes.push(format!(
                "probe: page 1 had {} record(s) and no next page",
                records.len()
            ));
            return Ok(first);
        };
        tokio::time::sleep(PAUSE).await;
        let Ok(Ok(second)) = self.get(next).await else {
            r.notes
                .push("probe: the second page's request failed".into());
            return Ok(first);
        };
        let selector = r.selector.value.clone().unwrap_or_else(|| "$".into());
        let more = records_at(&second.body, &selector).unwrap_or_default();
        let seen: HashSet<String> = records.iter().map(|v| identity(r, v)).collect();
        let new = more
            .iter()
            .filter(|v| !seen.contains(&identity(r, v)))
            .count();
        if !more.is_empty() && new == 0 {
            r.paging.sure = false;
            r.notes.push("probe: page 2 repeated page 1's records: check the paginator against the API's docs".into());
        } else if more.is_empty() {
            r.notes.push(format!(
                "probe: page 1 had {} record(s), page 2 was empty",
                records.len()
            ));
        } else {
            r.paging.sure = true;
            r.notes.push(format!(
                "probe: page 1 had {} record(s), page 2 brought {new} new",
                records.len()
            ));
        }
        Ok(first)
    }

    /// The first page's URL: the path with its parent's values and placeholders filled, the
    /// parameters set; `None` where a value is missing.
    fn first_url(
        &self,
        base: &str,
        r: &ResourcePlan,
        parents: &BTreeMap<String, Value>,
    ) -> Result<Option<Url>, String> {
        let mut path = r.path.clone();
        if let Some((parent, fields)) = &r.parent {
            let Some(record) = parents.get(parent) else {
                return Ok(None);
            };
            for (_, field) in fields {
                let value = match record.get(field) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return Ok(None),
                };
                path = path.replace(&format!("{{resources.{parent}.{field}}}"), &value);
            }
        }
        for (var, value) in &self.vars {
            path = path.replace(&format!("${{{var}}}"), value);
        }
        if path.contains("${") {
            return Ok(None);
        }
        let mut url = endpoint_url(base, &path).map_err(|e| self.say(&e))?;
        {
            let mut q = url.query_pairs_mut();
            for (name, value, _) in &r.params {
                let value = match value {
                    ParamValue::Number(n) => n.to_string(),
                    ParamValue::Text(t) => t.clone(),
                    ParamValue::Placeholder(var) => match self.vars.get(var) {
                        Some(v) => v.clone(),
                        None => return Ok(None),
                    },
                };
                q.append_pair(name, &value);
            }
        }
        // The first page as the paginator asks for it.
        match &r.paging.paginator {
            Paginator::Offset {
                param,
                limit_param,
                limit,
                ..
            } => {
                url.query_pairs_mut()
                    .append_pair(param, "0")
                    .append_pair(limit_param, &limit.to_string());
            }
            Paginator::PageNumber { param, start, .. } => {
                url.query_pairs_mut().append_pair(param, &start.to_string());
            }
            _ => {}
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(Some(url))
    }

    /// GETs `url` with the credentials: the page, or what the API answered instead (an HTTP
    /// error, a body that is not JSON); `Err` when there was no answer at all.
    async fn get(&self, url: Url) -> Result<Result<Page, String>, String> {
        let mut request = self.client.get(url.clone());
        match &self.auth {
            ProbeAuth::None => {}
            ProbeAuth::Header(name, value) => request = request.header(name, value),
            // Added to the request only: the page's URL, which the next page's is made from,
            // stays without it.
            ProbeAuth::Query(name, value) => {
                let mut with_key = url.clone();
                with_key.query_pairs_mut().append_pair(name, value);
                request = self.client.get(with_key);
            }
            ProbeAuth::Basic(user, password) => request = request.basic_auth(user, Some(password)),
            ProbeAuth::ClientCredentials(..) => {
                request = request.bearer_auth(self.token.clone().unwrap_or_default());
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.say(&e.without_url().to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            return Ok(Err(format!("answered HTTP {status}")));
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return Err(self.say(&e.without_url().to_string())),
        };
        match serde_json::from_slice(&bytes) {
            Ok(body) => Ok(Ok(Page { url, headers, body })),
            Err(_) => Ok(Err("answered with a body that is not JSON".into())),
        }
    }

    /// The records of the first page, correcting the selector if the body has them elsewhere.
    fn locate_records(&self, r: &mut ResourcePlan, body: &Value) -> Option<Vec<Value>> {
        let selector = r.selector.value.clone().unwrap_or_else(|| "$".into());
        if let Some(records) = records_at(body, &selector) {
            r.selector.sure = true;
            return Some(records);
        }
        let found = find_list(body)?;
        let was = r
            .selector
            .value
            .clone()
            .unwrap_or_else(|| "the body".into());
        r.notes.push(format!(
            "probe: the records are at `{found}`, not at `{was}` as the description says"
        ));
        r.selector.value = (found != "$").then(|| found.clone());
        r.selector.why = format!("probe: the first page's list of records is `{found}`");
        r.selector.sure = true;
        records_at(body, &found)
    }

    /// The second page's URL per the paginator; a single page whose response links to a next
    /// one switches the resource to that paginator.
    fn next_url(&self, r: &mut ResourcePlan, page: &Page, count: usize) -> Option<Url> {
        let mut url = page.url.clone();
        let set = |url: &mut Url, name: &str, value: &str| {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != name)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(pairs)
                .append_pair(name, value);
        };
        match &r.paging.paginator {
            Paginator::SinglePage => {
                let link = next_link(&page.headers)?;
                r.paging.paginator = Paginator::HeaderLink;
                r.paging.why = "probe: the first response has a `Link: rel=\"next\"` header".into();
                page.url.join(&link).ok()
            }
            Paginator::HeaderLink => page.url.join(&next_link(&page.headers)?).ok(),
            Paginator::NextUrl { path } => {
                let next = json_path::find(&page.body, path)?.as_str()?;
                page.url.join(next).ok()
            }
            Paginator::Cursor {
                param,
                path,
                has_more,
            } => {
                if let Some(h) = has_more
                    && json_path::find(&page.body, h) == Some(&Value::Bool(false))
                {
                    return None;
                }
                let cursor = match json_path::find(&page.body, path)? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                set(&mut url, param, &cursor);
                Some(url)
            }
            Paginator::Offset { param, limit, .. } => {
                if (count as u64) < *limit {
                    return None;
                }
                set(&mut url, param, &limit.to_string());
                Some(url)
            }
            Paginator::PageNumber { param, start, .. } => {
                if count == 0 {
                    return None;
                }
                set(&mut url, param, &(start + 1).to_string());
                Some(url)
            }
        }
    }

    /// `text` with the secrets the probe knows replaced.
    fn say(&self, text: &str) -> String {
        self.redactor.redact(text)
    }
}

/// The array of objects at `selector`, if that is what it holds.
fn records_at(body: &Value, selector: &str) -> Option<Vec<Value>> {
    let found = if selector == "$" {
        Some(body)
    } else {
        json_path::find(body, selector)
    };
    match found? {
        Value::Array(items) if items.iter().all(Value::is_object) => Some(items.clone()),
        _ => None,
    }
}

/// Where the body keeps a list of objects: itself, or its first such field (one level down too).
fn find_list(body: &Value) -> Option<String> {
    if records_at(body, "$").is_some() {
        return Some("$".into());
    }
    let map = body.as_object()?;
    let is_list = |v: &Value| matches!(v, Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object));
    if let Some((k, _)) = map.iter().find(|(_, v)| is_list(v)) {
        return Some(k.clone());
    }
    map.iter().find_map(|(k, v)| {
        let (inner, _) = v.as_object()?.iter().find(|(_, v)| is_list(v))?;
        Some(format!("{k}.{inner}"))
    })
}

/// Drops a primary key the first page does not bear out: missing on a record, or repeated.
fn check_key(r: &mut ResourcePlan, records: &[Value]) {
    let Some(key) = r.key.clone() else { return };
    let values: Vec<Option<String>> = records
        .iter()
        .map(|v| v.get(&key.value).map(Value::to_string))
        .collect();
    let distinct: HashSet<&Option<String>> = values.iter().collect();
    if values.iter().any(Option::is_none) {
        r.notes.push(format!(
            "probe: a record has no `{}`, so it is not the primary key",
            key.value
        ));
        r.key = None;
    } else if distinct.len() < values.len() {
        r.notes.push(format!(
            "probe: `{}` repeats on the first page, so it is not the primary key",
            key.value
        ));
        r.key = None;
    } else if !records.is_empty()
        && let Some(k) = &mut r.key
    {
        k.sure = true;
        k.why = format!(
            "{}; probe: unique on the first page",
            k.why.trim_end_matches(" (unconfirmed)")
        );
    }
    if r.key.is_none() && r.disposition.0 == "merge" {
        r.disposition = (
            "append",
            "incremental without a primary key: new records are added".into(),
        );
    }
}

/// Drops an incremental cursor whose field the records lack.
fn check_cursor(r: &mut ResourcePlan, records: &[Value]) {
    let Some(cursor) = &r.cursor else { return };
    let Some(first) = records.first() else { return };
    if first.get(&cursor.value.field).is_some_and(|v| !v.is_null()) {
        if let Some(c) = &mut r.cursor {
            c.sure = true;
            c.why = format!(
                "{}; probe: the records have it",
                c.why.trim_end_matches(" (unconfirmed)")
            );
        }
    } else {
        r.notes.push(format!(
            "probe: the records have no `{}`, so the resource is not incremental",
            cursor.value.field
        ));
        r.cursor = None;
        r.disposition = (
            "replace",
            "not incremental: each sync reads the whole list".into(),
        );
    }
}

/// Notes the fields the records have that the description does not list.
fn check_fields(r: &mut ResourcePlan, records: &[Value]) {
    if r.fields.is_empty() {
        return;
    }
    let mut extra: Vec<&str> = records
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys())
        .map(String::as_str)
        .filter(|k| !r.fields.iter().any(|f| f == k))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    if !extra.is_empty() {
        r.notes.push(format!(
            "probe: the records also have {}, which the description does not list (they load as columns too)",
            extra.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
    }
}

/// What tells two records apart: the key if there is one, else the whole record.
fn identity(r: &ResourcePlan, record: &Value) -> String {
    match &r.key {
        Some(k) => record
            .get(&k.value)
            .map(Value::to_string)
            .unwrap_or_default(),
        None => record.to_string(),
    }
}

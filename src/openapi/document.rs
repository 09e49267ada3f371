//! An API description as read: the root document and every file its `$ref`s reach, parsed into
//! JSON values, and `$ref` resolution that refuses cycles. Swagger 2.0 and OpenAPI 3.0/3.1,
//! JSON or YAML, from a file or a URL.
//!
//! No crate reads all three versions (`openapiv3` is 3.0 only, `oas3` 3.1 only, neither reads
//! Swagger 2.0, and both refuse real descriptions for one off-spec field), so the description
//! stays a JSON value and [`super::model`] reads the few parts a source needs.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::refs::{anchor, strings_named, within};

/// The most files one description may pull in through `$ref`s.
const MAX_FILES: usize = 500;
/// The most `$ref`s one lookup follows before it calls them a cycle.
const MAX_REF_HOPS: usize = 64;

/// Which specification the description follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x (JSON Schema 2020-12 schemas).
    OpenApi31,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Swagger2 => "Swagger 2.0",
            Self::OpenApi30 => "OpenAPI 3.0",
            Self::OpenApi31 => "OpenAPI 3.1",
        })
    }
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// A local file.
    File(PathBuf),
    /// A URL (boxed: errors carry a place, and a `Url` is large).
    Url(Box<Url>),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Url(u) => write!(f, "{u}"),
        }
    }
}

impl Place {
    /// The place `reference` (a `$ref`'s part before `#`) names, relative to this one.
    fn join(&self, reference: &str) -> Result<Place, String> {
        match self {
            Self::Url(base) => base
                .join(reference)
                .map(|u| Place::Url(Box::new(u)))
                .map_err(|e| e.to_string()),
            Self::File(path) => match Url::parse(reference) {
                Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {
                    Ok(Place::Url(Box::new(url)))
                }
                _ => {
                    let dir = path.parent().unwrap_or(Path::new("."));
                    Ok(Place::File(dir.join(reference)))
                }
            },
        }
    }
}

/// Why a description could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// A file could not be read.
    #[error("cannot read {place}: {source}")]
    Read {
        /// The file.
        place: Place,
        /// Why.
        source: std::io::Error,
    },
    /// A URL could not be fetched.
    #[error(
        "cannot fetch {place}: {reason} (check the URL, or download the description and pass its path)"
    )]
    Fetch {
        /// The URL.
        place: Place,
        /// Why, as the HTTP client or server said.
        reason: String,
    },
    /// The text is neither JSON nor YAML.
    #[error("{place} is neither JSON nor YAML: {reason}")]
    Parse {
        /// The document.
        place: Place,
        /// The parser's message.
        reason: String,
    },
    /// The root document is not an API description.
    #[error(
        "{place} is not an OpenAPI or Swagger description: {found} (expected `openapi: 3.0.x`, `openapi: 3.1.x` or `swagger: \"2.0\"` at the top)"
    )]
    NotOpenApi {
        /// The document.
        place: Place,
        /// What the top of it holds instead.
        found: String,
    },
    /// A `$ref` that points nowhere.
    #[error("{place}: `$ref: {reference}` at {at} {reason}")]
    BrokenRef {
        /// The document the `$ref` is written in.
        place: Place,
        /// Where in it (a JSON pointer).
        at: String,
        /// The reference as written.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `$ref`s that lead back to themselves without a value in between.
    #[error("{place}: `$ref`s form a cycle: {chain}")]
    RefCycle {
        /// The document the first `$ref` is written in.
        place: Place,
        /// The references followed, in order.
        chain: String,
    },
    /// The description or a file it refers to has no API address.
    #[error("{place}: {reason}")]
    NoServer {
        /// The document.
        place: Place,
        /// What is missing and what to do.
        reason: String,
    },
}

/// One parsed document.
#[derive(Debug)]
struct Doc {
    place: Place,
    value: Value,
}

/// A value inside one of the description's documents (a `$ref` in it is relative to that
/// document).
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// Index of the document.
    pub doc: usize,
    /// The value.
    pub value: &'a Value,
}

impl<'a> Node<'a> {
    /// The member `key` of this object.
    pub fn get(self, key: &str) -> Option<Node<'a>> {
        self.value.get(key).map(|value| Node {
            doc: self.doc,
            value,
        })
    }
}

/// A description: the root document and every document its `$ref`s reach.
#[derive(Debug)]
pub struct Description {
    docs: Vec<Doc>,
    /// Schemas that name themselves with `$id` (JSON Schema 2020-12, OpenAPI 3.1): the id,
    /// the document and the JSON pointer to the schema.
    ids: Vec<(String, usize, String)>,
    /// The specification it follows.
    pub version: Version,
}

impl Description {
    /// Reads the description at `source` (a path or an http(s) URL) and every file its
    /// `$ref`s name, checking that every `$ref` resolves.
    pub fn load(source: &str) -> Result<Description, OpenApiError> {
        let place = match Url::parse(source) {
            Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {
                Place::Url(Box::new(url))
            }
            _ => Place::File(PathBuf::from(source)),
        };
        let text = read_text(&place)?;
        Self::from_text(place, &text)
    }

    /// Parses a description held in memory (`place` names it in messages and anchors relative
    /// `$ref`s).
    pub fn from_text(place: Place, text: &str) -> Result<Description, OpenApiError> {
        let root = parse(&place, text)?;
        let version = version_of(&place, &root)?;
        let mut description = Description {
            docs: vec![Doc { place, value: root }],
            ids: Vec::new(),
            version,
        };
        description.load_referenced()?;
        description.check_refs()?;
        Ok(description)
    }

    /// The root document.
    pub fn root(&self) -> Node<'_> {
        Node {
            doc: 0,
            value: &self.docs[0].value,
        }
    }

    /// Where document `doc` came from.
    pub fn place(&self, doc: usize) -> &Place {
        &self.docs[doc].place
    }

    /// `node` with its `$ref`s followed to the value they name.
    pub fn resolve<'a>(&'a self, node: Node<'a>) -> Result<Node<'a>, OpenApiError> {
        let mut node = node;
        let mut seen: Vec<(usize, String)> = Vec::new();
        while let Some(reference) = node.value.get("$ref").and_then(Value::as_str) {
            let key = (node.doc, reference.to_string());
            if seen.contains(&key) || seen.len() >= MAX_REF_HOPS {
                let chain: Vec<&str> = seen.iter().map(|(_, r)| r.as_str()).collect();
                return Err(OpenApiError::RefCycle {
                    place: self.docs[seen[0].0].place.clone(),
                    chain: format!("{} -> {reference}", chain.join(" -> ")),
                });
            }
            seen.push(key);
            node = self
                .target(node.doc, reference)
                .map_err(|reason| OpenApiError::BrokenRef {
                    place: self.docs[node.doc].place.clone(),
                    at: "(resolving)".into(),
                    reference: reference.to_string(),
                    reason,
                })?;
        }
        Ok(node)
    }

    /// `node` resolved, or `None` where its `$ref` cannot be followed (every `$ref` was
    /// checked at load, so only a cycle gets here: readers treat it as an unknown schema).
    pub fn follow<'a>(&'a self, node: Node<'a>) -> Option<Node<'a>> {
        self.resolve(node).ok()
    }

    /// The value `reference` names, seen from document `doc`.
    fn target(&self, doc: usize, reference: &str) -> Result<Node<'_>, String> {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        // A fragment may escape `{`, `}` and spaces: `#/paths/~1users~1%7Bid%7D`.
        let pointer = crate::source::rest::resource::percent_decode(pointer);
        if let Some((_, doc, at)) = self.ids.iter().find(|(id, _, _)| id == file) {
            let base = self.docs[*doc].value.pointer(at).unwrap_or(&Value::Null);
            return within(base, &pointer)
                .map(|value| Node { doc: *doc, value })
                .ok_or_else(|| {
                    format!("names `#{pointer}`, which the schema `{file}` does not have")
                });
        }
        if file.is_empty() && !pointer.is_empty() && !pointer.starts_with('/') {
            return anchor(&self.docs[doc].value, &pointer)
                .map(|value| Node { doc, value })
                .ok_or_else(|| format!("names the anchor `{pointer}`, which no schema has"));
        }
        let doc = if file.is_empty() {
            doc
        } else {
            let place = self.docs[doc].place.join(file)?;
            self.docs
                .iter()
                .position(|d| d.place == place)
                .ok_or_else(|| format!("names {place}, which was not loaded"))?
        };
        let value = if pointer.is_empty() {
            Some(&self.docs[doc].value)
        } else {
            self.docs[doc].value.pointer(&pointer)
        };
        let value = value.ok_or_else(|| {
            format!(
                "names `{pointer}`, which {} does not have",
                self.docs[doc].place
            )
        })?;
        Ok(Node { doc, value })
    }

    /// Loads every file named by a `$ref` in a loaded document, breadth first.
    fn load_referenced(&mut self) -> Result<(), OpenApiError> {
        let mut next = 0;
        while next < self.docs.len() {
            let mut ids = Vec::new();
            strings_named(&self.docs[next].value, "$id", &mut |at, id| {
                ids.push((id.to_string(), next, at.to_string()));
            });
            self.ids.extend(ids);
            let mut files = Vec::new();
            let known = &self.ids;
            strings_named(&self.docs[next].value, "$ref", &mut |at, reference| {
                let file = reference.split('#').next().unwrap_or("");
                // A schema's `$id` is a name, not a file to load.
                if !file.is_empty() && !known.iter().any(|(id, _, _)| id == file) {
                    files.push((at.to_string(), reference.to_string(), file.to_string()));
                }
            });
            for (at, reference, file) in files {
                let from = self.docs[next].place.clone();
                let place = from.join(&file).map_err(|reason| OpenApiError::BrokenRef {
                    place: from.clone(),
                    at: at.clone(),
                    reference: reference.clone(),
                    reason,
                })?;
                if self.docs.iter().any(|d| d.place == place) {
                    continue;
                }
                if self.docs.len() >= MAX_FILES {
                    return Err(OpenApiError::BrokenRef {
                        place: from,
                        at,
                        reference,
                        reason: format!("would load more than {MAX_FILES} files"),
                    });
                }
                let value = read(&place).map_err(|e| OpenApiError::BrokenRef {
                    place: from,
                    at,
                    reference,
                    reason: format!("cannot be loaded: {e}"),
                })?;
                self.docs.push(Doc { place, value });
            }
            next += 1;
        }
        Ok(())
    }

    /// Checks that every `$ref` in every document resolves, so that a broken one is reported
    /// with the place it is written at, before anything is written.
    fn check_refs(&self) -> Result<(), OpenApiError> {
        let mut checked: HashSet<(usize, String)> = HashSet::new();
        for (doc, d) in self.docs.iter().enumerate() {
            let mut refs = Vec::new();
            strings_named(&d.value, "$ref", &mut |at, reference| {
                refs.push((at.to_string(), reference.to_string()));
            });
            for (at, reference) in refs {
                if !checked.insert((doc, reference.clone())) {
                    continue;
                }
                let first =
                    self.target(doc, &reference)
                        .map_err(|reason| OpenApiError::BrokenRef {
                            place: d.place.clone(),
                            at: if at.is_empty() {
                                "/".into()
                            } else {
                                at.clone()
                            },
                            reference: reference.clone(),
                            reason,
                        })?;
                self.resolve(first).map_err(|e| match e {
                    OpenApiError::BrokenRef {
                        place,
                        reference,
                        reason,
                        ..
                    } => OpenApiError::BrokenRef {
                        place,
                        at: format!("the end of the chain from {at}"),
                        reference,
                        reason,
                    },
                    OpenApiError::RefCycle { place, chain } => OpenApiError::RefCycle {
                        place,
                        chain: format!("{reference} (at {at}) -> {chain}"),
                    },
                    other => other,
                })?;
            }
        }
        Ok(())
    }
}

/// Reads and parses the document at `place`.
fn read(place: &Place) -> Result<Value, OpenApiError> {
    parse(place, &read_text(place)?)
}

/// The text of the document at `place`.
fn read_text(place: &Place) -> Result<String, OpenApiError> {
    Ok(match place {
        Place::File(path) => {
            std::fs::read_to_string(path).map_err(|source| OpenApiError::Read {
                place: place.clone(),
                source,
            })?
        }
        Place::Url(url) => fetch(url).map_err(|reason| OpenApiError::Fetch {
            place: place.clone(),
            reason,
        })?,
    })
}

/// Fetches a description over HTTP(S).
fn fetch(url: &Url) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())
    })
}

/// JSON or YAML text to a JSON value; YAML's non-string keys (`200:`) become strings.
fn parse(place: &Place, text: &str) -> Result<Value, OpenApiError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{')
        && let Ok(value) = serde_json::from_str(text)
    {
        return Ok(value);
    }
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| OpenApiError::Parse {
            place: place.clone(),
            reason: e.to_string(),
        })?;
    Ok(yaml_to_json(yaml))
}

/// A YAML value as JSON: keys as their text, tags dropped, non-finite numbers as null.
fn yaml_to_json(yaml: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// The specification the root document declares.
fn version_of(place: &Place, root: &Value) -> Result<Version, OpenApiError> {
    let not = |found: String| OpenApiError::NotOpenApi {
        place: place.clone(),
        found,
    };
    let Some(map) = root.as_object() else {
        return Err(not(format!("its top level is {}", kind_of(root))));
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(v) = map.get("swagger") {
        return match text(v).as_str() {
            "2.0" | "2" => Ok(Version::Swagger2),
            other => Err(not(format!(
                "`swagger: {other}` is not a version Dango reads"
            ))),
        };
    }
    let Some(v) = map.get("openapi") else {
        let keys: Vec<&str> = map.keys().take(5).map(String::as_str).collect();
        return Err(not(format!("its top-level keys are {}", keys.join(", "))));
    };
    let v = text(v);
    if v.starts_with("3.0") {
        Ok(Version::OpenApi30)
    } else if v.starts_with("3.1") || v.starts_with("3.2") {
        Ok(Version::OpenApi31)
    } else {
        Err(not(format!("`openapi: {v}` is not a version Dango reads")))
    }
}

/// A JSON value's kind, for messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Description, OpenApiError> {
        Description::from_text(Place::File("api.yaml".into()), text)
    }

    #[test]
    fn versions_are_told_apart_and_other_files_refused() {
        assert_eq!(
            doc("swagger: '2.0'\npaths: {}").unwrap().version,
            Version::Swagger2
        );
        assert_eq!(
            doc("openapi: 3.0.3\npaths: {}").unwrap().version,
            Version::OpenApi30
        );
        assert_eq!(
            doc(r#"{"openapi": "3.1.0"}"#).unwrap().version,
            Version::OpenApi31
        );
        let e = doc("name: my_api\nsources: []").unwrap_err().to_string();
        assert!(
            e.contains("api.yaml is not an OpenAPI") && e.contains("name, sources"),
            "{e}"
        );
        let e = doc("[1, 2").unwrap_err().to_string();
        assert!(e.contains("neither JSON nor YAML"), "{e}");
    }

    #[test]
    fn refs_resolve_through_chains_and_cycles_and_dangling_refs_are_named() {
        let d = doc(
            "openapi: 3.0.0\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {type: object}\n",
        )
        .unwrap();
        let a = d.root().value.pointer("/components/schemas/A").unwrap();
        let b = d.resolve(Node { doc: 0, value: a }).unwrap();
        assert_eq!(b.value["type"], "object");
        let e = doc("openapi: 3.0.0\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cycle") && e.contains("#/components/schemas/A"),
            "{e}"
        );
        let e = doc("openapi: 3.0.0\npaths:\n  /x: {$ref: '#/components/pathItems/X'}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/paths/~1x") && e.contains("#/components/pathItems/X"),
            "{e}"
        );
        let e = doc("openapi: 3.0.0\npaths:\n  /x: {$ref: 'missing.yaml#/X'}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing.yaml") && e.contains("cannot be loaded"),
            "{e}"
        );
    }

    #[test]
    fn yaml_keys_that_are_numbers_become_strings() {
        let d = doc("openapi: 3.0.0\nresponses:\n  200: {description: ok}\n").unwrap();
        assert_eq!(d.root().value["responses"]["200"]["description"], "ok");
    }
}

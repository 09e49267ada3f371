//! The parts of a description a source is made from, the same for Swagger 2.0 and OpenAPI 3:
//! where the API is, its operations (path, method, parameters, JSON response schema and
//! headers) and its security schemes.

use serde_json::Value;
use url::Url;

use super::document::{Description, Node, OpenApiError, Place, Version};

/// The methods an operation may have, in the order paths list them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An API as its description states it.
#[derive(Debug)]
pub struct Api<'a> {
    /// `info.title`.
    pub title: String,
    /// Where requests go and which field said so.
    pub server: (String, String),
    /// Every operation, in the order of `paths`.
    pub operations: Vec<Operation<'a>>,
    /// The security schemes, by name.
    pub schemes: Vec<SecurityScheme>,
    /// The top-level `security`: alternatives, each a set of scheme names.
    pub security: Vec<Vec<String>>,
}

/// One operation: a method on a path.
#[derive(Debug)]
pub struct Operation<'a> {
    /// The path as written (`/users/{id}/orders`).
    pub path: String,
    /// Lower-case method.
    pub method: String,
    /// Its parameters, the path item's merged in.
    pub params: Vec<Param<'a>>,
    /// What a success returns.
    pub response: Response<'a>,
    /// Its own `security`, if it sets one.
    pub security: Option<Vec<Vec<String>>>,
}

impl Operation<'_> {
    /// The response headers the operation declares.
    pub fn response_headers(&self) -> &[String] {
        match &self.response {
            Response::Json { headers, .. } => headers,
            _ => &[],
        }
    }
}

/// What an operation's success response holds.
#[derive(Debug)]
pub enum Response<'a> {
    /// JSON, with its schema if one is given, and the response headers it declares.
    Json {
        /// The body's schema.
        schema: Option<Node<'a>>,
        /// Declared response headers.
        headers: Vec<String>,
    },
    /// Something else (a file, text, XML).
    Other(String),
    /// No 2xx response is described.
    Missing,
}

/// One parameter.
#[derive(Debug, Clone)]
pub struct Param<'a> {
    /// Its name.
    pub name: String,
    /// `query`, `path`, `header`, `cookie` or `body`.
    pub location: String,
    /// Whether the API needs it.
    pub required: bool,
    /// Its schema (in Swagger 2.0 the parameter itself, which carries `type` and `format`).
    pub schema: Option<Node<'a>>,
    /// Its description.
    pub description: String,
}

/// A way the API authenticates.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityScheme {
    /// Its name in the description.
    pub name: String,
    /// What it is.
    pub kind: SchemeKind,
}

/// The kinds of security scheme.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemeKind {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// HTTP basic.
    Basic,
    /// A key in a header, the query or a cookie.
    ApiKey {
        /// The header, parameter or cookie name.
        name: String,
        /// `header`, `query` or `cookie`.
        location: String,
    },
    /// OAuth2 with a client credentials flow.
    ClientCredentials {
        /// Where tokens come from.
        token_url: String,
        /// The scopes the flow lists.
        scopes: Vec<String>,
    },
    /// Anything else (other OAuth2 flows, OpenID Connect, HTTP schemes Dango has no auth for).
    Other(String),
}

impl<'a> Api<'a> {
    /// Reads the API out of `desc`. `base_url` replaces the servers the description lists.
    pub fn read(desc: &'a Description, base_url: Option<&str>) -> Result<Api<'a>, OpenApiError> {
        let root = desc.root();
        let title = root
            .value
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("API")
            .to_string();
        let server = match base_url {
            Some(url) => (url.to_string(), "--base-url".to_string()),
            None => server(desc)?,
        };
        let schemes = schemes(desc);
        let security = requirements(root.value.get("security"));
        let mut operations = Vec::new();
        if let Some(paths) = root.value.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let item = desc.resolve(Node {
                    doc: 0,
                    value: item,
                })?;
                let shared = params(desc, item.get("parameters"))?;
                for method in METHODS {
                    let Some(op) = item.get(method) else { continue };
                    let mut params = params(desc, op.get("parameters"))?;
                    for p in &shared {
                        if !params
                            .iter()
                            .any(|q| q.name == p.name && q.location == p.location)
                        {
                            params.push(p.clone());
                        }
                    }
                    operations.push(Operation {
                        path: path.clone(),
                        method: method.to_string(),
                        params,
                        response: response(desc, op, root.value)?,
                        security: op.value.get("security").map(|s| requirements(Some(s))),
                    });
                }
            }
        }
        Ok(Api {
            title,
            server,
            operations,
            schemes,
            security,
        })
    }
}

/// The base URL and the field it came from; a relative one is resolved against the
/// description's URL, and is an error for a file.
fn server(desc: &Description) -> Result<(String, String), OpenApiError> {
    let root = desc.root().value;
    let place = desc.place(0);
    let (url, from) = match desc.version {
        Version::Swagger2 => {
            let scheme = root
                .pointer("/schemes/0")
                .and_then(Value::as_str)
                .unwrap_or("https");
            let base_path = root.get("basePath").and_then(Value::as_str).unwrap_or("");
            match root.get("host").and_then(Value::as_str) {
                Some(host) => (
                    format!("{scheme}://{host}{base_path}"),
                    "host, basePath and schemes",
                ),
                None => (base_path.to_string(), "basePath (there is no host)"),
            }
        }
        Version::OpenApi30 | Version::OpenApi31 => {
            let Some(first) = root.pointer("/servers/0") else {
                return relative(place, "", "the description lists no `servers`");
            };
            let mut url = first
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some(vars) = first.get("variables").and_then(Value::as_object) {
                for (name, var) in vars {
                    let default = var.get("default").and_then(Value::as_str).unwrap_or("");
                    url = url.replace(&format!("{{{name}}}"), default);
                }
            }
            (url, "servers[0].url")
        }
    };
    if Url::parse(&url).is_ok_and(|u| !u.cannot_be_a_base()) {
        return Ok((url, from.to_string()));
    }
    relative(
        place,
        &url,
        &format!("{from} `{url}` is not an absolute URL"),
    )
}

/// A server relative to the description: fine when it was fetched, an error for a file.
fn relative(place: &Place, url: &str, why: &str) -> Result<(String, String), OpenApiError> {
    match place {
        Place::Url(base) => {
            let joined = base
                .join(if url.is_empty() { "/" } else { url })
                .map_err(|e| OpenApiError::NoServer {
                    place: place.clone(),
                    reason: format!(
                        "{why}, and it does not resolve against the description's URL: {e}"
                    ),
                })?;
            Ok((
                joined.as_str().trim_end_matches('/').to_string(),
                "relative to the description's URL".into(),
            ))
        }
        Place::File(_) => Err(OpenApiError::NoServer {
            place: place.clone(),
            reason: format!(
                "{why}, so where the API is cannot be known from a file: pass --base-url \
                 https://api.example.com (or give the description's URL instead of a file)"
            ),
        }),
    }
}

/// The parameters listed at `list`, `$ref`s followed.
fn params<'a>(
    desc: &'a Description,
    list: Option<Node<'a>>,
) -> Result<Vec<Param<'a>>, OpenApiError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for value in list.value.as_array().into_iter().flatten() {
        let p = desc.resolve(Node {
            doc: list.doc,
            value,
        })?;
        let text = |k: &str| {
            p.value
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let location = text("in");
        let schema = match p.get("schema") {
            Some(schema) => Some(desc.resolve(schema)?),
            // Swagger 2.0: a non-body parameter carries its own `type` and `format`.
            None => Some(p),
        };
        out.push(Param {
            name: text("name"),
            required: p
                .value
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(location == "path"),
            location,
            schema,
            description: text("description"),
        });
    }
    Ok(out)
}

/// The first 2xx response's JSON body schema and headers.
fn response<'a>(
    desc: &'a Description,
    op: Node<'a>,
    root: &Value,
) -> Result<Response<'a>, OpenApiError> {
    let Some(responses) = op.get("responses") else {
        return Ok(Response::Missing);
    };
    let Some(map) = responses.value.as_object() else {
        return Ok(Response::Missing);
    };
    let Some((_, value)) = map
        .iter()
        .find(|(code, _)| code.starts_with('2') && code.as_str() != "204")
    else {
        return Ok(Response::Missing);
    };
    let resp = desc.resolve(Node {
        doc: responses.doc,
        value,
    })?;
    let headers: Vec<String> = resp
        .value
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.keys().cloned().collect())
        .unwrap_or_default();
    match desc.version {
        Version::Swagger2 => {
            let produces = op
                .value
                .get("produces")
                .or_else(|| root.get("produces"))
                .and_then(Value::as_array);
            if let Some(types) = produces {
                let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                if !types.is_empty() && !types.iter().any(|t| is_json(t)) {
                    return Ok(Response::Other(types.join(", ")));
                }
            }
            let schema = resp.get("schema").map(|s| desc.resolve(s)).transpose()?;
            Ok(Response::Json { schema, headers })
        }
        Version::OpenApi30 | Version::OpenApi31 => {
            let Some(content) = resp.value.get("content").and_then(Value::as_object) else {
                return Ok(Response::Json {
                    schema: None,
                    headers,
                });
            };
            match content.iter().find(|(media, _)| is_json(media)) {
                Some((_, media)) => {
                    let schema = Node {
                        doc: resp.doc,
                        value: media,
                    }
                    .get("schema")
                    .map(|s| desc.resolve(s))
                    .transpose()?;
                    Ok(Response::Json { schema, headers })
                }
                None => Ok(Response::Other(
                    content.keys().cloned().collect::<Vec<_>>().join(", "),
                )),
            }
        }
    }
}

/// Whether a media type is JSON (`application/json`, `application/vnd.api+json`, `*/*`).
fn is_json(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or("").trim();
    media.ends_with("/json") || media.ends_with("+json") || media == "*/*"
}

/// `security:` requirements: alternatives, each a set of scheme names.
fn requirements(value: Option<&Value>) -> Vec<Vec<String>> {
    value
        .and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .map(|alt| {
                    alt.as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The security schemes of either version.
fn schemes(desc: &Description) -> Vec<SecurityScheme> {
    let root = desc.root();
    let defs = match desc.version {
        Version::Swagger2 => root.get("securityDefinitions"),
        _ => root
            .value
            .pointer("/components/securitySchemes")
            .map(|value| Node { doc: 0, value }),
    };
    let Some(defs) = defs.and_then(|d| d.value.as_object().map(|m| (d.doc, m))) else {
        return Vec::new();
    };
    let (doc, defs) = defs;
    defs.iter()
        .filter_map(|(name, value)| {
            let s = desc.follow(Node { doc, value })?.value;
            let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let kind = match text("type").as_str() {
                "http" if text("scheme").eq_ignore_ascii_case("bearer") => SchemeKind::Bearer,
                "http" if text("scheme").eq_ignore_ascii_case("basic") => SchemeKind::Basic,
                "basic" => SchemeKind::Basic,
                "apiKey" => SchemeKind::ApiKey {
                    name: text("name"),
                    location: text("in"),
                },
                "oauth2" => client_credentials(s).unwrap_or_else(|| {
                    SchemeKind::Other(format!(
                        "OAuth2 without a client credentials flow ({})",
                        flows(s)
                    ))
                }),
                other => {
                    SchemeKind::Other(format!("{other} {}", text("scheme")).trim().to_string())
                }
            };
            Some(SecurityScheme {
                name: name.clone(),
                kind,
            })
        })
        .collect()
}

/// An OAuth2 scheme's client credentials flow (3.x `flows.clientCredentials`, 2.0
/// `flow: application`).
fn client_credentials(s: &Value) -> Option<SchemeKind> {
    let flow = s
        .pointer("/flows/clientCredentials")
        .or_else(|| (s.get("flow").and_then(Value::as_str) == Some("application")).then_some(s))?;
    let scopes = flow
        .get("scopes")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    Some(SchemeKind::ClientCredentials {
        token_url: flow.get("tokenUrl").and_then(Value::as_str)?.to_string(),
        scopes,
    })
}

/// The names of an OAuth2 scheme's flows.
fn flows(s: &Value) -> String {
    match s.get("flows").and_then(Value::as_object) {
        Some(m) => m.keys().cloned().collect::<Vec<_>>().join(", "),
        None => s
            .get("flow")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string(),
    }
}

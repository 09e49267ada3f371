//! Reads `.dango/sources.yml` into [`SourcesFile`], reporting every problem at once: each source
//! and each resource is parsed on its own, so one mistake does not hide the next.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::config::{
    EndpointConfig, PaginationConfig, ResourceConfig, SourceConfig, SourceKind, SourcesFile,
};
use super::credentials::Credentials;
use super::dlt_forms;
use super::errors::{ConfigError, ConfigErrors, FieldSeg, did_you_mean, render_path};
use super::interpolate::interpolate;
use super::locate::locate;
use crate::source::rest::dependent::parent_refs;
use crate::source::rest::json_path;

const TOP_LEVEL_KEYS: [&str; 3] = ["version", "parallel", "sources"];
const SUPPORTED_VERSIONS: [&str; 2] = ["1", "1.0"];

/// Everything needed to turn a problem into a [`ConfigError`] that points at a line.
struct Reporter<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Reporter<'_> {
    fn report(
        &mut self,
        source: Option<&str>,
        path: &[FieldSeg],
        message: String,
        hint: Option<String>,
    ) {
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line: locate(self.text, path),
            source: source.map(str::to_string),
            field: render_path(path),
            message,
            hint,
        });
    }
}

/// Parses and validates the sources file at `file`.
pub fn load_sources_file(file: &Path) -> Result<SourcesFile, ConfigErrors> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            line: None,
            source: None,
            field: String::new(),
            message: format!("cannot read it: {e}"),
            hint: Some("run `dango init` to create a project, or pass --project DIR".into()),
        }])
    })?;
    parse_sources(file, &text)
}

/// Parses and validates sources-file `text` (read from `file`, used in messages).
pub fn parse_sources(file: &Path, text: &str) -> Result<SourcesFile, ConfigErrors> {
    let mut r = Reporter {
        file,
        text,
        errors: Vec::new(),
    };
    let doc: Value = match serde_yaml_ng::from_str(text) {
        Ok(Value::Null) => Value::Object(Map::new()),
        Ok(v) => v,
        Err(e) => {
            r.errors.push(ConfigError {
                file: file.to_path_buf(),
                line: e.location().map(|l| l.line()),
                source: None,
                field: String::new(),
                message: format!("not valid YAML: {e}"),
                hint: None,
            });
            return Err(ConfigErrors(r.errors));
        }
    };
    let Value::Object(top) = doc else {
        r.report(
            None,
            &[],
            "the file must be a mapping with a `sources:` list".into(),
            None,
        );
        return Err(ConfigErrors(r.errors));
    };
    for key in top.keys().filter(|k| !TOP_LEVEL_KEYS.contains(&k.as_str())) {
        let hint = did_you_mean(key, TOP_LEVEL_KEYS);
        r.report(
            None,
            &[FieldSeg::Key(key.clone())],
            "unknown key".into(),
            hint,
        );
    }
    check_version(&mut r, top.get("version"));
    let parallel = parse_parallel(&mut r, top.get("parallel"));
    let sources = match top.get("sources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            let path = [FieldSeg::Key("sources".into())];
            r.report(
                None,
                &path,
                "must be a list of sources (`- name: ...`)".into(),
                None,
            );
            Vec::new()
        }
    };
    let mut parsed = Vec::new();
    let mut names = BTreeSet::new();
    for (i, raw) in sources.into_iter().enumerate() {
        let path = vec![FieldSeg::Key("sources".into()), FieldSeg::Index(i)];
        // Names are checked on the raw YAML, so a duplicate is found even if its entry is broken.
        if let Some(name) = raw.get("name").and_then(Value::as_str)
            && !names.insert(name.to_string())
        {
            let at = [path.clone(), vec![FieldSeg::Key("name".into())]].concat();
            let msg = "duplicate source name; every source needs its own".to_string();
            r.report(Some(name), &at, msg, None);
        }
        if let Some(source) = parse_source(&mut r, &path, raw) {
            parsed.push(source);
        }
    }
    if r.errors.is_empty() {
        Ok(SourcesFile {
            sources: parsed,
            parallel,
        })
    } else {
        Err(ConfigErrors(r.errors))
    }
}

fn check_version(r: &mut Reporter<'_>, version: Option<&Value>) {
    let text = match version {
        None => return,
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => String::new(),
    };
    if !SUPPORTED_VERSIONS.contains(&text.as_str()) {
        let path = [FieldSeg::Key("version".into())];
        r.report(
            None,
            &path,
            format!("unsupported version {text:?}"),
            Some("use \"1.0\"".into()),
        );
    }
}

/// The top-level `parallel:`, a positive number of resources to sync at once.
fn parse_parallel(r: &mut Reporter<'_>, value: Option<&Value>) -> Option<NonZeroUsize> {
    let value = value?;
    let parsed = value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .and_then(NonZeroUsize::new);
    if parsed.is_none() {
        r.report(
            None,
            &[FieldSeg::Key("parallel".into())],
            format!("must be a whole number of at least 1, not {value}"),
            Some("for example `parallel: 4`; leave it out to use one per CPU core".into()),
        );
    }
    parsed
}

/// Parses one source, reporting its problems and those of each of its resources.
fn parse_source(r: &mut Reporter<'_>, path: &[FieldSeg], mut raw: Value) -> Option<SourceConfig> {
    let original = raw.clone();
    let name = raw.get("name").and_then(Value::as_str).map(str::to_string);
    let name = name.as_deref();
    // Resources are parsed one by one below, so each one's errors are reported.
    let (resources, defaults) = match raw.get_mut("rest_api").and_then(Value::as_object_mut) {
        Some(rest) => {
            dlt_forms::expand_rest_api(rest);
            (rest.remove("resources"), rest.remove("resource_defaults"))
        }
        None => (None, None),
    };
    let mut source: Option<SourceConfig> = deserialize(r, name, path, raw);
    let rest_path = [path, &[FieldSeg::Key("rest_api".into())]].concat();
    let res_path = [rest_path.as_slice(), &[FieldSeg::Key("resources".into())]].concat();
    let mut parsed = Vec::new();
    match resources {
        Some(Value::Array(items)) => {
            let mut seen = BTreeSet::new();
            for (i, item) in items.into_iter().enumerate() {
                let at = [res_path.as_slice(), &[FieldSeg::Index(i)]].concat();
                let item = dlt_forms::expand_resource(item, defaults.as_ref());
                if let Some(res_name) = item.get("name").and_then(Value::as_str)
                    && !seen.insert(res_name.to_string())
                {
                    let at = [at.clone(), vec![FieldSeg::Key("name".into())]].concat();
                    r.report(
                        name,
                        &at,
                        "duplicate resource name in this source".into(),
                        None,
                    );
                }
                if let Some(res) = deserialize::<ResourceConfig>(r, name, &at, item) {
                    parsed.push(res);
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => r.report(name, &res_path, "must be a list of resources".into(), None),
    }
    let source = source.as_mut()?;
    check_source(r, path, source, &parsed);
    if let Some(rest) = source.rest_api.as_mut() {
        rest.resources = parsed;
    }
    source.raw = original;
    Some(source.clone())
}

/// Rules that span fields: the block matching `type`, at least one resource.
fn check_source(
    r: &mut Reporter<'_>,
    path: &[FieldSeg],
    s: &SourceConfig,
    resources: &[ResourceConfig],
) {
    let name = Some(s.name.as_str());
    let field = |k: &str| [path, &[FieldSeg::Key(k.into())]].concat();
    match s.kind {
        SourceKind::RestApi if s.rest_api.is_none() => {
            let msg = "a `type: rest_api` source needs a `rest_api:` block with `base_url` and `resources`";
            r.report(name, &field("rest_api"), msg.into(), None);
        }
        SourceKind::RestApi if resources.is_empty() => {
            let at = [field("rest_api"), vec![FieldSeg::Key("resources".into())]].concat();
            r.report(
                name,
                &at,
                "no resources: list at least one endpoint to load".into(),
                None,
            );
        }
        SourceKind::DltNative if s.dlt_native.is_none() => {
            let msg =
                "a `type: dlt_native` source needs `dlt_native: {source_module, source_name}`";
            r.report(name, &field("dlt_native"), msg.into(), None);
        }
        _ => {}
    }
    if let Some(rest) = &s.rest_api {
        let at = [field("rest_api"), vec![FieldSeg::Key("base_url".into())]].concat();
        match rest.effective_base_url() {
            None => {
                let msg = "missing `base_url` (or `client: {base_url: ...}`)".to_string();
                r.report(
                    name,
                    &at,
                    msg,
                    Some("e.g. base_url: https://api.example.com".into()),
                );
            }
            Some(url) if !url.contains("${") => {
                if let Err(e) = url::Url::parse(url) {
                    let msg = format!("`{url}` is not a URL ({e})");
                    let hint = Some("write it in full, e.g. https://api.example.com".into());
                    r.report(name, &at, msg, hint);
                }
            }
            Some(_) => {}
        }
        if let Some(limit) = &rest.rate_limit
            && limit.rate_and_burst().0.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            let at = [field("rest_api"), vec![FieldSeg::Key("rate_limit".into())]].concat();
            r.report(
                name,
                &at,
                "must be a positive number of requests per second".into(),
                None,
            );
        }
    }
    let res_path = |i: usize| {
        [
            field("rest_api"),
            vec![FieldSeg::Key("resources".into()), FieldSeg::Index(i)],
        ]
        .concat()
    };
    for (i, problem) in resource_problems(resources) {
        r.report(name, &res_path(i), problem, None);
    }
}

/// Rules a single resource's types cannot express: valid JSONPaths, parents that exist.
fn resource_problems(resources: &[ResourceConfig]) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    for (i, res) in resources.iter().enumerate() {
        let ep = res.effective_endpoint();
        for path in json_paths(&ep) {
            if let Err(e) = json_path::validate(path) {
                problems.push((i, e.to_string()));
            }
        }
        let parents: BTreeSet<String> = parent_refs(&ep).into_iter().map(|p| p.resource).collect();
        if parents.len() > 1 {
            let list = parents.iter().cloned().collect::<Vec<_>>().join(", ");
            problems.push((
                i,
                format!("depends on several resources ({list}); only one parent is allowed"),
            ));
        }
        for parent in &parents {
            if parent == &res.name {
                problems.push((i, "refers to itself in `{resources....}`".into()));
            } else if !resources.iter().any(|r| &r.name == parent) {
                let hint = did_you_mean(parent, resources.iter().map(|r| r.name.as_str()))
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                problems.push((
                    i,
                    format!("refers to resource `{parent}`, which this source does not have{hint}"),
                ));
            }
        }
    }
    problems
}

fn json_paths(ep: &EndpointConfig) -> Vec<&str> {
    let mut paths: Vec<&str> = ep.data_selector.as_deref().into_iter().collect();
    match &ep.paginator {
        Some(PaginationConfig::PageNumber(c)) => {
            paths.extend(c.total_path.as_deref());
            paths.extend(c.has_more_path.as_deref());
        }
        Some(PaginationConfig::Offset(c)) => {
            paths.extend(c.total_path.as_deref());
            paths.extend(c.has_more_path.as_deref());
        }
        Some(PaginationConfig::Cursor(c)) => {
            paths.push(&c.cursor_path);
            paths.extend(c.has_more_path.as_deref());
        }
        Some(PaginationConfig::NextUrl(c)) => paths.push(&c.next_url_path),
        _ => {}
    }
    paths
}

/// Deserializes `raw` as `T`, reporting a failure at the field it happened in.
fn deserialize<T: DeserializeOwned>(
    r: &mut Reporter<'_>,
    source: Option<&str>,
    path: &[FieldSeg],
    raw: Value,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(raw) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut at = path.to_vec();
            at.extend(e.path().iter().filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(FieldSeg::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(FieldSeg::Index(*index)),
                _ => None,
            }));
            let message = e.inner().to_string();
            let hint = suggestion(&message);
            r.report(source, &at, message, hint);
            None
        }
    }
}

/// A did-you-mean for serde's "unknown field `x`, expected one of `a`, `b`" messages.
fn suggestion(message: &str) -> Option<String> {
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (bad, expected) = quoted.split_first()?;
    did_you_mean(bad, expected.iter().copied())
}

/// `source` with every `${VAR}` replaced from `creds`; unset variables are errors naming them.
pub fn resolve_source(
    file: &Path,
    source: &SourceConfig,
    creds: &Credentials,
) -> Result<SourceConfig, ConfigErrors> {
    let mut value = source.raw.clone();
    if let Some(rest) = value.get_mut("rest_api").and_then(Value::as_object_mut) {
        dlt_forms::expand_rest_api(rest);
        dlt_forms::fill_auth_secrets(rest, &|field| creds.lookup_field(&source.name, field));
    }
    let unset = interpolate(&mut value, &source.name, creds);
    if !unset.is_empty() {
        let errors = unset
            .into_iter()
            .map(|u| ConfigError {
                file: file.to_path_buf(),
                line: None,
                source: Some(source.name.clone()),
                field: render_path(&u.path),
                message: format!("`${{{}}}` is not set", u.name),
                hint: Some(format!(
                    "set {} in the environment, in .env, or in .dlt/secrets.toml",
                    u.name
                )),
            })
            .collect();
        return Err(ConfigErrors(errors));
    }
    let text =
        serde_json::to_string(&serde_json::json!({ "sources": [value] })).unwrap_or_default();
    let parsed = parse_sources(file, &text).map_err(|e| {
        // Only reachable when a substituted value changes a field's type; never echo the value.
        ConfigErrors(
            e.0.into_iter()
                .map(|mut err| {
                    err.message = "invalid after substituting ${...} variables".into();
                    err.line = None;
                    err
                })
                .collect(),
        )
    })?;
    parsed
        .sources
        .into_iter()
        .next()
        .ok_or_else(|| ConfigErrors(Vec::new()))
}

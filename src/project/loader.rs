//! Reads `.dango/sources.yml` into [`SourcesFile`], reporting every problem at once: each source
//! and each resource is parsed on its own, so one mistake does not hide the next.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::config::{ResourceConfig, SourceConfig, SourceKind, SourcesFile};
use super::credentials::Credentials;
use super::errors::{ConfigError, ConfigErrors, FieldSeg, did_you_mean, render_path};
use super::interpolate::interpolate;
use super::locate::locate;

const TOP_LEVEL_KEYS: [&str; 2] = ["version", "sources"];
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
        Ok(SourcesFile { sources: parsed })
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

/// Parses one source, reporting its problems and those of each of its resources.
fn parse_source(r: &mut Reporter<'_>, path: &[FieldSeg], mut raw: Value) -> Option<SourceConfig> {
    let original = raw.clone();
    let name = raw.get("name").and_then(Value::as_str).map(str::to_string);
    let name = name.as_deref();
    // Resources are parsed one by one below, so each one's errors are reported.
    let resources = raw
        .get_mut("rest_api")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove("resources"));
    let mut source: Option<SourceConfig> = deserialize(r, name, path, raw);
    let rest_path = [path, &[FieldSeg::Key("rest_api".into())]].concat();
    let res_path = [rest_path.as_slice(), &[FieldSeg::Key("resources".into())]].concat();
    let mut parsed = Vec::new();
    match resources {
        Some(Value::Array(items)) => {
            let mut seen = BTreeSet::new();
            for (i, item) in items.into_iter().enumerate() {
                let at = [res_path.as_slice(), &[FieldSeg::Index(i)]].concat();
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
    if let Some(rest) = &s.rest_api
        && let Err(e) = url::Url::parse(&rest.base_url)
        && !rest.base_url.contains("${")
    {
        let at = [field("rest_api"), vec![FieldSeg::Key("base_url".into())]].concat();
        let msg = format!("`{}` is not a URL ({e})", rest.base_url);
        r.report(
            name,
            &at,
            msg,
            Some("write it in full, e.g. https://api.example.com".into()),
        );
    }
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

//! Reads `.dango/sources.yml` into [`SourcesFile`], reporting every problem at once: each source
//! and each resource is parsed on its own, so one mistake does not hide the next.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::config::{
    ResourceConfig, RestApiConfig, SourceConfig, SourceEntry, SourceOrigin, SourceSpec,
    SourcesFile, WarehouseConfig,
};
use super::credentials::Credentials;
use super::errors::{ConfigError, ConfigErrors, FieldSeg, Problem, did_you_mean, render_path};
use super::interpolate::{Interpolation, UsedVariable, interpolate_traced};
use super::locate::locate_all;
use super::yaml_scan::{self, Finding};
use super::{dependencies, tables, transform_checks};
use crate::redact::Redactor;
use crate::source::SecretOrigin;
use crate::source::config_problem::keys;
use crate::source::rest::SecretOrigins;

pub(super) const TOP_LEVEL_KEYS: [&str; 4] = ["version", "parallel", "warehouse", "sources"];
const SUPPORTED_VERSIONS: [&str; 2] = ["1", "1.0"];

/// Everything needed to turn a problem into a [`ConfigError`] that points at a line.
struct Reporter<'a> {
    file: &'a Path,
    text: &'a str,
    /// Set while checking a source with its `${VAR}`s substituted: scrubs their values from
    /// messages, which then must not quote what they found.
    redactor: Option<Redactor>,
    /// Paths of values already reported by the YAML scan: a type error at or above one of
    /// them is that same problem.
    muted: Vec<Vec<FieldSeg>>,
    errors: Vec<ConfigError>,
    /// Errors whose line is still to be found, as (index in `errors`, path): found all at once
    /// when the errors are handed over (see `into_errors`), since each search reads the whole
    /// file and a large one can have thousands of mistakes.
    unlocated: Vec<(usize, Vec<FieldSeg>)>,
}

impl<'a> Reporter<'a> {
    /// A reporter of problems in `text`, read from `file`; `redactor` scrubs substituted
    /// values from messages.
    fn new(file: &'a Path, text: &'a str, redactor: Option<Redactor>) -> Self {
        Self {
            file,
            text,
            redactor,
            muted: Vec::new(),
            errors: Vec::new(),
            unlocated: Vec::new(),
        }
    }

    fn report(
        &mut self,
        source: Option<&str>,
        path: &[FieldSeg],
        message: String,
        hint: Option<String>,
    ) {
        self.report_at(None, source, path, message, hint);
        self.unlocated.push((self.errors.len() - 1, path.to_vec()));
    }

    fn report_at(
        &mut self,
        line: Option<usize>,
        source: Option<&str>,
        path: &[FieldSeg],
        message: String,
        hint: Option<String>,
    ) {
        let scrub = |text: String| match &self.redactor {
            Some(r) => r.redact(&text),
            None => text,
        };
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            source: source.map(str::to_string),
            field: render_path(path),
            message: scrub(message),
            hint: hint.map(scrub),
        });
    }

    /// Reports rule `problems`, whose paths are relative to `base`.
    fn problems(&mut self, source: Option<&str>, base: &[FieldSeg], problems: Vec<Problem>) {
        for p in problems {
            let path = [base, &p.path].concat();
            self.report(source, &path, p.message, p.hint);
        }
    }

    /// The errors reported, each with its line.
    fn into_errors(mut self) -> Vec<ConfigError> {
        let paths: Vec<&[FieldSeg]> = self.unlocated.iter().map(|(_, p)| p.as_slice()).collect();
        let lines = locate_all(self.text, &paths);
        for ((i, _), line) in self.unlocated.iter().zip(lines) {
            if let Some(error) = self.errors.get_mut(*i) {
                error.line = line;
            }
        }
        self.errors
    }
}

/// A resource that parsed: its position in `resources:`, as written (with `resource_defaults`
/// merged in), and as typed.
pub(super) struct ParsedResource {
    /// Index in the source's `resources:` list.
    pub index: usize,
    /// The entry as written, after dlt's shorthands are expanded (`Null` once the source's
    /// checks are done).
    pub raw: Value,
    /// The entry as typed.
    pub config: ResourceConfig,
}

#[cfg(test)]
impl ParsedResource {
    /// `items` as the loader parses a `resources:` list that has no mistakes (test data).
    pub(super) fn all_of(items: Vec<Value>) -> Vec<Self> {
        items
            .into_iter()
            .enumerate()
            .map(|(index, raw)| ParsedResource {
                index,
                config: serde_json::from_value(raw.clone()).expect("a valid resource"),
                raw,
            })
            .collect()
    }
}

/// A source that parsed, with the resources of it that parsed.
struct ParsedSource {
    config: SourceConfig,
    resources: Vec<ParsedResource>,
}

impl ParsedSource {
    fn into_config(self) -> SourceConfig {
        let mut config = self.config;
        match &mut config.spec {
            SourceSpec::RestApi(rest) => {
                rest.resources = self.resources.into_iter().map(|r| r.config).collect();
            }
            // Resources under a stray `rest_api:` block were checked; a sync ignores them.
            SourceSpec::DltNative(_) => {}
        }
        config
    }
}

/// A sources file read as far as it goes: what parsed, and every problem found.
#[derive(Debug, Default)]
pub struct PartialSourcesFile {
    /// The sources that parsed (a source with a broken resource keeps its other resources),
    /// the settings that parsed, defaults for the rest.
    pub file: SourcesFile,
    /// Every problem found; the sources they name are incomplete.
    pub errors: Vec<ConfigError>,
}

impl PartialSourcesFile {
    fn into_result(self) -> Result<SourcesFile, ConfigErrors> {
        match self.errors.is_empty() {
            true => Ok(self.file),
            false => Err(ConfigErrors(self.errors)),
        }
    }
}

/// Parses and validates the sources file at `file`.
pub fn load_sources_file(file: &Path) -> Result<SourcesFile, ConfigErrors> {
    load_sources_partial(file)?.into_result()
}

/// Like [`load_sources_file`], keeping what parsed when some of it is wrong, so a command
/// can go on to check the rest; `Err` only if the file cannot be read.
pub fn load_sources_partial(file: &Path) -> Result<PartialSourcesFile, ConfigErrors> {
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
    Ok(parse_sources_partial(file, &text))
}

/// Parses and validates sources-file `text` (read from `file`, used in messages).
pub fn parse_sources(file: &Path, text: &str) -> Result<SourcesFile, ConfigErrors> {
    parse_sources_partial(file, text).into_result()
}

/// Like [`parse_sources`], keeping what parsed alongside the problems.
pub fn parse_sources_partial(file: &Path, text: &str) -> PartialSourcesFile {
    // Editors on Windows start files with a byte-order mark. It is not YAML, and it comes before
    // the first line's text, so dropping it moves no line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = Reporter::new(file, text, None);
    let mut file = SourcesFile::default();
    let Some(doc) = read_yaml(&mut r) else {
        return r.into_partial(file);
    };
    report_scan(&mut r, &doc);
    let Value::Object(mut top) = doc else {
        let msg = "the file must be a mapping with a `sources:` list";
        r.report(None, &[], msg.into(), None);
        return r.into_partial(file);
    };
    check_top_keys(&mut r, &top);
    check_version(&mut r, top.get("version"));
    file.parallel = parse_parallel(&mut r, top.get("parallel"));
    file.warehouse = parse_warehouse(&mut r, top.get("warehouse"));
    // Taken, not copied: the list is most of the file.
    let sources = take_sources(&mut r, top.remove("sources"));
    let parsed = parse_source_list(&mut r, sources);
    report_shared_tables(&mut r, &parsed);
    file.sources = parsed.into_iter().map(ParsedSource::into_config).collect();
    r.into_partial(file)
}

impl Reporter<'_> {
    /// `file`, with the problems reported.
    fn into_partial(self, file: SourcesFile) -> PartialSourcesFile {
        PartialSourcesFile {
            file,
            errors: self.into_errors(),
        }
    }
}

/// The document the text holds (an empty file is an empty mapping), or `None` once the
/// reason it is not YAML is reported.
fn read_yaml(r: &mut Reporter<'_>) -> Option<Value> {
    let e = match serde_yaml_ng::from_str(r.text) {
        Ok(Value::Null) => return Some(Value::Object(Map::new())),
        Ok(v) => return Some(v),
        Err(e) => e,
    };
    let (line, hint) = match e.location() {
        Some(at) => (
            Some(at.line()),
            "check the indentation and quoting on that line and the one before it",
        ),
        None => (
            yaml_scan::second_document_line(r.text),
            "a sources file is one YAML document: remove the `---` that starts another",
        ),
    };
    let message = format!("not valid YAML: {e}");
    r.report_at(line, None, &[], message, Some(hint.into()));
    None
}

/// Reports what the scan of the text finds that parsing hides (repeated keys, numbers that
/// are not finite, ...), each at its own line.
fn report_scan(r: &mut Reporter<'_>, doc: &Value) {
    for found in yaml_scan::scan(r.text) {
        let source = source_name_at(doc, &found.problem.path).map(str::to_string);
        if found.finding == Finding::NonFinite {
            // Reported here; its null must not be reported again as a wrong type.
            r.muted.push(found.problem.path.clone());
        }
        let p = found.problem;
        r.report_at(
            Some(found.line),
            source.as_deref(),
            &p.path,
            p.message,
            p.hint,
        );
    }
}

/// Reports top-level keys the file does not have, with the nearest one it does.
fn check_top_keys(r: &mut Reporter<'_>, top: &Map<String, Value>) {
    for key in top.keys().filter(|k| !TOP_LEVEL_KEYS.contains(&k.as_str())) {
        let hint = did_you_mean(key, TOP_LEVEL_KEYS);
        let at = [FieldSeg::Key(key.clone())];
        r.report(None, &at, "unknown key".into(), hint);
    }
}

/// The top-level `warehouse:`, the default one where it is missing or wrong.
fn parse_warehouse(r: &mut Reporter<'_>, value: Option<&Value>) -> WarehouseConfig {
    match value {
        None | Some(Value::Null) => WarehouseConfig::default(),
        Some(value) => super::warehouse::parse(value).unwrap_or_else(|(path, message, hint)| {
            let at = [vec![FieldSeg::Key("warehouse".into())], path].concat();
            r.report(None, &at, message, hint);
            WarehouseConfig::default()
        }),
    }
}

/// The entries of the top-level `sources:`, none if it is missing or not a list.
fn take_sources(r: &mut Reporter<'_>, sources: Option<Value>) -> Vec<Value> {
    match sources {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            let path = [FieldSeg::Key("sources".into())];
            let msg = "must be a list of sources (`- name: ...`)";
            r.report(None, &path, msg.into(), None);
            Vec::new()
        }
    }
}

/// Parses each entry of `sources:` on its own, reporting repeated names; the sources that
/// parsed, each knowing where it was written.
fn parse_source_list(r: &mut Reporter<'_>, sources: Vec<Value>) -> Vec<ParsedSource> {
    let shared_text: Arc<str> = Arc::from(r.text);
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
        if let Some(mut source) = parse_source(r, &path, raw) {
            source.config.origin = SourceOrigin {
                text: shared_text.clone(),
                index: i,
            };
            parsed.push(source);
        }
    }
    parsed
}

/// Reports tables that two sources load into one dataset.
fn report_shared_tables(r: &mut Reporter<'_>, parsed: &[ParsedSource]) {
    let views: Vec<_> = parsed
        .iter()
        .map(|s| (&s.config, s.resources.as_slice()))
        .collect();
    for (i, problem) in tables::shared_tables(&views) {
        let source = &parsed[i].config;
        let base = [
            FieldSeg::Key("sources".into()),
            FieldSeg::Index(source.origin.index),
        ];
        r.problems(Some(&source.name), &base, vec![problem]);
    }
}

/// The name of the source a document path (`sources[i]...`) lies in, if it has one.
fn source_name_at<'a>(doc: &'a Value, path: &[FieldSeg]) -> Option<&'a str> {
    match path {
        [FieldSeg::Key(k), FieldSeg::Index(i), ..] if k == "sources" => {
            doc.get("sources")?.get(*i)?.get("name")?.as_str()
        }
        _ => None,
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
fn parse_source(r: &mut Reporter<'_>, path: &[FieldSeg], mut raw: Value) -> Option<ParsedSource> {
    let original = raw.clone();
    let name = raw.get("name").and_then(Value::as_str).map(str::to_string);
    let name = name.as_deref();
    // Resources are parsed one by one below, so each one's errors are reported.
    let (resources, defaults) = match raw.get_mut("rest_api").and_then(Value::as_object_mut) {
        Some(rest) => {
            RestApiConfig::expand_shorthand(rest);
            (rest.remove("resources"), rest.remove("resource_defaults"))
        }
        None => (None, None),
    };
    let entry: Option<SourceEntry> = deserialize(r, name, path, &raw);
    let res_path = [path, &keys(&["rest_api", "resources"])].concat();
    let (mut parsed, written) = parse_resources(r, name, &res_path, resources, defaults.as_ref());
    r.problems(name, &res_path, dependencies::dependency_problems(&parsed));
    r.problems(name, &res_path, tables::table_problems(&parsed));
    // The source as written is kept (`raw`, below); its resources' expanded copies have served
    // their checks, and would otherwise double what a large file holds until it is loaded.
    for resource in &mut parsed {
        resource.raw = Value::Null;
    }
    let entry = entry?;
    let name = Some(entry.name.as_str());
    r.problems(name, path, entry.validate(&original, written));
    let dataset = tables::dataset_problem(&entry.name, entry.dataset_name.as_deref());
    r.problems(name, path, dataset.into_iter().collect());
    Some(ParsedSource {
        config: entry.into_config(original)?,
        resources: parsed,
    })
}

/// Parses the entries of a source's `resources:` (at `res_path`) one by one, each with dlt's
/// forms expanded and `defaults` merged in: those that parsed, and how many were written
/// (parsed or not: only none at all is "no resources").
fn parse_resources(
    r: &mut Reporter<'_>,
    source: Option<&str>,
    res_path: &[FieldSeg],
    resources: Option<Value>,
    defaults: Option<&Value>,
) -> (Vec<ParsedResource>, usize) {
    let items = match resources {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => return (Vec::new(), 0),
        Some(_) => {
            r.report(source, res_path, "must be a list of resources".into(), None);
            return (Vec::new(), 1);
        }
    };
    let written = items.len();
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let at = [res_path, &[FieldSeg::Index(index)]].concat();
        let raw = ResourceConfig::expand_shorthand(item, defaults);
        if let Some(res_name) = raw.get("name").and_then(Value::as_str)
            && !seen.insert(res_name.to_string())
        {
            let at = [at.as_slice(), &keys(&["name"])].concat();
            let msg = "duplicate resource name in this source";
            r.report(source, &at, msg.into(), None);
        }
        if let Some(config) = deserialize::<ResourceConfig>(r, source, &at, &raw) {
            r.problems(source, &at, config.validate_table());
            r.problems(source, &at, transform_checks::transform_problems(&config));
            r.problems(source, &at, config.validate_request(&raw));
            parsed.push(ParsedResource { index, raw, config });
        }
    }
    (parsed, written)
}

/// Deserializes `raw` as `T`, reporting a failure at the field it happened in.
fn deserialize<T: DeserializeOwned>(
    r: &mut Reporter<'_>,
    source: Option<&str>,
    path: &[FieldSeg],
    raw: &Value,
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
            if r.muted.iter().any(|m| m.starts_with(&at)) {
                return None;
            }
            let mut message = e.inner().to_string();
            if r.redactor.is_some() {
                message = without_value(&message);
            }
            let hint = suggestion(&message);
            r.report(source, &at, message, hint);
            None
        }
    }
}

/// A serde message without the value it quotes, which may be a substituted secret:
/// `invalid type: string "s3cr3t", expected u64` becomes `... expected u64`.
fn without_value(message: &str) -> String {
    let lead = "invalid after substituting ${...} variables";
    match message.split_once(", expected ") {
        Some((_, expected)) => format!("{lead}: expected {expected}"),
        None => lead.to_string(),
    }
}

/// What to do about a serde message: a did-you-mean for "unknown field `x`, expected one of
/// `a`, `b`", the smallest value for "expected a nonzero" counts, or the forms a field that is
/// one thing or another takes.
fn suggestion(message: &str) -> Option<String> {
    if message.contains("expected a nonzero") {
        return Some("use a whole number of at least 1".into());
    }
    let forms = [
        (
            "RateLimitConfig",
            "`rate_limit: 10` or `rate_limit: {requests_per_second: 10, burst: 5}`",
        ),
        ("PrimaryKey", "one column, `id`, or several, `[org, id]`"),
    ];
    for (name, form) in forms {
        if message.contains(&format!("untagged enum {name}")) {
            return Some(format!("write {form}"));
        }
    }
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (bad, expected) = quoted.split_first()?;
    if let Some((_, instead)) = DLT_NOT_IMPLEMENTED.iter().find(|(name, _)| name == bad) {
        return Some(format!(
            "dlt's `{bad}` is not implemented by Dango yet: {instead}"
        ));
    }
    did_you_mean(bad, expected.iter().copied())
}

/// dlt options Dango refuses by name rather than drop: a user migrating from dlt learns what
/// they would lose, and what to do instead.
const DLT_NOT_IMPLEMENTED: [(&str, &str); 1] = [(
    "allow_external_schedulers",
    "remove it and give a range with `dango sync --since A --until B`",
)];

/// `source` with every `${VAR}` replaced from `creds`, checked again with the values in place
/// (a `${VAR}` may hold a URL). Unset variables are errors naming them and their line; no
/// message shows a substituted value.
pub fn resolve_source(
    file: &Path,
    source: &SourceConfig,
    creds: &Credentials,
) -> Result<SourceConfig, ConfigErrors> {
    let mut value = source.raw.clone();
    let filled = std::cell::RefCell::new(Vec::new());
    if let Some(rest) = value.get_mut("rest_api").and_then(Value::as_object_mut) {
        RestApiConfig::expand_shorthand(rest);
        RestApiConfig::fill_auth_secrets(rest, &|field| {
            let secret = creds.field_secret(&source.name, field)?;
            filled.borrow_mut().push(secret.origin);
            Some(secret.value)
        });
    }
    let Interpolation { mut unset, used } = interpolate_traced(&mut value, &source.name, creds);
    unset.dedup();
    let mut r = Reporter::new(file, &source.origin.text, Some(creds.redactor()));
    let base = [
        FieldSeg::Key("sources".into()),
        FieldSeg::Index(source.origin.index),
    ];
    for u in unset {
        let path = [base.as_slice(), &u.path].concat();
        let hint = format!(
            "set {} in the environment, in .env, or in .dlt/secrets.toml",
            u.name
        );
        let message = format!("`${{{}}}` is not set", u.name);
        r.report(Some(&source.name), &path, message, Some(hint));
    }
    if !r.errors.is_empty() {
        return Err(ConfigErrors(r.into_errors()));
    }
    let parsed = parse_source(&mut r, &base, value);
    match parsed {
        Some(parsed) if r.errors.is_empty() => {
            let mut resolved = parsed.into_config();
            resolved.origin = source.origin.clone();
            resolved.secret_origins = secret_origins(filled.into_inner(), used);
            check_secrets(&mut r, &base, &resolved);
            if r.errors.is_empty() {
                Ok(resolved)
            } else {
                Err(ConfigErrors(r.into_errors()))
            }
        }
        _ => Err(ConfigErrors(r.into_errors())),
    }
}

/// The origins of the secrets a source's requests send: those dlt-style `auth` filling found
/// (`filled`), and the `${VAR}`s `used` in an `auth`, `headers`, `params` or `json` block, each
/// for every request or for its resource's only.
fn secret_origins(filled: Vec<SecretOrigin>, used: Vec<UsedVariable>) -> SecretOrigins {
    const SENT: [&str; 4] = ["auth", "headers", "params", "json"];
    let mut out = SecretOrigins {
        source: filled,
        resources: Default::default(),
    };
    for u in used {
        let sent = u
            .path
            .iter()
            .any(|seg| matches!(seg, FieldSeg::Key(k) if SENT.contains(&k.as_str())));
        if !sent {
            continue;
        }
        match u.path.as_slice() {
            [
                FieldSeg::Key(block),
                FieldSeg::Key(list),
                FieldSeg::Index(i),
                ..,
            ] if block == "rest_api" && list == "resources" => {
                out.resources.entry(*i).or_default().push(u.origin);
            }
            _ => out.source.push(u.origin),
        }
    }
    out
}

/// An `auth` block whose secret is neither written nor found where dlt would look for it.
fn check_secrets(r: &mut Reporter<'_>, base: &[FieldSeg], s: &SourceConfig) {
    let Some(rest) = s.rest_api() else { return };
    let Some(problem) = rest.validate_secrets(&s.name) else {
        return;
    };
    let at = [base, &keys(&["rest_api"])].concat();
    r.problems(Some(&s.name), &at, vec![problem]);
}

#[cfg(test)]
mod tests;

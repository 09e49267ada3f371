//! A proposal as `sources.yml` text: one list item for the `sources:` list, every choice
//! with a comment saying which parameter, field or header decided it.

use std::fmt::Write;

use super::paging::Paginator;
use super::proposal::{ParamValue, Proposal, ResourcePlan};

/// Column comments start here when the line is shorter.
const COMMENT_COLUMN: usize = 48;

/// The source as a `sources:` list item, its `- ` at `indent` spaces; `origin` names the
/// description in the header comment.
pub fn source_item(p: &Proposal, origin: &str, indent: usize) -> String {
    let mut y = Yaml::default();
    let pad = " ".repeat(indent);
    let _ = writeln!(
        y.out,
        "{pad}# Written by `dango source add` from {origin} ({}): {} resource(s). Comments say what each",
        p.title,
        p.resources.len()
    );
    let _ = writeln!(
        y.out,
        "{pad}# choice came from; \"unconfirmed\" marks guesses to check against the API's docs."
    );
    let base = indent + 2;
    let _ = writeln!(y.out, "{pad}- name: {}", scalar(&p.source));
    y.line(base, "type", Some("rest_api"), None);
    y.line(base, "rest_api", None, None);
    let (url, from) = &p.base_url;
    y.line(base + 2, "base_url", Some(&scalar(url)), Some(from));
    if let Some(auth) = &p.auth {
        y.line(base + 2, "auth", None, Some(&auth.why));
        for (k, v) in &auth.fields {
            y.line(base + 4, k, Some(&scalar(v)), None);
        }
    }
    y.line(base + 2, "resources", None, None);
    for r in &p.resources {
        resource(&mut y, r, base + 4);
    }
    y.out
}

/// One resource, its `- ` at `indent`.
fn resource(y: &mut Yaml, r: &ResourcePlan, indent: usize) {
    let inner = indent + 2;
    y.item(indent, "name", &scalar(&r.name), Some(&r.endpoint));
    for note in &r.notes {
        y.comment(inner, note);
    }
    y.line(inner, "endpoint", None, None);
    let e = inner + 2;
    let path_why = r.parent.as_ref().map(|(parent, fields)| {
        let list: Vec<String> = fields
            .iter()
            .map(|(param, field)| format!("{{{param}}} is each {parent} record's `{field}`"))
            .collect();
        list.join(", ")
    });
    let path_why = path_why.or_else(|| {
        r.path
            .contains("${")
            .then(|| "FILL IN: a path parameter no listed collection provides".to_string())
    });
    y.line(e, "path", Some(&scalar(&r.path)), path_why.as_deref());
    if !r.params.is_empty() {
        y.line(e, "params", None, None);
        for (name, value, why) in &r.params {
            let v = match value {
                ParamValue::Number(n) => n.to_string(),
                ParamValue::Text(t) => scalar(t),
                ParamValue::Placeholder(var) => scalar(&format!("${{{var}}}")),
            };
            y.line(e + 2, name, Some(&v), Some(why));
        }
    }
    let selector = r.selector.value.as_deref().unwrap_or("$");
    y.line(
        e,
        "data_selector",
        Some(&scalar(selector)),
        Some(&sure(&r.selector.why, r.selector.sure)),
    );
    paginator(
        y,
        &r.paging.paginator,
        e,
        &sure(&r.paging.why, r.paging.sure),
    );
    if let Some(cursor) = &r.cursor {
        y.line(
            e,
            "incremental",
            None,
            Some(&sure(&cursor.why, cursor.sure)),
        );
        y.line(
            e + 2,
            "cursor_path",
            Some(&scalar(&cursor.value.field)),
            None,
        );
        y.line(
            e + 2,
            "start_param",
            Some(&scalar(&cursor.value.param)),
            None,
        );
    }
    if let Some((parent, fields)) = &r.parent {
        let list: Vec<String> = fields.iter().map(|(_, f)| scalar(f)).collect();
        let why = format!(
            "adds {} to join with {parent}",
            fields
                .iter()
                .map(|(_, f)| format!("_{parent}_{f}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        y.line(
            inner,
            "include_from_parent",
            Some(&format!("[{}]", list.join(", "))),
            Some(&why),
        );
    }
    if let Some(key) = &r.key {
        y.line(
            inner,
            "primary_key",
            Some(&scalar(&key.value)),
            Some(&sure(&key.why, key.sure)),
        );
    }
    let (disposition, why) = &r.disposition;
    y.line(inner, "write_disposition", Some(disposition), Some(why));
}

/// The `paginator:` mapping (or, for one without settings, its name).
fn paginator(y: &mut Yaml, p: &Paginator, indent: usize, why: &str) {
    let text = |kind: &str| kind.to_string();
    let fields: Vec<(&str, String, Option<&str>)> = match p {
        Paginator::SinglePage => {
            return y.line(indent, "paginator", Some("single_page"), Some(why));
        }
        Paginator::HeaderLink => {
            return y.line(indent, "paginator", Some("header_link"), Some(why));
        }
        Paginator::NextUrl { path } => vec![
            ("type", text("json_link"), None),
            ("next_url_path", scalar(path), None),
        ],
        Paginator::Cursor {
            param,
            path,
            has_more,
        } => {
            let mut fields = vec![
                ("type", text("cursor"), None),
                ("cursor_param", scalar(param), None),
                ("cursor_path", scalar(path), None),
            ];
            fields.extend(has_more.iter().map(|h| ("has_more_path", scalar(h), None)));
            fields
        }
        Paginator::Offset {
            param,
            limit_param,
            limit,
            total_path,
        } => vec![
            ("type", text("offset"), None),
            ("offset_param", scalar(param), None),
            ("limit_param", scalar(limit_param), None),
            ("limit", limit.to_string(), None),
            total(total_path, "no total: stops at a short page"),
        ],
        Paginator::PageNumber {
            param,
            start,
            total_path,
        } => vec![
            ("type", text("page_number"), None),
            ("page_param", scalar(param), None),
            ("base_page", start.to_string(), None),
            total(total_path, "no page count: stops at an empty page"),
        ],
    };
    y.line(indent, "paginator", None, Some(why));
    for (key, value, comment) in fields {
        y.line(indent + 2, key, Some(&value), comment);
    }
}

/// `total_path`, or `null` (dlt's default is `total`) with what stops paging instead.
fn total<'a>(path: &Option<String>, without: &'a str) -> (&'static str, String, Option<&'a str>) {
    match path {
        Some(t) => ("total_path", scalar(t), None),
        None => ("total_path", "null".to_string(), Some(without)),
    }
}

/// `why`, marked unconfirmed when the description leaves doubt.
fn sure(why: &str, sure: bool) -> String {
    if sure || why.contains("unconfirmed") {
        why.to_string()
    } else {
        format!("{why} (unconfirmed)")
    }
}

/// A string as a YAML scalar: plain where YAML reads it back as the same string, else a
/// JSON string (valid YAML double-quoted).
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

/// Text being written, line by line.
#[derive(Default)]
struct Yaml {
    out: String,
}

impl Yaml {
    /// `key: value  # comment` at `indent`.
    fn line(&mut self, indent: usize, key: &str, value: Option<&str>, comment: Option<&str>) {
        let text = match value {
            Some(v) => format!("{}{}: {v}", " ".repeat(indent), scalar(key)),
            None => format!("{}{}:", " ".repeat(indent), scalar(key)),
        };
        self.finish(text, comment);
    }

    /// `- key: value  # comment`, a list item's first line, its `-` at `indent`.
    fn item(&mut self, indent: usize, key: &str, value: &str, comment: Option<&str>) {
        let text = format!("{}- {key}: {value}", " ".repeat(indent));
        self.finish(text, comment);
    }

    /// A comment line.
    fn comment(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{}# {}", " ".repeat(indent), one_line(text));
    }

    fn finish(&mut self, text: String, comment: Option<&str>) {
        match comment {
            Some(c) if !c.is_empty() => {
                let width = text.chars().count();
                let gap = if width < COMMENT_COLUMN {
                    COMMENT_COLUMN - width
                } else {
                    1
                };
                let _ = writeln!(self.out, "{text}{}  # {}", " ".repeat(gap), one_line(c));
            }
            _ => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }
}

/// `text` on one line, for a comment.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

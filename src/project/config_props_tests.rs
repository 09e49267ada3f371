//! Property test of config loading: arbitrary edits of the documented `config/*.yml` examples
//! (lines deleted, duplicated, swapped, re-indented; values replaced by odd strings and numbers;
//! keys inserted; the file cut short; a BOM inserted) never make the loader panic, and whatever
//! it rejects, loading or then resolving `${VAR}`s, it rejects with a line for every problem.
//!
//! The one error that can have no line is a file that cannot be read, which never happens here:
//! even a YAML error without a position (a second document) is given the line it starts on.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;

use super::Credentials;
use super::loader;

/// One edit of a config file's text.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Indents a line by this many more (or, if negative, fewer) spaces.
    Indent(Index, i8),
    /// Replaces the value after a line's `key:` (or its `- ` item) with this text.
    ReplaceValue(Index, String),
    /// Inserts `key: value` after a line, at that line's indentation.
    InsertKey(Index, String, String),
    /// Cuts the file at this fraction of its length.
    Truncate(f64),
    /// Puts a byte-order mark at the start of a line (line 0: the file's own BOM).
    InsertBom(Index),
}

/// Values that have broken, or could break, a loader: empty, zero, negative, huge, non-finite,
/// non-ASCII, URL-ish, YAML-special, plus random text and numbers.
fn value() -> impl Strategy<Value = String> {
    let fixed = [
        "",
        "\"\"",
        "0",
        "-1",
        "-0.5",
        "1e-7",
        "1e400",
        "99999999999999999999999",
        ".inf",
        "-.inf",
        ".nan",
        "~",
        "null",
        "true",
        "[]",
        "{}",
        "[\"\"]",
        "\"  \"",
        "ftp://x",
        "file:///etc/passwd",
        "${UNSET_VAR}",
        "日本語",
        "\"ü\"",
        "_dlt_loads",
        "_dango_cursors",
        "information_schema",
        "{resources.x.id}",
        "\"{resources.users.id}\"",
        "'",
        "\"",
        "&a",
        "*a",
        "!tag x",
        "|",
        ">",
        "[1, 2",
        "{a: 1, a: 2}",
        "- x",
        "a: b",
        "#",
    ];
    prop_oneof![
        3 => proptest::sample::select(fixed.to_vec()).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|n| n.to_string()),
        1 => "[a-zA-Z0-9_ :{}\\[\\],.$/\"'#&*!|>-]{0,16}",
        1 => "\\PC{0,8}",
    ]
}

/// Keys to insert: ones the model knows (in the wrong place, or twice) and unknown ones.
fn key() -> impl Strategy<Value = String> {
    let known = [
        "name",
        "type",
        "enabled",
        "dataset_name",
        "rest_api",
        "base_url",
        "resources",
        "endpoint",
        "path",
        "params",
        "pagination",
        "paginator",
        "limit",
        "page_size",
        "primary_key",
        "merge_key",
        "table_name",
        "write_disposition",
        "retry",
        "timeout_seconds",
        "rate_limit",
        "burst",
        "concurrency",
        "incremental",
        "auth",
        "client",
        "resource_defaults",
        "sources",
        "version",
        "parallel",
        "selected",
        "data_selector",
        "max_attempts",
    ];
    prop_oneof![
        3 => proptest::sample::select(known.to_vec()).prop_map(str::to_string),
        1 => "[a-z_]{1,10}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), -6i8..6).prop_map(|(i, d)| Mutation::Indent(i, d)),
        (any::<Index>(), value()).prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        (any::<Index>(), key(), value()).prop_map(|(i, k, v)| Mutation::InsertKey(i, k, v)),
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        any::<Index>().prop_map(Mutation::InsertBom),
    ]
}

/// The value part of a line: after its first `key: `, else after its `- ` markers.
fn value_start(line: &str) -> Option<usize> {
    if let Some(i) = line.find(": ") {
        return Some(i + 2);
    }
    if line.trim_end().ends_with(':') {
        return Some(line.trim_end().len());
    }
    let trimmed = line.trim_start();
    trimmed
        .starts_with("- ")
        .then(|| line.len() - trimmed.len() + 2)
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(n));
        }
        Mutation::DuplicateLine(i) => {
            let i = i.index(n);
            lines.insert(i, lines[i].clone());
        }
        Mutation::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
        Mutation::Indent(i, delta) => {
            let line = &mut lines[i.index(n)];
            if *delta >= 0 {
                line.insert_str(0, &" ".repeat(*delta as usize));
            } else {
                let strip = line
                    .chars()
                    .take(delta.unsigned_abs() as usize)
                    .take_while(|c| *c == ' ')
                    .count();
                line.drain(..strip);
            }
        }
        Mutation::ReplaceValue(i, v) => {
            let line = &mut lines[i.index(n)];
            if let Some(start) = value_start(line) {
                line.truncate(start);
                if !line.ends_with(' ') {
                    line.push(' ');
                }
                line.push_str(v);
            }
        }
        Mutation::InsertKey(i, k, v) => {
            let i = i.index(n);
            let indent = lines[i].len() - lines[i].trim_start().len();
            lines.insert(i + 1, format!("{}{k}: {v}", " ".repeat(indent)));
        }
        Mutation::Truncate(f) => {
            let mut cut = (text.len() as f64 * f) as usize;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
        Mutation::InsertBom(i) => lines[i.index(n)].insert(0, '\u{feff}'),
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn examples() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("config/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable example");
            (p, text)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 4, "only {} examples", out.len());
    out
}

/// Loads `text`, then resolves each source's `${VAR}`s with no credentials at all (as `dango
/// sync` would), and checks the property: valid, or every problem has a line.
fn check(file: &Path, text: &str) -> Result<(), TestCaseError> {
    let errors = match loader::parse_sources(file, text) {
        Ok(parsed) => parsed
            .sources
            .iter()
            .filter_map(|s| loader::resolve_source(file, s, &Credentials::default()).err())
            .flat_map(|e| e.0)
            .collect(),
        Err(errors) => {
            prop_assert!(!errors.0.is_empty(), "rejected without a problem");
            errors.0
        }
    };
    for e in &errors {
        prop_assert!(e.line.is_some(), "no line for `{e}` in:\n{text}");
    }
    Ok(())
}

#[test]
fn mutated_examples_never_panic_and_every_error_has_a_line() {
    let examples = examples();
    for (file, text) in &examples {
        let config = ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let strategy = proptest::collection::vec(mutation(), 1..4);
        runner
            .run(&strategy, |mutations| {
                let mutated = mutations.iter().fold(text.clone(), |t, m| apply(&t, m));
                check(file, &mutated)
            })
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

#[test]
fn the_examples_themselves_are_valid_and_survive_a_bom() {
    for (file, text) in examples() {
        loader::parse_sources(&file, &text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let with_bom = format!("\u{feff}{text}");
        loader::parse_sources(&file, &with_bom)
            .unwrap_or_else(|e| panic!("{} with a BOM: {e}", file.display()));
    }
}

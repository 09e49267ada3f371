//! The YAML's event stream, walked with the path and line of every node, for what is lost once
//! it becomes a JSON value: where each field was written (see `locate`), a key written twice in
//! one mapping (serde keeps the last, silently) and `.inf`/`.nan` (JSON has no such numbers: they
//! would become null, silently).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::errors::{FieldSeg, Problem};

/// One node of the document, as the walk meets it.
pub struct Node<'a> {
    /// Path from the document root; a key's path ends with that key.
    pub path: &'a [FieldSeg],
    /// 1-based line it starts on.
    pub line: usize,
    /// Whether it is a mapping key (else a value or a list item).
    pub is_key: bool,
    /// For a key, which mapping it belongs to: a number unique in the document.
    pub mapping: usize,
    /// Its text, for a plain (unquoted, untagged) scalar.
    pub plain: Option<&'a str>,
    /// Its text, for any scalar.
    pub scalar: Option<&'a str>,
}

/// Where the walk is: one frame per open mapping or sequence.
enum Frame {
    Mapping {
        /// Unique number of this mapping in the document.
        id: usize,
        /// Whether the next node is a key (else it is the value of the last key).
        expect_key: bool,
    },
    Sequence {
        /// Items started so far.
        items: usize,
    },
}

/// Calls `visit` with every node of `text`'s first document, in order; returns how many nodes
/// it visited. Stops quietly where the event parser cannot go on: syntax errors are
/// serde_yaml_ng's to report.
pub fn walk(text: &str, mut visit: impl FnMut(Node<'_>)) -> usize {
    let mut frames: Vec<Frame> = Vec::new();
    // The path of the node visited, one segment per frame, updated in place (a new key or
    // index replaces the last segment) rather than rebuilt for every node: a large file has
    // millions of nodes.
    let mut path: Vec<FieldSeg> = Vec::new();
    let mut mappings = 0;
    let mut visited = 0;
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return visited;
        };
        match event {
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
                path.pop();
                continue;
            }
            Event::DocumentEnd => return visited,
            Event::Scalar(..)
            | Event::Alias(_)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {}
            _ => continue,
        }
        let scalar = match &event {
            Event::Scalar(text, ..) => Some(text.as_ref()),
            _ => None,
        };
        let mut is_key = false;
        let mut mapping = 0;
        match (frames.last_mut(), path.last_mut()) {
            (Some(Frame::Mapping { id, expect_key }), Some(last)) => {
                mapping = *id;
                is_key = *expect_key;
                *expect_key = !*expect_key;
                if is_key {
                    set_key(last, scalar.unwrap_or("<complex key>"));
                }
            }
            (Some(Frame::Sequence { items }), Some(last)) => {
                *last = FieldSeg::Index(*items);
                *items += 1;
            }
            _ => {}
        }
        let plain = match &event {
            Event::Scalar(text, ScalarStyle::Plain, _, None) => Some(text.as_ref()),
            _ => None,
        };
        visited += 1;
        visit(Node {
            path: &path,
            line: span.start.line(),
            is_key,
            mapping,
            plain,
            scalar,
        });
        match event {
            Event::MappingStart(..) => {
                mappings += 1;
                frames.push(Frame::Mapping {
                    id: mappings,
                    expect_key: true,
                });
                path.push(FieldSeg::Key(String::new()));
            }
            Event::SequenceStart(..) => {
                frames.push(Frame::Sequence { items: 0 });
                path.push(FieldSeg::Index(0));
            }
            _ => {}
        }
    }
    visited
}

/// Makes `seg` the key `key`, reusing its buffer: most keys fit the one before.
fn set_key(seg: &mut FieldSeg, key: &str) {
    match seg {
        FieldSeg::Key(k) => {
            k.clear();
            k.push_str(key);
        }
        FieldSeg::Index(_) => *seg = FieldSeg::Key(key.to_string()),
    }
}

/// What the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// A key written again in the same mapping.
    DuplicateKey,
    /// `.inf` or `.nan`, which a JSON value holds as null.
    NonFinite,
}

/// A problem at a known 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinedProblem {
    /// What kind of problem it is.
    pub finding: Finding,
    /// Line of the offending key or value.
    pub line: usize,
    /// The problem, its path from the document root.
    pub problem: Problem,
}

/// Duplicate keys and non-finite numbers in `text`.
pub fn scan(text: &str) -> Vec<LinedProblem> {
    let mut found = Vec::new();
    // The keys of each mapping on the path, by depth: its number and the line of each key's
    // first writing. A mapping's keys are dropped once the walk leaves it, so what is kept
    // follows the nesting, not the size of the file.
    let mut open: Vec<(usize, HashMap<String, usize>)> = Vec::new();
    walk(text, |node| {
        let Some(text) = node.scalar else { return };
        if node.is_key {
            // A key's path ends with it: its mapping sits one level up.
            let depth = node.path.len().saturating_sub(1);
            open.truncate(depth + 1);
            open.resize_with(depth + 1, || (0, HashMap::new()));
            let Some((mapping, keys)) = open.last_mut() else {
                return;
            };
            if *mapping != node.mapping {
                *mapping = node.mapping;
                keys.clear();
            }
            if let Some(&first) = keys.get(text) {
                let message = format!(
                    "`{text}` is written twice in one mapping (first on line {first}); only the \
                     last would count"
                );
                found.push(LinedProblem {
                    finding: Finding::DuplicateKey,
                    line: node.line,
                    problem: Problem {
                        path: node.path.to_vec(),
                        message,
                        hint: Some("delete one of the two, or merge them into one".into()),
                    },
                });
            } else {
                keys.insert(text.to_string(), node.line);
            }
        } else if node.plain.is_some_and(is_non_finite) {
            found.push(LinedProblem {
                finding: Finding::NonFinite,
                line: node.line,
                problem: Problem {
                    path: node.path.to_vec(),
                    message: format!("`{text}` is not a finite number"),
                    hint: Some("write a number, or quote it (\"...\") if you mean text".into()),
                },
            });
        }
    });
    found
}

/// Whether serde_yaml_ng reads this plain scalar as an infinite or NaN float (its `parse_f64`).
fn is_non_finite(scalar: &str) -> bool {
    let unsigned = scalar
        .strip_prefix('+')
        .or_else(|| scalar.strip_prefix('-'))
        .unwrap_or(scalar);
    matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(scalar, ".nan" | ".NaN" | ".NAN")
}

/// Line where serde_yaml_ng sees a second document begin, which it refuses without saying
/// where: the first line by which the text already holds two documents (in all but odd cases,
/// see `first_line_where`). (Its parser, not the event parser above, since the two disagree on
/// where some documents end.)
pub fn second_document_line(text: &str) -> Option<usize> {
    let ends: Vec<usize> = text
        .split_inclusive('\n')
        .scan(0, |end, line| {
            *end += line.len();
            Some(*end)
        })
        .collect();
    first_line_where(ends.len(), |lines| {
        ends.get(lines - 1)
            .is_some_and(|&end| holds_two_documents(&text[..end]))
    })
}

/// The least number of lines, of `count`, for which `holds` is true, found by bisection:
/// `holds(count)` must be true (else `None`), and once true it is taken to stay true. Each call
/// parses that many lines of the file, so trying them one by one would be quadratic; this makes
/// about log2(count) calls. Adding a line takes a second document away again only by cutting
/// into it (an unclosed `[`), so in such odd files a later line of the second document may be
/// named instead of its first.
fn first_line_where(count: usize, mut holds: impl FnMut(usize) -> bool) -> Option<usize> {
    if count == 0 || !holds(count) {
        return None;
    }
    // `holds(no)` is false (no lines hold nothing) and `holds(yes)` true.
    let (mut no, mut yes) = (0, count);
    while yes - no > 1 {
        let mid = no + (yes - no) / 2;
        if holds(mid) {
            yes = mid;
        } else {
            no = mid;
        }
    }
    Some(yes)
}

/// Whether serde_yaml_ng refuses `text` for holding more than one document.
fn holds_two_documents(text: &str) -> bool {
    match serde_yaml_ng::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => false,
        Err(e) => e.location().is_none() && e.to_string().contains("more than one document"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> FieldSeg {
        FieldSeg::Key(k.into())
    }

    #[test]
    fn duplicate_keys_name_the_second_line_and_the_path() {
        let text = "sources:\n  - name: a\n    rest_api:\n      base_url: x\n      base_url: y\n";
        let found = scan(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 5);
        assert_eq!(
            found[0].problem.path,
            vec![
                key("sources"),
                FieldSeg::Index(0),
                key("rest_api"),
                key("base_url")
            ]
        );
        assert!(found[0].problem.message.contains("first on line 4"));
    }

    #[test]
    fn flow_mappings_and_sibling_items_are_separate_scopes() {
        assert!(scan("a: [{x: 1}, {x: 2}]\nb: {x: 1, y: 2}\n").is_empty());
        let found = scan("a: [{x: 1}, {x: 2, x: 3}]\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].problem.path,
            vec![key("a"), FieldSeg::Index(1), key("x")]
        );
        let found = scan("- name: a\n  name: b\n- name: c\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 2);
    }

    #[test]
    fn keys_are_compared_within_their_own_mapping_only() {
        // Mappings at one depth, one after another, each with its own keys (the walk forgets a
        // mapping's keys when it leaves it).
        let text = "- a:\n    k: 1\n  b: 2\n- a:\n    k: 1\n    j: {k: 2}\n  b: 2\n  b: 3\n";
        let found = scan(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 8);
        assert_eq!(found[0].problem.path, vec![FieldSeg::Index(1), key("b")]);
        assert!(found[0].problem.message.contains("first on line 7"));
    }

    #[test]
    fn quoted_and_plain_spellings_of_one_key_collide() {
        // Both become the JSON key "1", so one would be lost.
        assert_eq!(scan("1: a\n\"1\": b\n").len(), 1);
    }

    #[test]
    fn non_finite_numbers_are_found_but_quoted_text_is_not() {
        let found = scan("rate_limit: .inf\nx: -.INF\ny: \".nan\"\nz: 1e400\n");
        let lines: Vec<usize> = found.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![1, 2]);
        assert_eq!(found[0].problem.path, vec![key("rate_limit")]);
    }

    #[test]
    fn a_repeated_mapping_is_one_duplicate_not_many() {
        let found = scan("a: {x: 1}\na: {x: 2}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].problem.path, vec![key("a")]);
    }

    #[test]
    fn unreadable_text_yields_nothing() {
        assert!(scan("a: [1, 2\n").is_empty());
    }

    #[test]
    fn a_second_document_is_found() {
        assert_eq!(second_document_line("a: 1\n---\nb: 2\n"), Some(2));
        assert_eq!(second_document_line("a: 1\n"), None);
        // libyaml ends the first document where a less indented mapping begins.
        assert_eq!(second_document_line("  - a\n# x\nb: 1\n"), Some(3));
        let long = format!("a: 1\n{}---\nb: 2\n", "# c\n".repeat(5_000));
        assert_eq!(second_document_line(&long), Some(5_002));
    }

    #[test]
    fn the_second_document_is_bisected_not_tried_line_by_line() {
        // Each try parses the file so far: with n and 4n lines, the tries must grow by a few,
        // not fourfold.
        let tries = |count: usize| {
            // The second document begins on the line after the middle.
            let second = count / 2 + 1;
            let mut tries = 0;
            let line = first_line_where(count, |lines| {
                tries += 1;
                lines >= second
            });
            assert_eq!(line, Some(second));
            tries
        };
        let (n, four_n) = (tries(10_000), tries(40_000));
        assert!(n <= 16, "{n} tries for 10,000 lines");
        assert!(
            four_n <= n + 3,
            "{four_n} tries for 40,000 lines, {n} for 10,000"
        );
        assert_eq!(first_line_where(10, |_| false), None);
        assert_eq!(first_line_where(0, |_| true), None);
    }
}

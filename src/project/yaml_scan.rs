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
        /// Whether the next node is a key (else it is the value of `key`).
        expect_key: bool,
        /// The current key; a placeholder for a complex (non-scalar) one.
        key: String,
    },
    Sequence {
        /// Items started so far.
        items: usize,
    },
}

fn path_of(frames: &[Frame]) -> Vec<FieldSeg> {
    frames
        .iter()
        .map(|f| match f {
            Frame::Mapping { key, .. } => FieldSeg::Key(key.clone()),
            Frame::Sequence { items } => FieldSeg::Index(items.saturating_sub(1)),
        })
        .collect()
}

/// Calls `visit` with every node of `text`'s first document, in order. Stops quietly where the
/// event parser cannot go on: syntax errors are serde_yaml_ng's to report.
pub fn walk(text: &str, mut visit: impl FnMut(Node<'_>)) {
    let mut frames: Vec<Frame> = Vec::new();
    let mut mappings = 0;
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { return };
        match event {
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
                continue;
            }
            Event::DocumentEnd => return,
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
        match frames.last_mut() {
            Some(Frame::Mapping {
                id,
                expect_key,
                key,
            }) => {
                mapping = *id;
                is_key = *expect_key;
                *expect_key = !*expect_key;
                if is_key {
                    *key = scalar.unwrap_or("<complex key>").to_string();
                }
            }
            Some(Frame::Sequence { items }) => *items += 1,
            None => {}
        }
        let plain = match &event {
            Event::Scalar(text, ScalarStyle::Plain, _, None) => Some(text.as_ref()),
            _ => None,
        };
        visit(Node {
            path: &path_of(&frames),
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
                    key: String::new(),
                });
            }
            Event::SequenceStart(..) => frames.push(Frame::Sequence { items: 0 }),
            _ => {}
        }
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
    // Line of each key's first writing, by its mapping and text.
    let mut first_seen: HashMap<(usize, String), usize> = HashMap::new();
    walk(text, |node| {
        let Some(text) = node.scalar else { return };
        if node.is_key {
            let id = (node.mapping, text.to_string());
            if let Some(&first) = first_seen.get(&id) {
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
                first_seen.insert(id, node.line);
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
/// where: the first line by which the text already holds two documents. (Its parser, not the
/// event parser above, since the two disagree on where some documents end.)
pub fn second_document_line(text: &str) -> Option<usize> {
    let mut end = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        end += line.len();
        if let Err(e) = serde_yaml_ng::from_str::<serde::de::IgnoredAny>(&text[..end])
            && e.location().is_none()
            && e.to_string().contains("more than one document")
        {
            return Some(i + 1);
        }
    }
    None
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
    }
}

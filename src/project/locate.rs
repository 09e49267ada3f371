//! Finds the line of a field in block-style YAML text, so that errors found after parsing (when the
//! YAML crate's positions are gone) can still point at a line. Best effort: `None` when the text
//! uses a layout it does not follow (flow style, anchors).

use super::errors::FieldSeg;

/// One meaningful line: its 0-based number, indentation, and content after any `- ` markers.
struct Line<'a> {
    number: usize,
    indent: usize,
    /// Column of the content after `- ` sequence markers.
    content_col: usize,
    dashes: Vec<usize>,
    content: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        let mut content = trimmed;
        let mut col = indent;
        let mut dashes = Vec::new();
        while content == "-" || content.starts_with("- ") {
            dashes.push(col);
            let rest = content[1..].trim_start();
            col += content.len() - rest.len();
            content = rest;
        }
        out.push(Line {
            number,
            indent,
            content_col: col,
            dashes,
            content,
        });
    }
    out
}

fn is_key(content: &str, key: &str) -> bool {
    let unquoted = |q: char| {
        content
            .strip_prefix(q)
            .and_then(|c| c.strip_prefix(key))
            .and_then(|c| c.strip_prefix(q))
    };
    let rest = content
        .strip_prefix(key)
        .or_else(|| unquoted('"'))
        .or_else(|| unquoted('\''));
    matches!(rest.map(str::trim_start), Some(r) if r.starts_with(':'))
}

/// 1-based line of `path` in `text`, or of the deepest part of it that was found.
pub fn locate(text: &str, path: &[FieldSeg]) -> Option<usize> {
    let lines = lines(text);
    // The block being searched: lines[start..end], whose entries sit right of `parent_col`.
    let (mut start, mut end) = (0, lines.len());
    let mut parent_col: Option<usize> = None;
    let mut found = None;
    for seg in path {
        let right_of_parent = |col: usize| parent_col.is_none_or(|p| col > p);
        let (hit, col) = match seg {
            FieldSeg::Key(key) => {
                // Keys of this block all start in the column of its first entry.
                let block_col = (start..end)
                    .map(|i| lines[i].content_col)
                    .find(|&c| right_of_parent(c));
                let Some(block_col) = block_col else { break };
                let hit = (start..end)
                    .find(|&i| lines[i].content_col == block_col && is_key(lines[i].content, key));
                let Some(hit) = hit else { break };
                (hit, block_col)
            }
            FieldSeg::Index(index) => {
                let mut items = (start..end).flat_map(|i| {
                    lines[i]
                        .dashes
                        .iter()
                        .filter(|&&c| right_of_parent(c))
                        .map(move |&c| (i, c))
                });
                let Some((first, col)) = items.next() else {
                    break;
                };
                let nth = std::iter::once((first, col))
                    .chain(items.filter(|&(_, c)| c == col))
                    .nth(*index);
                let Some(mut nth) = nth else { break };
                nth.1 = col;
                nth
            }
        };
        found = Some(lines[hit].number + 1);
        // The entry ends where a line starts at or left of its column.
        let next_end = (hit + 1..end)
            .find(|&i| lines[i].indent <= col && !lines[i].dashes.iter().any(|&d| d > col))
            .unwrap_or(end);
        end = next_end;
        parent_col = Some(col);
        // A list item's first key shares its dash line; a key's children start below it.
        let shares_line = matches!(seg, FieldSeg::Index(_)) && !lines[hit].content.is_empty();
        start = if shares_line { hit } else { hit + 1 };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
version: \"1.0\"
sources:
  - name: a
    type: rest_api
    rest_api:
      base_url: http://x
      resources:
        - name: users
          endpoint: /users
        - name: orders
          endpoint: /orders
          pagination:
            type: page_number
  - name: b
    type: rest_api
";

    fn key(k: &str) -> FieldSeg {
        FieldSeg::Key(k.into())
    }

    #[test]
    fn finds_nested_fields_through_lists() {
        let path = [
            key("sources"),
            FieldSeg::Index(0),
            key("rest_api"),
            key("resources"),
            FieldSeg::Index(1),
            key("pagination"),
            key("type"),
        ];
        assert_eq!(locate(DOC, &path), Some(13));
        assert_eq!(
            locate(DOC, &[key("sources"), FieldSeg::Index(1), key("type")]),
            Some(15)
        );
        assert_eq!(locate(DOC, &[key("sources"), FieldSeg::Index(1)]), Some(14));
    }

    #[test]
    fn first_key_of_an_item_is_on_the_dash_line() {
        let path = [key("sources"), FieldSeg::Index(0), key("name")];
        assert_eq!(locate(DOC, &path), Some(3));
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        assert_eq!(locate(DOC, &[key("nope")]), None);
        let path = [key("sources"), FieldSeg::Index(1), key("rest_api")];
        assert_eq!(locate(DOC, &path), Some(14));
    }
}

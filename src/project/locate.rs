//! Finds the line of a field in the YAML text, so that errors found after parsing (when the YAML
//! crate's positions are gone) still point at a line: the field's own line, or that of the
//! deepest part of its path that is written (a value merged in from `resource_defaults`, or a
//! field of a bare-string resource, points at its entry).

use std::collections::HashMap;

use super::errors::FieldSeg;
use super::yaml_scan::walk;

/// 1-based line of `path` in `text`, or of the deepest part of it that was found (the first
/// line of the document for a path not written at all, or for text the event parser cannot
/// read). `None` only for text with nothing but blanks and comments.
#[cfg(test)]
pub fn locate(text: &str, path: &[FieldSeg]) -> Option<usize> {
    locate_all(text, &[path]).into_iter().next().flatten()
}

/// The line of each of `paths` in `text`, as [`locate`] finds it, from one walk of the text
/// however many paths there are: a file with many mistakes is still read once.
pub fn locate_all(text: &str, paths: &[&[FieldSeg]]) -> Vec<Option<usize>> {
    // Every prefix of every path asked for, with the line of the first node written at it (a
    // key comes before its value, so a field points at its key's line).
    let mut first_line: HashMap<&[FieldSeg], Option<usize>> = HashMap::new();
    for path in paths {
        for depth in 0..=path.len() {
            first_line.entry(&path[..depth]).or_insert(None);
        }
    }
    if !first_line.is_empty() {
        walk(text, |node| {
            if let Some(line @ None) = first_line.get_mut(node.path) {
                *line = Some(node.line);
            }
        });
    }
    let first_written = || {
        text.lines()
            .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|i| i + 1)
    };
    paths
        .iter()
        .map(|path| {
            (0..=path.len())
                .rev()
                .find_map(|depth| first_line.get(&path[..depth]).copied().flatten())
                .or_else(first_written)
        })
        .collect()
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
    fn flow_style_is_followed() {
        let doc =
            "sources: [{name: a, rest_api: {base_url: x,\n  resources: [users, {name: b}]}}]\n";
        let path = [
            key("sources"),
            FieldSeg::Index(0),
            key("rest_api"),
            key("resources"),
            FieldSeg::Index(1),
            key("name"),
        ];
        assert_eq!(locate(doc, &path), Some(2));
    }

    #[test]
    fn text_the_event_parser_cannot_read_points_at_its_first_line() {
        assert_eq!(locate("# c\n  \u{feff}x: [\n", &[key("x")]), Some(2));
    }

    #[test]
    fn many_paths_of_a_large_file_are_found_together() {
        // 3,000 items of three lines each: every item's `id`, and a field it lacks (its line),
        // asked for at once, in reverse order.
        let items = 3_000;
        let mut doc = String::from("items:\n");
        for i in 0..items {
            doc.push_str(&format!("  - name: n{i}\n    id: {i}\n    tags: [a, b]\n"));
        }
        let path = |i: usize, field: &str| vec![key("items"), FieldSeg::Index(i), key(field)];
        let mut paths = Vec::new();
        let mut expected = Vec::new();
        for i in (0..items).rev() {
            paths.push(path(i, "id"));
            expected.push(Some(3 + 3 * i));
            paths.push(path(i, "missing"));
            expected.push(Some(2 + 3 * i));
        }
        let asked: Vec<&[FieldSeg]> = paths.iter().map(Vec::as_slice).collect();
        assert_eq!(locate_all(&doc, &asked), expected);
        assert!(locate_all(&doc, &[]).is_empty());
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        assert_eq!(locate(DOC, &[key("nope")]), Some(1));
        let path = [key("sources"), FieldSeg::Index(1), key("rest_api")];
        assert_eq!(locate(DOC, &path), Some(14));
    }
}

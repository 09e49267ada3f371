//! Finds the line of a field in the YAML text, so that errors found after parsing (when the YAML
//! crate's positions are gone) still point at a line: the field's own line, or that of the
//! deepest part of its path that is written (a value merged in from `resource_defaults`, or a
//! field of a bare-string resource, points at its entry).

use super::errors::FieldSeg;
use super::yaml_scan::walk;

/// 1-based line of `path` in `text`, or of the deepest part of it that was found (the first
/// line of the document for a path not written at all, or for text the event parser cannot
/// read). `None` only for text with nothing but blanks and comments.
pub fn locate(text: &str, path: &[FieldSeg]) -> Option<usize> {
    // (depth, line) of the deepest node on the path so far; a key comes before its value, so
    // a field points at its key's line.
    let mut best: Option<(usize, usize)> = None;
    walk(text, |node| {
        if path.starts_with(node.path) && best.is_none_or(|(depth, _)| node.path.len() > depth) {
            best = Some((node.path.len(), node.line));
        }
    });
    best.map(|(_, line)| line).or_else(|| {
        text.lines()
            .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|i| i + 1)
    })
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
    fn missing_fields_point_at_their_parent() {
        assert_eq!(locate(DOC, &[key("nope")]), Some(1));
        let path = [key("sources"), FieldSeg::Index(1), key("rest_api")];
        assert_eq!(locate(DOC, &path), Some(14));
    }
}

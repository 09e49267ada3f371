//! Adding a source to `.dango/sources.yml` as text, so the user's comments, order and
//! formatting stay as they were: the new item goes at the end of the `sources:` list (or where
//! the one it replaces was), indented like its neighbours.

use super::errors::FieldSeg;
use super::yaml_scan;

/// Why the source could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A source of that name exists and `--replace` was not given.
    #[error(
        "a source named `{0}` already exists: pass --replace to replace it, or choose another name"
    )]
    Exists(String),
    /// The list is written in a form this edit does not rewrite.
    #[error(
        "`sources:` is written as a flow list (`[...]`): rewrite it as a block list (`- name: ...` lines) first"
    )]
    FlowList,
}

/// `text` with a source added; `item(indent)` writes the list item with its `-` at `indent`
/// spaces. A source named `name` is replaced if `replace`, else refused.
pub fn add_source(
    text: &str,
    name: &str,
    replace: bool,
    item: impl Fn(usize) -> String,
) -> Result<String, EditError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut sources_line = None;
    let mut next_top_key = None;
    let mut item_lines: Vec<usize> = Vec::new();
    let mut named = None;
    let mut flow = false;
    yaml_scan::walk(text, |node| {
        let path = node.path;
        if path.len() == 1 && node.is_key {
            match &path[0] {
                FieldSeg::Key(k) if k == "sources" => sources_line = Some(node.line),
                _ if sources_line.is_some() && next_top_key.is_none() => {
                    next_top_key = Some(node.line)
                }
                _ => {}
            }
        }
        if let [FieldSeg::Key(k), FieldSeg::Index(i)] = path
            && k == "sources"
            && !node.is_key
            && item_lines.len() == *i
        {
            item_lines.push(node.line);
        }
        if let [FieldSeg::Key(k), FieldSeg::Index(i), FieldSeg::Key(field)] = path
            && k == "sources"
            && field == "name"
            && !node.is_key
            && node.scalar == Some(name)
        {
            named = Some(*i);
        }
        if path.len() == 1 && !node.is_key && matches!(&path[0], FieldSeg::Key(k) if k == "sources")
        {
            let line = lines
                .get(node.line.saturating_sub(1))
                .copied()
                .unwrap_or("");
            // `sources: []` is rewritten as a block list; a flow list with items is not.
            let rest = line.split_once(':').map_or("", |(_, rest)| rest.trim());
            flow = rest.starts_with('[') && rest != "[]";
        }
    });
    if flow {
        return Err(EditError::FlowList);
    }
    let indent = item_lines
        .first()
        .and_then(|&l| lines.get(l.saturating_sub(1)))
        .map(|l| l.len() - l.trim_start_matches([' ', '-']).len())
        .map(|col| col.saturating_sub(2))
        .unwrap_or(2);
    let block = item(indent);
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    if let Some(i) = named {
        if !replace {
            return Err(EditError::Exists(name.to_string()));
        }
        // The item runs to the next item, or to the end of the list.
        let start = item_lines[i] - 1;
        let end = item_lines
            .get(i + 1)
            .map(|&l| l - 1)
            .unwrap_or_else(|| list_end(&lines, next_top_key));
        out.splice(start..end, block.lines().map(str::to_string));
        return Ok(joined(out));
    }
    match sources_line {
        None => {
            out.push("sources:".into());
            out.extend(block.lines().map(str::to_string));
        }
        Some(l) => {
            // `sources: []` or `sources:` with nothing: make it a block list.
            out[l - 1] = format!(
                "{}sources:",
                &lines[l - 1][..lines[l - 1].len() - lines[l - 1].trim_start().len()]
            );
            let at = if item_lines.is_empty() {
                l
            } else {
                list_end(&lines, next_top_key)
            };
            out.splice(at..at, block.lines().map(str::to_string));
        }
    }
    Ok(joined(out))
}

/// The line index after the `sources:` list's last non-blank, non-comment line.
fn list_end(lines: &[&str], next_top_key: Option<usize>) -> usize {
    let mut end = next_top_key.map(|l| l - 1).unwrap_or(lines.len());
    while end > 0 {
        let t = lines[end - 1].trim();
        let top_comment = t.starts_with('#') && !lines[end - 1].starts_with(' ');
        if t.is_empty() || (top_comment && next_top_key.is_some()) {
            end -= 1;
        } else {
            break;
        }
    }
    end
}

/// Lines as a file's text, ending with a newline.
fn joined(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(indent: usize) -> String {
        let pad = " ".repeat(indent);
        format!("{pad}- name: new\n{pad}  type: rest_api\n")
    }

    #[test]
    fn appends_at_the_end_of_the_list_keeping_comments_and_what_follows() {
        let text = "# top\nversion: \"1.0\"\nsources:\n    # mine\n    - name: old   # keep\n      type: rest_api\n\n# the warehouse\nwarehouse:\n  type: duckdb\n";
        let out = add_source(text, "new", false, item).unwrap();
        assert_eq!(
            out,
            "# top\nversion: \"1.0\"\nsources:\n    # mine\n    - name: old   # keep\n      type: rest_api\n    - name: new\n      type: rest_api\n\n# the warehouse\nwarehouse:\n  type: duckdb\n"
        );
    }

    #[test]
    fn an_empty_list_becomes_a_block_and_a_missing_one_is_added() {
        assert_eq!(
            add_source("version: \"1.0\"\nsources: []\n", "new", false, item).unwrap(),
            "version: \"1.0\"\nsources:\n  - name: new\n    type: rest_api\n"
        );
        assert_eq!(
            add_source("version: \"1.0\"\n", "new", false, item).unwrap(),
            "version: \"1.0\"\nsources:\n  - name: new\n    type: rest_api\n"
        );
    }

    #[test]
    fn a_name_that_exists_is_refused_or_replaced_in_place() {
        let text =
            "sources:\n  - name: new\n    type: dlt_native\n  - name: other\n    type: rest_api\n";
        assert_eq!(
            add_source(text, "new", false, item),
            Err(EditError::Exists("new".into()))
        );
        assert_eq!(
            add_source(text, "new", true, item).unwrap(),
            "sources:\n  - name: new\n    type: rest_api\n  - name: other\n    type: rest_api\n"
        );
        assert_eq!(
            add_source("sources: [{name: a}]\n", "new", false, item),
            Err(EditError::FlowList)
        );
    }
}

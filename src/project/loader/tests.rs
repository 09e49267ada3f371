//! The loader on large files with many mistakes: every problem reported, with its line.

use super::*;

/// A sources file of `sources` sources of 60 resources each, with a repeated key in every
/// tenth source and a page size of 0 in every third resource, and the (line, field) each
/// problem must be reported with, in the order they are reported.
fn many_mistakes(sources: usize) -> (String, Vec<(Option<usize>, String)>) {
    let mut lines = vec!["sources:".to_string()];
    let (mut repeated, mut zero_pages) = (Vec::new(), Vec::new());
    for s in 0..sources {
        lines.push(format!("  - name: s{s}"));
        lines.push("    type: rest_api".into());
        lines.push("    description: first".into());
        if s % 10 == 0 {
            lines.push("    description: again".into());
            repeated.push((Some(lines.len()), format!("sources[{s}].description")));
        }
        lines.push("    rest_api:".into());
        lines.push(format!("      base_url: https://s{s}.example.com"));
        lines.push("      resources:".into());
        for r in 0..60 {
            lines.push(format!("        - name: r{r}"));
            lines.push("          endpoint:".into());
            lines.push(format!("            path: /r{r}"));
            lines.push("            paginator:".into());
            lines.push("              type: page_number".into());
            let size = if r % 3 == 0 { 0 } else { 50 };
            lines.push(format!("              page_size: {size}"));
            if size == 0 {
                let field =
                    format!("sources[{s}].rest_api.resources[{r}].endpoint.paginator.page_size");
                zero_pages.push((Some(lines.len()), field));
            }
        }
    }
    repeated.extend(zero_pages);
    (lines.join("\n") + "\n", repeated)
}

#[test]
fn every_problem_of_a_large_file_names_its_own_line_and_field() {
    // 2,400 resources, 800 of them wrong: each problem's line is found, in one reading of
    // the text for all of them, and given to that problem and no other.
    let (text, expected) = many_mistakes(40);
    let errors = match parse_sources(Path::new("sources.yml"), &text) {
        Ok(_) => panic!("the file has mistakes"),
        Err(e) => e.0,
    };
    let found: Vec<(Option<usize>, String)> =
        errors.iter().map(|e| (e.line, e.field.clone())).collect();
    assert_eq!(found.len(), expected.len());
    assert_eq!(found, expected);
}

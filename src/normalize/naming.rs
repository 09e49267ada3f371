//! dlt's `snake_case` naming convention, so tables and columns get the names dlt would give them:
//! `userId` → `user_id`, `2fa` → `_2fa`, `price$` → `pricex`, `a-b` → `a_b`.

use std::sync::LazyLock;

use regex::Regex;

/// Separator between a parent and a child in table and column paths.
pub const PATH_SEPARATOR: &str = "__";

static NON_ALPHANUMERIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^a-zA-Z\d_]+").expect("valid regex"));
static UNDERSCORES: LazyLock<Regex> = LazyLock::new(|| Regex::new("__+").expect("valid regex"));
static LEADING_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+").expect("valid regex"));
static BREAK_1: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("([^_])([A-Z][a-z]+)").expect("valid regex"));
static BREAK_2: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("([a-z0-9])([A-Z])").expect("valid regex"));

/// Normalises one identifier (a JSON key, a resource or dataset name) to dlt's snake_case.
pub fn normalize_identifier(identifier: &str) -> String {
    let trimmed = identifier.trim();
    if trimmed.is_empty() {
        // dlt rejects empty names; a JSON key may still be "", so give it a stable name.
        return "_empty".to_string();
    }
    let reduced: String = trimmed
        .chars()
        .map(|c| match c {
            '+' | '*' => 'x',
            '-' => '_',
            '@' => 'a',
            '|' => 'l',
            other => other,
        })
        .collect();
    let reduced = NON_ALPHANUMERIC.replace_all(&reduced, "_");
    let broken = BREAK_1.replace_all(&reduced, "${1}_${2}");
    let mut ident = BREAK_2.replace_all(&broken, "${1}_${2}").to_lowercase();
    if LEADING_DIGITS.is_match(&ident) {
        ident.insert(0, '_');
    }
    let stripped = ident.trim_end_matches('_');
    let trailing = ident.len() - stripped.len();
    let ident = format!("{stripped}{}", "x".repeat(trailing));
    UNDERSCORES.replace_all(&ident, "_").into_owned()
}

/// Normalises a path of identifiers joined by `__` part by part, as dlt's `normalize_path`:
/// `lineItems__unitPrice` → `line_items__unit_price` (a single identifier would lose the `__`).
pub fn normalize_path(path: &str) -> String {
    let parts: Vec<String> = path
        .split(PATH_SEPARATOR)
        .map(normalize_identifier)
        .collect();
    parts.join(PATH_SEPARATOR)
}

/// Joins already-normalised path parts: `("order", "items")` → `order__items`.
pub fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}{PATH_SEPARATOR}{child}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_keep_their_separators() {
        assert_eq!(
            super::normalize_path("lineItems__unitPrice"),
            "line_items__unit_price"
        );
        assert_eq!(super::normalize_path("orders"), "orders");
    }

    use super::*;

    #[test]
    fn matches_dlt_snake_case() {
        let cases = [
            ("userId", "user_id"),
            ("UserID", "user_id"),
            ("getHTTPResponseCode", "get_http_response_code"),
            ("already_snake", "already_snake"),
            ("2fa", "_2fa"),
            ("price$", "pricex"),
            ("a-b", "a_b"),
            ("a+b", "axb"),
            ("e@mail", "eamail"),
            ("  spaced out  ", "spaced_out"),
            ("trailing__", "trailingxx"),
            ("a__b", "a_b"),
            ("Ünïcode", "_n_code"),
            ("_dlt_id", "_dlt_id"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_identifier(input), expected, "{input}");
        }
    }

    #[test]
    fn paths_join_with_double_underscore() {
        assert_eq!(join_path("orders", "line_items"), "orders__line_items");
        assert_eq!(join_path("", "x"), "x");
    }
}

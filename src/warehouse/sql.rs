//! SQL text built from names: every identifier is quoted, so a user's table or column name can
//! never change the meaning of a statement.

/// `name` as a quoted SQL identifier: `"name"`, embedded quotes doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// `name` as a SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `d."a" = s."a" AND d."b" = s."b"` for the key columns.
pub fn key_match(left: &str, right: &str, key: &[String]) -> String {
    key.iter()
        .map(|k| format!("{left}.{c} = {right}.{c}", c = ident(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_cannot_escape_their_quotes() {
        assert_eq!(
            ident(r#"a"; DROP TABLE x; --"#),
            r#""a""; DROP TABLE x; --""#
        );
        assert_eq!(qualified("raw", "users"), r#""raw"."users""#);
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(
            key_match("d", "s", &["org".into(), "id".into()]),
            r#"d."org" = s."org" AND d."id" = s."id""#
        );
    }
}

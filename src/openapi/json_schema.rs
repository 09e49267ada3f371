//! Reading the JSON Schemas of an API description: types, properties (through `allOf` and a
//! lone `anyOf`/`oneOf` branch), array items and fields nested a few levels down. Schemas may
//! be recursive, so every walk is bounded.

use serde_json::Value;

use super::document::{Description, Node};

/// How deep a walk into nested schemas goes.
const MAX_DEPTH: usize = 6;

/// A schema's types: `type: x`, `type: [x, "null"]` (3.1), or what its keywords imply.
pub fn types(desc: &Description, schema: Node<'_>) -> Vec<String> {
    let Some(schema) = single(desc, schema, 0) else {
        return Vec::new();
    };
    match schema.value.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(str::to_string)
            .collect(),
        _ if schema.value.get("properties").is_some() || schema.value.get("allOf").is_some() => {
            vec!["object".into()]
        }
        _ if schema.value.get("items").is_some() => vec!["array".into()],
        _ => Vec::new(),
    }
}

/// Whether the schema is of type `kind` (alone or with `null`).
pub fn is(desc: &Description, schema: Node<'_>, kind: &str) -> bool {
    types(desc, schema).iter().any(|t| t == kind)
}

/// The schema's `format` (`date-time`, `uuid`, `uri`...).
pub fn format<'a>(desc: &'a Description, schema: Node<'a>) -> Option<&'a str> {
    single(desc, schema, 0)?.value.get("format")?.as_str()
}

/// The items schema of an array schema.
pub fn items<'a>(desc: &'a Description, schema: Node<'a>) -> Option<Node<'a>> {
    let schema = single(desc, schema, 0)?;
    desc.follow(schema.get("items")?)
}

/// The object's properties in order, its `allOf` members' included (first one wins).
pub fn properties<'a>(desc: &'a Description, schema: Node<'a>) -> Vec<(&'a str, Node<'a>)> {
    let mut out = Vec::new();
    collect_properties(desc, schema, 0, &mut out);
    out
}

fn collect_properties<'a>(
    desc: &'a Description,
    schema: Node<'a>,
    depth: usize,
    out: &mut Vec<(&'a str, Node<'a>)>,
) {
    let Some(schema) = single(desc, schema, depth) else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(props) = schema.value.get("properties").and_then(Value::as_object) {
        for (name, value) in props {
            if !out.iter().any(|(n, _)| *n == name.as_str()) {
                let node = Node {
                    doc: schema.doc,
                    value,
                };
                out.push((name.as_str(), desc.follow(node).unwrap_or(node)));
            }
        }
    }
    // `allOf` members add their fields; a record of one of several kinds (`anyOf`, `oneOf`:
    // Stripe's payment sources) has the union of theirs.
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(members)) = schema.value.get(key) {
            for value in members {
                let member = Node {
                    doc: schema.doc,
                    value,
                };
                collect_properties(desc, member, depth + 1, out);
            }
        }
    }
}

/// The property `name` of an object schema.
pub fn property<'a>(desc: &'a Description, schema: Node<'a>, name: &str) -> Option<Node<'a>> {
    properties(desc, schema)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, node)| node)
}

/// A field a few levels into an object schema whose name `wanted` accepts, as its dotted
/// path: `meta.total_pages`, `paging.next.after`. Nearer fields win over deeper ones.
pub fn find_field<'a>(
    desc: &'a Description,
    schema: Node<'a>,
    wanted: &dyn Fn(&str, Node<'a>) -> bool,
    max_depth: usize,
) -> Option<(String, Node<'a>)> {
    let mut level: Vec<(String, Node<'a>)> = vec![(String::new(), schema)];
    for _ in 0..max_depth.min(MAX_DEPTH) {
        let mut next = Vec::new();
        for (prefix, node) in &level {
            for (name, child) in properties(desc, *node) {
                let path = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                if wanted(name, child) {
                    return Some((path, child));
                }
                if is(desc, child, "object") {
                    next.push((path, child));
                }
            }
        }
        level = next;
    }
    None
}

/// The schema with `$ref`s followed and a lone non-null `anyOf`/`oneOf` branch taken (how
/// 3.0 writes a nullable reference, and how code generators wrap one type).
fn single<'a>(desc: &'a Description, schema: Node<'a>, depth: usize) -> Option<Node<'a>> {
    let schema = desc.follow(schema)?;
    if depth > MAX_DEPTH {
        return Some(schema);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.value.get(key) {
            let real: Vec<&Value> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = real.as_slice() {
                return single(
                    desc,
                    Node {
                        doc: schema.doc,
                        value: only,
                    },
                    depth + 1,
                );
            }
        }
    }
    Some(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::document::Place;

    #[test]
    fn properties_come_through_refs_all_of_and_nullable_branches() {
        let d = Description::from_text(
            Place::File("api.yaml".into()),
            r##"
openapi: 3.1.0
components:
  schemas:
    Base: {type: object, properties: {id: {type: string, format: uuid}}}
    User:
      allOf:
        - $ref: '#/components/schemas/Base'
        - properties:
            meta: {anyOf: [{type: 'null'}, {type: object, properties: {next_cursor: {type: [string, 'null']}}}]}
    Node: {type: object, properties: {child: {$ref: '#/components/schemas/Node'}}}
"##,
        )
        .unwrap();
        let user = d.root().value.pointer("/components/schemas/User").unwrap();
        let user = Node {
            doc: 0,
            value: user,
        };
        let names: Vec<&str> = properties(&d, user).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["id", "meta"]);
        let id = property(&d, user, "id").unwrap();
        assert_eq!(format(&d, id), Some("uuid"));
        let (path, cursor) = find_field(&d, user, &|n, _| n == "next_cursor", 3).unwrap();
        assert_eq!(path, "meta.next_cursor");
        assert_eq!(types(&d, cursor), ["string"]);
        let tree = d.root().value.pointer("/components/schemas/Node").unwrap();
        assert!(
            find_field(
                &d,
                Node {
                    doc: 0,
                    value: tree
                },
                &|n, _| n == "nope",
                99
            )
            .is_none()
        );
    }
}

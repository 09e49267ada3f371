//! Where an operation's response keeps its records: the whole body (a list) or an array field
//! of it (`data`, `items`, `results.list`), the dlt `data_selector`.

use super::document::{Description, Node};
use super::json_schema::{self, is};

/// Names APIs give the list of records in a response, most common first.
const LIST_NAMES: [&str; 14] = [
    "data", "items", "results", "records", "entries", "values", "list", "content", "rows", "hits",
    "objects", "elements", "nodes", "edges",
];

/// The records of a response.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    /// The dotted path to the array, or `None` for a body that is the array.
    pub selector: Option<String>,
    /// The schema of one record, if the description gives one.
    pub item: Option<Node<'a>>,
    /// Why this is the list: said in the written comment.
    pub why: String,
    /// Whether the description leaves no doubt.
    pub sure: bool,
}

/// The records of a response with `schema`, or why the operation returns no list.
pub fn find<'a>(desc: &'a Description, schema: Option<Node<'a>>) -> Result<Records<'a>, String> {
    let Some(schema) = schema else {
        return Err("its response has no schema, so whether it lists records is unknown".into());
    };
    if is(desc, schema, "array") {
        let item = json_schema::items(desc, schema);
        check_item(desc, item)?;
        return Ok(Records {
            selector: None,
            item,
            why: "the response body is the list".into(),
            sure: true,
        });
    }
    if !is(desc, schema, "object") {
        return Err("its response is not a JSON object or list".into());
    }
    // A record is not a list of records, however many lists it holds (Stripe's `/v1/account`).
    if json_schema::property(desc, schema, "id").is_some() {
        return Err("it returns one record (the response has an `id`)".into());
    }
    let arrays = record_arrays(desc, schema, "");
    let nested = || {
        json_schema::properties(desc, schema)
            .into_iter()
            .filter(|(_, child)| is(desc, *child, "object"))
            .flat_map(|(name, child)| record_arrays(desc, child, name))
            .collect::<Vec<_>>()
    };
    let arrays = if arrays.is_empty() { nested() } else { arrays };
    let count = arrays.len();
    let named = arrays.iter().position(|(path, _)| {
        let last = path.rsplit('.').next().unwrap_or(path);
        LIST_NAMES.contains(&last)
    });
    let (path, item) = match (named, arrays.first()) {
        (Some(i), _) => arrays[i].clone(),
        (None, Some(first)) if count == 1 => first.clone(),
        (None, Some(_)) => {
            let names: Vec<&str> = arrays.iter().map(|(p, _)| p.as_str()).collect();
            return Err(format!(
                "it returns one object with {count} lists ({}), none of them named as a page of records",
                names.join(", ")
            ));
        }
        (None, None) => return Err("it returns one object, not a list".into()),
    };
    let why = match count {
        1 => format!("`{path}` is the response's only list of objects"),
        n => format!("`{path}`, of the response's {n} lists of objects the one named as records"),
    };
    Ok(Records {
        selector: Some(path),
        item,
        why,
        sure: count == 1 || named.is_some(),
    })
}

/// The array-of-object properties of `schema`, as `prefix.name` paths.
fn record_arrays<'a>(
    desc: &'a Description,
    schema: Node<'a>,
    prefix: &str,
) -> Vec<(String, Option<Node<'a>>)> {
    json_schema::properties(desc, schema)
        .into_iter()
        .filter(|(_, child)| is(desc, *child, "array"))
        .filter_map(|(name, child)| {
            let item = json_schema::items(desc, child);
            check_item(desc, item).ok()?;
            let path = match prefix {
                "" => name.to_string(),
                p => format!("{p}.{name}"),
            };
            Some((path, item))
        })
        .collect()
}

/// Refuses lists of scalars: a resource's records are objects.
fn check_item(desc: &Description, item: Option<Node<'_>>) -> Result<(), String> {
    let Some(item) = item else { return Ok(()) };
    let types = json_schema::types(desc, item);
    match types.first().map(String::as_str) {
        None | Some("object") => Ok(()),
        Some(other) => Err(format!("it returns a list of {other}s, not of records")),
    }
}

//! dlt's relational normaliser, rule for rule: nested objects flatten into `a__b` columns, lists
//! become child tables `<table>__<field>` linked by `_dlt_parent_id`/`_dlt_list_idx`, and every
//! row gets its `_dlt_*` columns. Column order follows dlt's (scalars first, then nested objects
//! last-in-first-out), so tables come out with the same columns in the same order.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use serde_json::{Map, Value};
use tiny_keccak::{Hasher as _, Shake, Xof};

use super::naming::{join_path, normalize_identifier};

/// A normalised row: (column, value) pairs in dlt's column order (values are scalars, or JSON
/// kept whole beyond the nesting limit). Keys that normalise to the same name share a column:
/// the last value wins, in the first one's place, as in dlt. A plain list rather than a map:
/// rows are built by the million and collisions are rare, so the normaliser only looks for an
/// earlier cell when it knows a name can come from two keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    cells: Vec<(Name, Value)>,
}

impl Row {
    /// An empty row with room for `n` columns.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            cells: Vec::with_capacity(n),
        }
    }

    /// The value of column `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.cells
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v)
    }

    /// The cells in column order.
    pub fn iter(&self) -> std::slice::Iter<'_, (Name, Value)> {
        self.cells.iter()
    }

    /// Columns in the row.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Sets `name`; with `may_exist`, an earlier cell of the same name is overwritten in place.
    fn set(&mut self, name: Name, value: Value, may_exist: bool) {
        if may_exist && let Some(cell) = self.cells.iter_mut().find(|(n, _)| *n == name) {
            cell.1 = value;
            return;
        }
        self.cells.push((name, value));
    }
}

#[cfg(test)]
impl std::ops::Index<&str> for Row {
    type Output = Value;

    /// The value of column `name`; panics if the row has no such column.
    fn index(&self, name: &str) -> &Value {
        self.get(name).expect("no such column in the row")
    }
}

impl FromIterator<(Name, Value)> for Row {
    /// A row of the given cells; a repeated name keeps its first place and its last value.
    fn from_iter<I: IntoIterator<Item = (Name, Value)>>(cells: I) -> Self {
        let mut row = Row::default();
        for (name, value) in cells {
            row.set(name, value, true);
        }
        row
    }
}

/// A column name, shared by every row that has the column: cloning it is a reference count.
pub type Name = Arc<str>;

type Hasher = foldhash::fast::RandomState;

/// dlt's bookkeeping columns.
pub mod columns {
    /// Random id of a root row; deterministic hash of parent id, table and index for child rows.
    pub const DLT_ID: &str = "_dlt_id";
    /// Load that wrote a root row.
    pub const DLT_LOAD_ID: &str = "_dlt_load_id";
    /// `_dlt_id` of a child row's parent.
    pub const DLT_PARENT_ID: &str = "_dlt_parent_id";
    /// Position of a child row in its parent's list.
    pub const DLT_LIST_IDX: &str = "_dlt_list_idx";
    /// `_dlt_id` of the root row, in child tables of `merge` resources.
    pub const DLT_ROOT_ID: &str = "_dlt_root_id";
    /// Column of list elements that are not objects.
    pub const VALUE: &str = "value";
}

/// Lists found while flattening: their joined key path and their items, to become child tables.
type Lists = Vec<(Name, Vec<Value>)>;

/// Length in bytes of the digests behind `_dlt_id` (14 base64 characters).
const DLT_ID_BYTES: usize = 10;

/// Turns a resource's records into rows of its root table and child tables.
#[derive(Debug, Clone)]
pub struct Normalizer {
    root_table: String,
    load_id: String,
    max_nesting: i64,
    /// Child rows of `merge` tables carry `_dlt_root_id`, so a merged parent's children can be
    /// replaced.
    root_key: bool,
    names: HashMap<String, String, Hasher>,
    /// Column names by parent path and raw key, so a row's names are built once per sync; with
    /// whether another key (or a `_dlt_*` column) can produce the same name.
    columns: HashMap<Name, HashMap<Box<str>, Column, Hasher>, Hasher>,
    /// How many distinct (path, key) pairs, bookkeeping columns included, produce each name.
    sources: HashMap<Name, usize, Hasher>,
    /// Some key produces the name of a bookkeeping column, so those must be set, not pushed.
    bookkeeping_shared: bool,
    keys: BookkeepingNames,
    /// Columns of the widest row flattened so far (plus the bookkeeping ones).
    widest_row: usize,
}

/// A cached column name.
#[derive(Debug, Clone)]
struct Column {
    name: Name,
    /// Another (path, key) pair, or a `_dlt_*` column, has the same name: a row may already
    /// hold it.
    shared: bool,
}

/// The `_dlt_*` column names, made once.
#[derive(Debug, Clone)]
struct BookkeepingNames {
    empty: Name,
    load_id: Name,
    id: Name,
    parent_id: Name,
    list_idx: Name,
    root_id: Name,
    value: Name,
}

impl Default for BookkeepingNames {
    fn default() -> Self {
        Self {
            empty: "".into(),
            load_id: columns::DLT_LOAD_ID.into(),
            id: columns::DLT_ID.into(),
            parent_id: columns::DLT_PARENT_ID.into(),
            list_idx: columns::DLT_LIST_IDX.into(),
            root_id: columns::DLT_ROOT_ID.into(),
            value: columns::VALUE.into(),
        }
    }
}

impl BookkeepingNames {
    /// The names the normaliser sets on rows besides the data's own.
    fn all(&self) -> [&Name; 5] {
        [
            &self.load_id,
            &self.id,
            &self.parent_id,
            &self.list_idx,
            &self.root_id,
        ]
    }
}

impl Normalizer {
    /// A normaliser for root table `root_table` (already normalised).
    pub fn new(root_table: &str, load_id: &str, max_nesting: usize, root_key: bool) -> Self {
        let keys = BookkeepingNames::default();
        Self {
            root_table: root_table.to_string(),
            load_id: load_id.to_string(),
            max_nesting: max_nesting.min(i64::MAX as usize) as i64,
            root_key,
            names: HashMap::default(),
            columns: HashMap::default(),
            sources: keys.all().into_iter().map(|k| (k.clone(), 1)).collect(),
            bookkeeping_shared: false,
            keys,
            widest_row: 0,
        }
    }

    /// Normalises one record; `emit(table, row)` gets the root row first, then its children.
    pub fn normalize(&mut self, record: Value, emit: &mut impl FnMut(&str, Row)) {
        let record = match record {
            Value::Object(map) => map,
            // dlt wraps anything that is not an object as {"value": ...}.
            other => Map::from_iter([(columns::VALUE.to_string(), other)]),
        };
        let root = self.root_table.clone();
        self.normalize_row(&root, record, &Row::default(), None, self.max_nesting, emit);
    }

    fn normalize_row(
        &mut self,
        table: &str,
        record: Map<String, Value>,
        extend: &Row,
        parent: Option<(&str, usize)>,
        level: i64,
        emit: &mut impl FnMut(&str, Row),
    ) {
        let (mut row, lists) = self.flatten(record, level);
        self.extend(&mut row, extend);
        let row_id = self.add_row_id(table, &mut row, parent);
        let mut child_extend = extend.clone();
        if parent.is_none() && self.root_key {
            let root_id = self.keys.root_id.clone();
            child_extend.set(root_id, Value::String(row_id.clone()), true);
        }
        emit(table, row);
        for (path, items) in lists {
            let child = join_path(table, &path);
            self.normalize_list(&child, items, &child_extend, &row_id, level - 1, emit);
        }
    }

    fn normalize_list(
        &mut self,
        table: &str,
        items: Vec<Value>,
        extend: &Row,
        parent_id: &str,
        level: i64,
        emit: &mut impl FnMut(&str, Row),
    ) {
        for (idx, item) in items.into_iter().enumerate() {
            let parent = Some((parent_id, idx));
            match item {
                Value::Object(map) => self.normalize_row(table, map, extend, parent, level, emit),
                // Lists of lists go through an intermediary row holding only `list`.
                Value::Array(inner) => {
                    let wrapped = Map::from_iter([("list".to_string(), Value::Array(inner))]);
                    self.normalize_row(table, wrapped, extend, parent, level - 1, emit);
                }
                scalar => {
                    let mut row = Row::with_capacity(extend.len() + 4);
                    row.set(self.keys.value.clone(), scalar, false);
                    self.extend(&mut row, extend);
                    self.add_row_id(table, &mut row, parent);
                    emit(table, row);
                }
            }
        }
    }

    /// dlt's `_flatten`: a stack walk, so a level's scalars come before its nested objects and
    /// nested objects come out in reverse key order.
    fn flatten(&mut self, record: Map<String, Value>, level: i64) -> (Row, Lists) {
        // Flattened objects add columns: start as wide as the widest row so far, so rows of one
        // shape never regrow.
        let width = (record.len() + 4).max(self.widest_row);
        let mut row = Row::with_capacity(width);
        let mut lists = Vec::new();
        // Each entry carries its parent's joined path (itself a column name prefix).
        let mut stack = vec![(record, level, self.keys.empty.clone())];
        while let Some((current, lvl, prefix)) = stack.pop() {
            for (key, value) in current {
                let Column { name, shared } = self.column_name(&prefix, &key);
                match value {
                    Value::Object(map) if lvl > 0 => stack.push((map, lvl - 1, name)),
                    Value::Array(items) if lvl > 0 => lists.push((name, items)),
                    other => row.set(name, other, shared),
                }
            }
        }
        self.widest_row = self.widest_row.max(row.len() + 4);
        (row, lists)
    }

    /// The column of raw `key` under the (normalised) path `prefix`, as a shared name.
    fn column_name(&mut self, prefix: &Name, key: &str) -> Column {
        if let Some(column) = self.columns.get(prefix).and_then(|m| m.get(key)) {
            return column.clone();
        }
        let norm = self.name(key).to_string();
        let name: Name = if prefix.is_empty() {
            norm.into()
        } else {
            join_path(prefix, &norm).into()
        };
        let sources = self.sources.entry(name.clone()).or_insert(0);
        *sources += 1;
        let shared = *sources > 1;
        if shared {
            // The name's other sources may already be cached as unshared: tell them too.
            for column in self.columns.values_mut().flat_map(|m| m.values_mut()) {
                if column.name == name {
                    column.shared = true;
                }
            }
            self.bookkeeping_shared |= self.keys.all().contains(&&name);
        }
        let column = Column { name, shared };
        self.columns
            .entry(prefix.clone())
            .or_default()
            .insert(key.into(), column.clone());
        column
    }

    /// Adds the inherited columns in `extend` (`_dlt_root_id`) to `row`.
    fn extend(&self, row: &mut Row, extend: &Row) {
        for (name, value) in extend.iter() {
            row.set(name.clone(), value.clone(), self.bookkeeping_shared);
        }
    }

    /// Normalised form of a JSON key; keys holding `__` keep it (dlt breaks paths on it).
    fn name(&mut self, key: &str) -> &str {
        if self.names.contains_key(key) {
            return &self.names[key];
        }
        let norm = if key.trim().is_empty() {
            "_empty".to_string()
        } else {
            key.split("__")
                .filter(|p| !p.trim().is_empty())
                .map(normalize_identifier)
                .collect::<Vec<_>>()
                .join("__")
        };
        let norm = if norm.is_empty() {
            normalize_identifier(key)
        } else {
            norm
        };
        self.names.entry(key.to_string()).or_insert(norm)
    }

    fn add_row_id(&self, table: &str, row: &mut Row, parent: Option<(&str, usize)>) -> String {
        let shared = self.bookkeeping_shared;
        match parent {
            None => {
                let load_id = Value::String(self.load_id.clone());
                row.set(self.keys.load_id.clone(), load_id, shared);
                let id = random_row_id();
                row.set(self.keys.id.clone(), Value::String(id.clone()), shared);
                id
            }
            Some((parent_id, idx)) => {
                let id = child_row_id(parent_id, table, idx);
                let parent_id = Value::String(parent_id.to_string());
                row.set(self.keys.parent_id.clone(), parent_id, shared);
                row.set(self.keys.list_idx.clone(), Value::from(idx), shared);
                row.set(self.keys.id.clone(), Value::String(id.clone()), shared);
                id
            }
        }
    }
}

/// A root row's `_dlt_id`: 10 random bytes in unpadded base64, like dlt's `uniq_id_base64(10)`.
pub fn random_row_id() -> String {
    let mut bytes = [0u8; DLT_ID_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    STANDARD_NO_PAD.encode(bytes)
}

/// A child row's `_dlt_id`: dlt's `digest128(f"{parent}_{table}_{idx}", 10)` (SHAKE-128).
pub fn child_row_id(parent_id: &str, table: &str, idx: usize) -> String {
    let mut idx_text = itoa::Buffer::new();
    digest128(
        &[
            parent_id.as_bytes(),
            b"_",
            table.as_bytes(),
            b"_",
            idx_text.format(idx).as_bytes(),
        ],
        DLT_ID_BYTES,
    )
}

/// dlt's `digest128`: the first `len` bytes of the SHAKE-128 digest of the concatenated
/// `parts`, in unpadded base64.
pub fn digest128(parts: &[&[u8]], len: usize) -> String {
    let mut shake = Shake::v128();
    for part in parts {
        shake.update(part);
    }
    let mut digest = [0u8; 32];
    let digest = &mut digest[..len.min(32)];
    shake.squeeze(digest);
    STANDARD_NO_PAD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(record: Value, max_nesting: usize, root_key: bool) -> Vec<(String, Row)> {
        let mut n = Normalizer::new("t", "1.5", max_nesting, root_key);
        let mut out = Vec::new();
        n.normalize(record, &mut |t, r| out.push((t.to_string(), r)));
        out
    }

    fn keys(row: &Row) -> Vec<&str> {
        row.iter().map(|(k, _)| k.as_ref()).collect()
    }

    #[test]
    fn child_ids_match_dlt() {
        // Value taken from a real dlt load.
        assert_eq!(
            child_row_id("zeh/Nh9ULdIEMw", "my_table__tags", 0),
            "Lum92N5yz/+tBg"
        );
        assert_eq!(random_row_id().len(), 14);
    }

    #[test]
    fn column_order_matches_dlt() {
        // dlt: z, c, b__y, a__x, a__q__deep, _dlt_load_id, _dlt_id
        let rows = run(
            json!({"z": 0, "a": {"x": 1, "q": {"deep": 1}}, "b": {"y": 2}, "c": 3}),
            1000,
            false,
        );
        assert_eq!(
            keys(&rows[0].1),
            [
                "z",
                "c",
                "b__y",
                "a__x",
                "a__q__deep",
                "_dlt_load_id",
                "_dlt_id"
            ]
        );
    }

    #[test]
    fn lists_become_child_tables() {
        let rows = run(
            json!({"id": 1, "tags": ["a", "b"], "items": [{"sku": "x", "parts": [[1, 2]]}]}),
            1000,
            true,
        );
        let tables: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            tables,
            [
                "t",
                "t__tags",
                "t__tags",
                "t__items",
                "t__items__parts",
                "t__items__parts__list",
                "t__items__parts__list"
            ]
        );
        let root_id = rows[0].1["_dlt_id"].clone();
        assert_eq!(
            keys(&rows[1].1),
            [
                "value",
                "_dlt_root_id",
                "_dlt_parent_id",
                "_dlt_list_idx",
                "_dlt_id"
            ]
        );
        assert_eq!(rows[2].1["_dlt_list_idx"], json!(1));
        assert_eq!(rows[1].1["_dlt_parent_id"], root_id);
        assert_eq!(rows[6].1["_dlt_root_id"], root_id);
        assert_eq!(rows[6].1["value"], json!(2));
    }

    #[test]
    fn nesting_limit_keeps_deeper_data_as_json() {
        let rows = run(
            json!({"d": {"x": 1, "dd": {"y": 2}}, "l": [{"a": {"b": 1}}]}),
            1,
            false,
        );
        assert_eq!(rows[0].1["d__x"], json!(1));
        assert_eq!(rows[0].1["d__dd"], json!({"y": 2}));
        assert_eq!(rows[1].0, "t__l");
        assert_eq!(rows[1].1["a"], json!({"b": 1}));
        let flat = run(json!({"d": {"x": 1}, "l": [1]}), 0, false);
        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].1["l"], json!([1]));
    }

    #[test]
    fn colliding_keys_share_a_column_last_value_wins() {
        let rows = run(
            json!({"fooBar": "A", "foo_bar": "B", "key__with__dunder": 1, "": 2}),
            1000,
            false,
        );
        assert_eq!(rows[0].1["foo_bar"], json!("B"));
        assert_eq!(rows[0].1["key__with__dunder"], json!(1));
        assert_eq!(rows[0].1["_empty"], json!(2));
    }

    #[test]
    fn a_name_found_shared_later_is_still_set_once() {
        let mut n = Normalizer::new("t", "1.5", 1000, false);
        let mut out = Vec::new();
        // `fooBar` is cached before `foo_bar` shows that two keys make the same column; a data
        // key named like a bookkeeping column is overwritten in its place, as dlt does.
        for record in [
            json!({"fooBar": 1}),
            json!({"fooBar": 2, "foo_bar": 3, "_dlt_id": "mine"}),
            json!({"fooBar": 4, "_dlt_id": "mine"}),
        ] {
            n.normalize(record, &mut |_, r| out.push(r));
        }
        assert_eq!(keys(&out[1]), ["foo_bar", "_dlt_id", "_dlt_load_id"]);
        assert_eq!(out[1]["foo_bar"], json!(3));
        assert_ne!(out[1]["_dlt_id"], json!("mine"));
        assert_eq!(keys(&out[2]), ["foo_bar", "_dlt_id", "_dlt_load_id"]);
        assert_ne!(out[2]["_dlt_id"], json!("mine"));
    }

    #[test]
    fn scalars_at_the_root_are_wrapped() {
        let rows = run(json!(5), 1000, false);
        assert_eq!(rows[0].1["value"], json!(5));
    }
}

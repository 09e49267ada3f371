//! dlt's relational normaliser, rule for rule: nested objects flatten into `a__b` columns, lists
//! become child tables `<table>__<field>` linked by `_dlt_parent_id`/`_dlt_list_idx`, and every
//! row gets its `_dlt_*` columns. Column order follows dlt's (scalars first, then nested objects
//! last-in-first-out), so tables come out with the same columns in the same order.
//!
//! Records are read straight from their JSON text (parsed values go through the same code, as
//! a deserializer): objects flatten into the row as they are read and lists become child rows
//! as they are read, so no tree of the record is ever built.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use serde_json::Value;
use tiny_keccak::{Hasher as _, Shake, Xof};

use super::naming::{join_path, normalize_identifier};

mod read;

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
    /// Column of list elements that are not objects (and of records that are not objects).
    pub const VALUE: &str = "value";
    /// Key of the row dlt puts between a list and a list inside it.
    pub const LIST: &str = "list";
}

/// Length in bytes of the digests behind `_dlt_id` (14 base64 characters).
const DLT_ID_BYTES: usize = 10;

/// Rows of a resource's root and child tables, in the order dlt emits them: each record's root
/// row first, and every row before the rows of the lists inside it.
#[derive(Debug, Default)]
pub struct Rows {
    /// The tables the rows belong to, in order of first appearance.
    pub tables: Vec<Name>,
    /// Each row with the index of its table in `tables`.
    pub rows: Vec<(usize, Row)>,
}

impl Rows {
    /// Room for `n` rows.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            tables: Vec::new(),
            rows: Vec::with_capacity(n),
        }
    }

    /// Holds the place of a row of `table` still being read, so that it comes before the
    /// child rows read inside it.
    fn reserve(&mut self, table: &Name) -> usize {
        // A page touches a handful of tables whose names are shared: a scan beats hashing.
        let t = match self
            .tables
            .iter()
            .position(|t| Arc::ptr_eq(t, table) || t == table)
        {
            Some(t) => t,
            None => {
                self.tables.push(table.clone());
                self.tables.len() - 1
            }
        };
        self.rows.push((t, Row::default()));
        self.rows.len() - 1
    }

    /// Puts a finished row in the place [`Rows::reserve`] held for it.
    fn fill(&mut self, slot: usize, row: Row) {
        if let Some(place) = self.rows.get_mut(slot) {
            place.1 = row;
        }
    }
}

/// A column or table name with its id, which indexes the normaliser's per-name tables.
#[derive(Debug, Clone)]
struct Column {
    name: Name,
    id: u32,
}

/// Every name the normaliser has made, by id.
#[derive(Debug, Clone, Default)]
struct Names {
    names: Vec<Name>,
    ids: HashMap<Name, u32, Hasher>,
}

impl Names {
    /// `name` with its id, registering it if it is new.
    fn register(&mut self, name: &str) -> Column {
        if let Some(&id) = self.ids.get(name) {
            return Column {
                name: self.names[id as usize].clone(),
                id,
            };
        }
        let name: Name = name.into();
        let id = self.names.len() as u32;
        self.names.push(name.clone());
        self.ids.insert(name.clone(), id);
        Column { name, id }
    }
}

/// A flattened value waiting for its place in a row.
type Cell = (Column, Value);

/// Buffers of a nested object's flattened values: the cells, and where each object's run of
/// them starts.
type Aside = (Vec<Cell>, Vec<usize>);

/// The `_dlt_*` columns, and the root path.
#[derive(Debug, Clone)]
struct Bookkeeping {
    /// The path of a row's own keys (`""`).
    root_path: Column,
    load_id: Column,
    id: Column,
    parent_id: Column,
    list_idx: Column,
    root_id: Column,
}

/// Turns a resource's records into rows of its root table and child tables.
#[derive(Debug, Clone)]
pub struct Normalizer {
    root_table: Column,
    load_id: String,
    max_nesting: i64,
    /// Child rows of `merge` tables carry `_dlt_root_id`, so a merged parent's children can be
    /// replaced.
    root_key: bool,
    /// Normalised form of each raw key seen.
    normalized: HashMap<String, String, Hasher>,
    names: Names,
    /// Columns by the id of their parent path and their raw key, so names are built once per
    /// sync.
    columns: Vec<HashMap<Box<str>, Column, Hasher>>,
    /// Child tables by the ids of their parent table and of the list's path.
    child_tables: HashMap<(u32, u32), Column, Hasher>,
    /// Per depth of row nesting, by name id, the number of the row that last set the name: a
    /// name set twice in one row (two keys that normalise alike, a repeated key, a key named
    /// like a `_dlt_*` column) keeps its first place and its last value, as in dlt.
    seen: Vec<Vec<u64>>,
    /// Rows started so far.
    started: u64,
    keys: Bookkeeping,
    /// Columns of the widest row so far, so rows of one shape never regrow.
    widest_row: usize,
    /// Spare buffers for flattening nested objects.
    spare: Vec<Aside>,
}

impl Normalizer {
    /// A normaliser for root table `root_table` (already normalised).
    pub fn new(root_table: &str, load_id: &str, max_nesting: usize, root_key: bool) -> Self {
        let mut names = Names::default();
        let keys = Bookkeeping {
            root_path: names.register(""),
            load_id: names.register(columns::DLT_LOAD_ID),
            id: names.register(columns::DLT_ID),
            parent_id: names.register(columns::DLT_PARENT_ID),
            list_idx: names.register(columns::DLT_LIST_IDX),
            root_id: names.register(columns::DLT_ROOT_ID),
        };
        Self {
            root_table: names.register(root_table),
            load_id: load_id.to_string(),
            max_nesting: max_nesting.min(i64::MAX as usize) as i64,
            root_key,
            normalized: HashMap::default(),
            names,
            columns: Vec::new(),
            child_tables: HashMap::default(),
            seen: Vec::new(),
            started: 0,
            keys,
            widest_row: 0,
            spare: Vec::new(),
        }
    }

    /// Normalises one parsed record into `out`.
    pub fn normalize(&mut self, record: Value, out: &mut Rows) -> Result<(), serde_json::Error> {
        self.normalize_from(record, out)
    }

    /// Normalises one record, read straight from its JSON text, into `out`.
    pub fn normalize_json(&mut self, json: &[u8], out: &mut Rows) -> Result<(), serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(json);
        self.normalize_from(&mut de, out)?;
        de.end()
    }

    /// The column of raw `key` under the path `prefix`.
    fn column(&mut self, prefix: &Column, key: &str) -> Column {
        let slot = prefix.id as usize;
        if let Some(column) = self.columns.get(slot).and_then(|m| m.get(key)) {
            return column.clone();
        }
        let norm = self.name(key).to_string();
        let column = match prefix.name.is_empty() {
            true => self.names.register(&norm),
            false => self.names.register(&join_path(&prefix.name, &norm)),
        };
        if self.columns.len() <= slot {
            self.columns.resize_with(slot + 1, HashMap::default);
        }
        self.columns[slot].insert(key.into(), column.clone());
        column
    }

    /// The child table of the list at column `path` of `table`'s rows.
    fn child_table(&mut self, table: &Column, path: &Column) -> Column {
        if let Some(child) = self.child_tables.get(&(table.id, path.id)) {
            return child.clone();
        }
        let child = self.names.register(&join_path(&table.name, &path.name));
        self.child_tables.insert((table.id, path.id), child.clone());
        child
    }

    /// Normalised form of a JSON key; keys holding `__` keep it (dlt breaks paths on it).
    fn name(&mut self, key: &str) -> &str {
        if self.normalized.contains_key(key) {
            return &self.normalized[key];
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
        self.normalized.entry(key.to_string()).or_insert(norm)
    }

    fn take_cells(&mut self) -> Vec<Cell> {
        self.spare.pop().map(|(cells, _)| cells).unwrap_or_default()
    }

    fn take_aside(&mut self) -> Aside {
        self.spare.pop().unwrap_or_default()
    }

    fn give_back(&mut self, (mut cells, mut starts): Aside) {
        cells.clear();
        starts.clear();
        self.spare.push((cells, starts));
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

    /// The rows of `record`, as (table, row); checks that reading the record from its JSON
    /// text gives the same rows as reading the parsed value.
    fn run(record: Value, max_nesting: usize, root_key: bool) -> Vec<(String, Row)> {
        let text = serde_json::to_vec(&record).unwrap();
        let mut n = Normalizer::new("t", "1.5", max_nesting, root_key);
        let mut parsed = Rows::default();
        n.normalize(record, &mut parsed).unwrap();
        let mut read = Rows::default();
        n.normalize_json(&text, &mut read).unwrap();
        let listed = |rows: Rows| -> Vec<(String, Row)> {
            rows.rows
                .into_iter()
                .map(|(t, row)| (rows.tables[t].to_string(), row))
                .collect()
        };
        let (parsed, read) = (listed(parsed), listed(read));
        assert_eq!(parsed.len(), read.len());
        for ((pt, prow), (rt, rrow)) in parsed.iter().zip(&read) {
            assert_eq!(pt, rt);
            assert_eq!(keys(prow), keys(rrow));
            // Only the random root ids (and the ids derived from them) differ.
            for ((k, pv), (_, rv)) in prow.iter().zip(rrow.iter()) {
                if !k.starts_with("_dlt_") || k.as_ref() == "_dlt_list_idx" {
                    assert_eq!(pv, rv, "column {k} of table {pt}");
                }
            }
        }
        parsed
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
            let mut rows = Rows::default();
            n.normalize(record, &mut rows).unwrap();
            out.extend(rows.rows.into_iter().map(|(_, r)| r));
        }
        assert_eq!(keys(&out[1]), ["foo_bar", "_dlt_id", "_dlt_load_id"]);
        assert_eq!(out[1]["foo_bar"], json!(3));
        assert_ne!(out[1]["_dlt_id"], json!("mine"));
        assert_eq!(keys(&out[2]), ["foo_bar", "_dlt_id", "_dlt_load_id"]);
        assert_ne!(out[2]["_dlt_id"], json!("mine"));
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_last_value() {
        // serde_json keeps the last of repeated keys in the first one's place: so does dlt,
        // and so must rows read from the text.
        let mut n = Normalizer::new("t", "1.5", 1000, false);
        let mut rows = Rows::default();
        let text = br#"{"a": 1, "o": {"x": 1, "x": 2}, "b": 2, "a": 3}"#;
        n.normalize_json(text, &mut rows).unwrap();
        let row = &rows.rows[0].1;
        assert_eq!(keys(row), ["a", "b", "o__x", "_dlt_load_id", "_dlt_id"]);
        assert_eq!(row["a"], json!(3));
        assert_eq!(row["o__x"], json!(2));
    }

    #[test]
    fn nested_objects_and_lists_keep_dlts_order_when_streamed() {
        // Lists inside nested objects, and objects after lists, read in one pass.
        let rows = run(
            json!({"a": {"l": [{"v": {"w": 1}, "m": [1]}], "y": 2}, "k": [3], "b": {"z": {"q": 1}, "r": 0}, "s": "x"}),
            1000,
            true,
        );
        let tables: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tables, ["t", "t__a__l", "t__a__l__m", "t__k"]);
        assert_eq!(keys(&rows[0].1)[..4], ["s", "b__r", "b__z__q", "a__y"]);
        assert_eq!(rows[1].1["v__w"], json!(1));
        assert_eq!(rows[2].1["_dlt_parent_id"], rows[1].1["_dlt_id"]);
        assert_eq!(rows[2].1["_dlt_root_id"], rows[0].1["_dlt_id"]);
    }

    #[test]
    fn invalid_json_is_an_error_not_a_panic() {
        let mut n = Normalizer::new("t", "1.5", 1000, false);
        let mut rows = Rows::default();
        assert!(n.normalize_json(br#"{"a": [1, 2"#, &mut rows).is_err());
        assert!(
            n.normalize_json(br#"{"a": 1} trailing"#, &mut rows)
                .is_err()
        );
    }

    #[test]
    fn scalars_at_the_root_are_wrapped() {
        let rows = run(json!(5), 1000, false);
        assert_eq!(rows[0].1["value"], json!(5));
    }
}

//! dlt's relational normaliser, rule for rule: nested objects flatten into `a__b` columns, lists
//! become child tables `<table>__<field>` linked by `_dlt_parent_id`/`_dlt_list_idx`, and every
//! row gets its `_dlt_*` columns. Column order follows dlt's (scalars first, then nested objects
//! last-in-first-out), so tables come out with the same columns in the same order.
//!
//! Records are read straight from their JSON text (parsed values go through the same code, as
//! a deserializer): objects flatten into the row as they are read and lists become child rows
//! as they are read, so no tree of the record is ever built. Rows are written as (column id,
//! cell) pairs whose strings are spans of the page's own text, so a row costs no allocation.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::naming::{join_path, normalize_identifier};

mod hashes;
mod ids;
mod read;
mod rows;

use ids::RowId;
pub use ids::{digest128, random_row_id};
pub use rows::{Cell, PageText, Rows, Text};

/// A column or table name, shared by everything that refers to it.
pub type Name = Arc<str>;

type Hasher = foldhash::fast::RandomState;

use crate::hints::{RootIds, columns};

/// Every name the normalisers of one resource have made, by id. Shared by the clones that
/// normalise pages in parallel, so that an id names the same column in every page.
#[derive(Debug, Default)]
pub struct Names {
    table: Mutex<NameTable>,
}

#[derive(Debug, Default)]
struct NameTable {
    names: Vec<Name>,
    ids: HashMap<Name, u32, Hasher>,
}

impl Names {
    /// The id of `name`, registering it if it is new.
    pub fn id(&self, name: &str) -> u32 {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = table.ids.get(name) {
            return id;
        }
        let name: Name = name.into();
        let id = table.names.len() as u32;
        table.names.push(name.clone());
        table.ids.insert(name, id);
        id
    }

    /// The name with id `id`.
    pub fn name(&self, id: u32) -> Option<Name> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.names.get(id as usize).cloned()
    }

    /// Names registered so far.
    fn len(&self) -> usize {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.names.len()
    }
}

/// A flattened value waiting for its place in a row.
type Flat = (u32, Cell);

/// Buffers of a nested object's flattened values: the cells, and where each object's run of
/// them starts.
type Aside = (Vec<Flat>, Vec<usize>);

/// Name ids of the `_dlt_*` columns, and of the root path.
#[derive(Debug, Clone, Copy)]
struct Bookkeeping {
    /// The path of a row's own keys (`""`).
    root_path: u32,
    load_id: u32,
    id: u32,
    parent_id: u32,
    list_idx: u32,
    root_id: u32,
}

/// Turns a resource's records into rows of its root table and child tables.
#[derive(Debug, Clone)]
pub struct Normalizer {
    root_table: u32,
    load_id: String,
    max_nesting: i64,
    /// Child rows of `merge` tables carry `_dlt_root_id`, so a merged parent's children can be
    /// replaced.
    root_key: bool,
    names: Arc<Names>,
    /// Normalised form of each raw key seen.
    normalized: HashMap<String, String, Hasher>,
    /// Column ids by the id of their parent path and their raw key, so names are built once
    /// per sync.
    columns: Vec<HashMap<Box<str>, u32, Hasher>>,
    /// Child tables (id and name) by the ids of their parent table and of the list's path.
    child_tables: HashMap<(u32, u32), (u32, Name), Hasher>,
    /// Per depth of row nesting, by name id, the number of the row that last set the name: a
    /// name set twice in one row (two keys that normalise alike, a repeated key, a key named
    /// like a `_dlt_*` column) keeps its first place and its last value, as in dlt.
    seen: Vec<Vec<u64>>,
    /// Rows started so far.
    started: u64,
    keys: Bookkeeping,
    /// Spare buffers for flattening nested objects.
    spare: Vec<Aside>,
    /// Cells of the record being read that hold integers beyond 64 bits as far as a float
    /// knows them: (their place among the record's wide floats, their text, the float).
    wide: Vec<(usize, Text, f64)>,
    /// Wide floats (see [`crate::json::numbers`]) met in the record being read so far.
    wide_seen: usize,
    /// Whether strings carry dlt's type tags ([`crate::json::typed`]): pages from Python
    /// sources do; API responses are read as they are.
    typed: bool,
    /// How root rows get their `_dlt_id`.
    root_ids: RootIds,
}

impl Normalizer {
    /// A normaliser for root table `root_table` (already normalised).
    pub fn new(root_table: &str, load_id: &str, max_nesting: usize, root_key: bool) -> Self {
        let names = Arc::new(Names::default());
        let keys = Bookkeeping {
            root_path: names.id(""),
            load_id: names.id(columns::DLT_LOAD_ID),
            id: names.id(columns::DLT_ID),
            parent_id: names.id(columns::DLT_PARENT_ID),
            list_idx: names.id(columns::DLT_LIST_IDX),
            root_id: names.id(columns::DLT_ROOT_ID),
        };
        Self {
            root_table: names.id(root_table),
            load_id: load_id.to_string(),
            max_nesting: max_nesting.min(i64::MAX as usize) as i64,
            root_key,
            names,
            normalized: HashMap::default(),
            columns: Vec::new(),
            child_tables: HashMap::default(),
            seen: Vec::new(),
            started: 0,
            keys,
            spare: Vec::new(),
            wide: Vec::new(),
            wide_seen: 0,
            typed: false,
            root_ids: RootIds::Random,
        }
    }

    /// Reads strings' type tags (dlt's typed JSON) from now on, or not.
    pub fn set_typed(&mut self, typed: bool) {
        self.typed = typed;
    }

    /// Gives root rows their `_dlt_id` as `ids` says (random unless a merge strategy hashes).
    pub fn set_root_ids(&mut self, ids: RootIds) {
        self.root_ids = ids;
    }

    /// The `_dlt_id` of the root row of `record`.
    fn root_id(&mut self, record: &Value) -> RowId {
        match &self.root_ids {
            RootIds::Random => RowId::random(),
            RootIds::RowHash => hashes::row_hash(record, self.typed),
            RootIds::KeyHash(key) => {
                let key = key.clone();
                let typed = self.typed;
                hashes::key_hash(record, &key, typed, |k| self.name(k).to_string())
            }
        }
    }

    /// The names behind the ids of the rows this normaliser and its clones write.
    pub fn names(&self) -> &Arc<Names> {
        &self.names
    }

    /// Normalises one parsed record into `out`.
    pub fn normalize(&mut self, record: Value, out: &mut Rows) -> Result<(), serde_json::Error> {
        let id = match self.root_ids {
            RootIds::Random => RowId::random(),
            _ => self.root_id(&record),
        };
        self.normalize_from(record, id, 0..0, out)
    }

    /// Normalises the record at `span` of the body `out` was made for ([`Rows::of_body`]),
    /// reading it straight from its JSON text.
    pub fn normalize_json(
        &mut self,
        span: Range<usize>,
        out: &mut Rows,
    ) -> Result<(), serde_json::Error> {
        let body = out.body.clone();
        let Some(json) = body.get(span) else {
            return Err(serde::de::Error::custom(
                "record span outside the page body",
            ));
        };
        let base = body.as_ptr() as usize..body.as_ptr() as usize + body.len();
        let first_cell = out.cells.len();
        // A hashed id needs the whole record before its first child row is written: read it
        // twice (only merge strategies other than delete-insert hash).
        let id = match self.root_ids {
            RootIds::Random => RowId::random(),
            _ => self.root_id(&serde_json::from_slice(json)?),
        };
        // One check of the whole record spares serde_json checking each string.
        let base = match std::str::from_utf8(json) {
            Ok(text) if out.body_is_text => {
                let mut de = crate::json::str_reader(text);
                self.normalize_from(&mut de, id, base.clone(), out)?;
                de.end()?;
                base
            }
            _ => {
                let mut de = crate::json::slice_reader(json);
                self.normalize_from(&mut de, id, 0..0, out)?;
                de.end()?;
                0..0
            }
        };
        if !self.wide.is_empty() {
            self.exact_wei(json, base, first_cell, out);
        }
        Ok(())
    }

    /// Gives the record's wide-float cells (see [`crate::json::numbers`]) their exact digits
    /// from `json`, the record's text, or makes them floats if they were written as floats.
    /// If the text's wide literals and the floats read do not pair up, the cells keep the
    /// float's digits.
    fn exact_wei(&mut self, json: &[u8], base: Range<usize>, first_cell: usize, out: &mut Rows) {
        let literals = crate::json::numbers::wide_literals(json);
        if literals.len() != self.wide_seen {
            return;
        }
        for &(ordinal, text, float) in &self.wide {
            let literal = &literals[ordinal];
            let cell = match literal.integer {
                false => Some(Cell::Double(float)),
                true => std::str::from_utf8(&json[literal.span.clone()])
                    .ok()
                    .and_then(|digits| out.locate(digits, base.clone()))
                    .map(Cell::Wei),
            };
            let Some(cell) = cell else { continue };
            if let Some(slot) = out.cells[first_cell..]
                .iter_mut()
                .find(|(_, c)| *c == Cell::Wei(text))
            {
                slot.1 = cell;
            }
        }
    }

    /// The column of raw `key` under the path `prefix`.
    fn column(&mut self, prefix: u32, key: &str) -> u32 {
        let slot = prefix as usize;
        if let Some(&column) = self.columns.get(slot).and_then(|m| m.get(key)) {
            return column;
        }
        let norm = self.name(key).to_string();
        let name = match self.names.name(prefix) {
            Some(prefix) if !prefix.is_empty() => join_path(&prefix, &norm),
            _ => norm,
        };
        let column = self.names.id(&name);
        if self.columns.len() <= slot {
            self.columns.resize_with(slot + 1, HashMap::default);
        }
        self.columns[slot].insert(key.into(), column);
        column
    }

    /// The child table (id and name) of the list at column `path` of `table`'s rows.
    fn child_table(&mut self, table: u32, path: u32) -> (u32, Name) {
        if let Some(child) = self.child_tables.get(&(table, path)) {
            return child.clone();
        }
        let (table_name, path_name) = (self.names.name(table), self.names.name(path));
        let name: Name = join_path(
            table_name.as_deref().unwrap_or_default(),
            path_name.as_deref().unwrap_or_default(),
        )
        .into();
        let child = (self.names.id(&name), name);
        self.child_tables.insert((table, path), child.clone());
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

    fn take_cells(&mut self) -> Vec<Flat> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    /// A row as (column, value) pairs, for assertions.
    #[derive(Debug)]
    struct Row(Vec<(String, Value)>);

    impl Row {
        fn iter(&self) -> impl Iterator<Item = &(String, Value)> {
            self.0.iter()
        }
    }

    impl std::ops::Index<&str> for Row {
        type Output = Value;

        fn index(&self, name: &str) -> &Value {
            let cell = self.0.iter().find(|(n, _)| n == name);
            &cell.expect("no such column in the row").1
        }
    }

    /// `rows` as (table, row) pairs with names and values.
    fn listed(n: &Normalizer, rows: &Rows) -> Vec<(String, Row)> {
        let text = rows.text();
        let name = |id: u32| n.names().name(id).unwrap().to_string();
        let value = |cell: Cell| match cell {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::from(b),
            Cell::Int(i) => Value::from(i),
            Cell::Double(f) => Value::from(f),
            Cell::Str(s) | Cell::Decimal(s) | Cell::Date(s) => Value::from(text.get(s)),
            Cell::Json(s) | Cell::Wei(s) => serde_json::from_str(text.get(s)).unwrap(),
        };
        rows.iter()
            .map(|(t, cells)| {
                let row = cells.iter().map(|&(c, v)| (name(c), value(v))).collect();
                (name(rows.tables()[t]), Row(row))
            })
            .collect()
    }

    /// Reads `text` as one record of a page that is just that record.
    fn read_json(n: &mut Normalizer, text: &[u8]) -> (Rows, Result<(), serde_json::Error>) {
        let mut rows = Rows::of_body(Bytes::copy_from_slice(text), 0);
        let read = n.normalize_json(0..text.len(), &mut rows);
        (rows, read)
    }

    /// The rows of `record`, as (table, row); checks that reading the record from its JSON
    /// text gives the same rows as reading the parsed value.
    fn run(record: Value, max_nesting: usize, root_key: bool) -> Vec<(String, Row)> {
        let text = serde_json::to_vec(&record).unwrap();
        let mut n = Normalizer::new("t", "1.5", max_nesting, root_key);
        let mut parsed = Rows::default();
        n.normalize(record, &mut parsed).unwrap();
        let (read, ok) = read_json(&mut n, &text);
        ok.unwrap();
        let (parsed, read) = (listed(&n, &parsed), listed(&n, &read));
        assert_eq!(parsed.len(), read.len());
        for ((pt, prow), (rt, rrow)) in parsed.iter().zip(&read) {
            assert_eq!(pt, rt);
            assert_eq!(keys(prow), keys(rrow));
            // Only the random root ids (and the ids derived from them) differ.
            for ((k, pv), (_, rv)) in prow.iter().zip(rrow.iter()) {
                if !k.starts_with("_dlt_") || k == "_dlt_list_idx" {
                    assert_eq!(pv, rv, "column {k} of table {pt}");
                }
            }
        }
        parsed
    }

    fn keys(row: &Row) -> Vec<&str> {
        row.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn child_ids_match_dlt() {
        // Value taken from a real dlt load.
        assert_eq!(
            RowId::child("zeh/Nh9ULdIEMw", "my_table__tags", 0).as_str(),
            "Lum92N5yz/+tBg"
        );
        assert_eq!(RowId::random().as_str().len(), 14);
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
            out.extend(listed(&n, &rows).into_iter().map(|(_, r)| r));
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
        let text = br#"{"a": 1, "o": {"x": 1, "x": 2}, "b": 2, "a": 3}"#;
        let (rows, read) = read_json(&mut n, text);
        read.unwrap();
        let row = &listed(&n, &rows)[0].1;
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
    fn any_depth_is_read_and_kept_as_json_beyond_the_nesting_limit() {
        let depth = 100_000;
        let deep = format!(
            "{}{{\"leaf\":true}}{}",
            r#"{"a":"#.repeat(depth),
            "}".repeat(depth)
        );
        let text = format!(r#"{{"id": 1, "d": {deep}}}"#);
        let mut n = Normalizer::new("t", "1.5", 1, false);
        let (rows, read) = read_json(&mut n, text.as_bytes());
        read.unwrap();
        let cells = rows.row(0).unwrap();
        assert_eq!(cells[0], (n.names().id("id"), Cell::Int(1)));
        // `d` flattens one level; what is below `d.a` is kept whole, as compact JSON.
        assert_eq!(cells[1].0, n.names().id("d__a"));
        let kept = rows.text().get(match cells[1].1 {
            Cell::Json(t) => t,
            other => panic!("{other:?}"),
        });
        assert_eq!(kept.len(), deep.len() - r#"{"a":"#.len() - 1);
        assert!(kept.starts_with(r#"{"a":{"a":"#) && kept.ends_with("}}}"));
        assert_eq!(kept.matches(r#"{"leaf":true}"#).count(), 1);
        // Lists as deep, read into child tables as far as the nesting limit allows.
        let lists = format!("[{}1{}]", "[".repeat(depth), "]".repeat(depth));
        let mut n = Normalizer::new("t", "1.5", 3, false);
        let (rows, read) = read_json(&mut n, lists.as_bytes());
        read.unwrap();
        assert!(rows.len() >= 2);
    }

    #[test]
    fn integers_beyond_64_bits_keep_their_digits_and_floats_stay_floats() {
        let text = br#"{"a": 123456789012345678901234567890, "b": 1e30, "c": -9300000000000000000, "s": "99999999999999999999999", "n": {"x": [1e30, 18446744073709551616]}, "d": 18446744073709551616}"#;
        let mut n = Normalizer::new("t", "1.5", 1, false);
        let (rows, read) = read_json(&mut n, text);
        read.unwrap();
        let text_of = |name: &str| {
            let id = n.names().id(name);
            match rows
                .row(0)
                .unwrap()
                .iter()
                .find(|(c, _)| *c == id)
                .unwrap()
                .1
            {
                Cell::Wei(t) => format!("wei {}", rows.text().get(t)),
                Cell::Json(t) => format!("json {}", rows.text().get(t)),
                other => format!("{other:?}"),
            }
        };
        assert_eq!(text_of("a"), "wei 123456789012345678901234567890");
        assert_eq!(text_of("b"), "Double(1e30)");
        assert_eq!(text_of("c"), "wei -9300000000000000000");
        assert_eq!(text_of("d"), "wei 18446744073709551616");
        // As serde_json prints the parsed value.
        assert_eq!(text_of("n__x"), "json [1e+30,1.8446744073709552e+19]");
    }

    #[test]
    fn invalid_json_is_an_error_not_a_panic() {
        let mut n = Normalizer::new("t", "1.5", 1000, false);
        assert!(read_json(&mut n, br#"{"a": [1, 2"#).1.is_err());
        assert!(read_json(&mut n, br#"{"a": 1} trailing"#).1.is_err());
        let mut rows = Rows::of_body(Bytes::from_static(b"[]"), 0);
        assert!(n.normalize_json(1..9, &mut rows).is_err());
    }

    #[test]
    fn scalars_at_the_root_are_wrapped() {
        let rows = run(json!(5), 1000, false);
        assert_eq!(rows[0].1["value"], json!(5));
    }

    #[test]
    fn plain_strings_point_into_the_body_and_escaped_ones_are_copied() {
        let record = json!({"plain": "abc", "quoted": "a\"b", "accent": "café", "big": u64::MAX});
        let rows = run(record.clone(), 1000, false);
        assert_eq!(rows[0].1["quoted"], json!("a\"b"));
        assert_eq!(rows[0].1["big"], json!(u64::MAX));
        let mut n = Normalizer::new("t", "1.5", 1000, false);
        let text = br#"{"plain": "abc", "quoted": "a\"b", "accent": "caf\u00e9"}"#;
        let (read, ok) = read_json(&mut n, text);
        ok.unwrap();
        let cells = read.row(0).unwrap();
        let cell = |name: &str| {
            cells[cells
                .iter()
                .position(|&(c, _)| c == n.names().id(name))
                .unwrap()]
            .1
        };
        assert_eq!(cell("plain"), Cell::Str(Text::Body { start: 11, len: 3 }));
        assert!(matches!(cell("quoted"), Cell::Str(Text::Own { .. })));
        assert_eq!(listed(&n, &read)[0].1["accent"], json!("café"));
    }

    #[test]
    fn a_body_that_is_not_utf8_is_still_read_with_its_strings_copied() {
        // An invalid byte outside the record: the envelope is skipped, never checked.
        let body = b"{\"x\": \"\xff\", \"items\": [{\"a\": \"b\"}]}";
        let start = body.len() - 12;
        let mut rows = Rows::of_body(Bytes::from_static(body), 0);
        let mut n = Normalizer::new("t", "1.5", 1000, false);
        n.normalize_json(start..body.len() - 2, &mut rows).unwrap();
        let cells = rows.row(0).unwrap();
        assert!(matches!(cells[0], (_, Cell::Str(Text::Own { .. }))));
        assert_eq!(listed(&n, &rows)[0].1["a"], json!("b"));
    }
}

//! The one-pass reader of the normaliser: serde visitors that read a record's JSON (text, or a
//! parsed value) and flatten it into rows as they go, with no tree of the record built.

use std::fmt;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{
    Aside, Bookkeeping, Cell, Column, Normalizer, Row, Rows, child_row_id, columns, random_row_id,
};

impl Normalizer {
    /// Reads one record from `de` into a root row and its child rows.
    pub(super) fn normalize_from<'de, D: Deserializer<'de>>(
        &mut self,
        de: D,
        out: &mut Rows,
    ) -> Result<(), D::Error> {
        let table = self.root_table.clone();
        let id = random_row_id();
        let root_id = self.root_key.then(|| id.clone());
        let at = RowAt {
            table: &table,
            id: &id,
            root_id: root_id.as_deref(),
            depth: 0,
            level: self.max_nesting,
        };
        let mut walk = Walk { n: self, out };
        let mut row = walk.start_row(&at);
        let mut cells = walk.n.take_cells();
        RecordSeed {
            walk: &mut walk,
            at,
            cells: &mut cells,
        }
        .deserialize(de)?;
        walk.finish_cells(&at, &mut row, cells);
        let load_id = Value::String(walk.n.load_id.clone());
        walk.put_key(0, &mut row, |k| &k.load_id, load_id);
        walk.put_key(0, &mut row, |k| &k.id, Value::String(id));
        walk.finish_row(row);
        Ok(())
    }
}

/// The row a value is being read into.
#[derive(Clone, Copy)]
struct RowAt<'a> {
    table: &'a Column,
    /// The row's `_dlt_id`, known before its record is read.
    id: &'a str,
    /// `_dlt_id` of the record's root row, for child rows of `merge` tables.
    root_id: Option<&'a str>,
    /// 0 for a root row, one more per list.
    depth: usize,
    /// dlt's nesting budget left at this row.
    level: i64,
}

/// A row being read: the place held for it, and its number (see `Normalizer::seen`).
struct OpenRow {
    slot: usize,
    number: u64,
    row: Row,
}

/// One record being read: the normaliser and where its rows go.
struct Walk<'a> {
    n: &'a mut Normalizer,
    out: &'a mut Rows,
}

impl Walk<'_> {
    /// Holds the place of a row of `at.table`.
    fn start_row(&mut self, at: &RowAt) -> OpenRow {
        let slot = self.out.reserve(&at.table.name);
        self.n.started += 1;
        if self.n.seen.len() <= at.depth {
            self.n.seen.resize_with(at.depth + 1, Vec::new);
        }
        OpenRow {
            slot,
            number: self.n.started,
            row: Row::with_capacity(self.n.widest_row),
        }
    }

    /// Sets `column` in a row at `depth`; a name the row already has keeps its place.
    fn put(&mut self, depth: usize, row: &mut OpenRow, column: Column, value: Value) {
        let id = column.id as usize;
        let seen = &mut self.n.seen[depth];
        if seen.len() <= id {
            seen.resize(self.n.names.names.len().max(id + 1), 0);
        }
        let again = seen[id] == row.number;
        seen[id] = row.number;
        row.row.set(column.name, value, again);
    }

    /// Sets the bookkeeping column `key` picks.
    fn put_key(
        &mut self,
        depth: usize,
        row: &mut OpenRow,
        key: fn(&Bookkeeping) -> &Column,
        value: Value,
    ) {
        let column = key(&self.n.keys).clone();
        self.put(depth, row, column, value);
    }

    /// Moves the flattened `cells` into the row, then its inherited `_dlt_root_id`.
    fn finish_cells(&mut self, at: &RowAt, row: &mut OpenRow, mut cells: Vec<Cell>) {
        for (column, value) in cells.drain(..) {
            self.put(at.depth, row, column, value);
        }
        self.n.give_back((cells, Vec::new()));
        if at.depth > 0
            && let Some(root_id) = at.root_id
        {
            let root_id = Value::String(root_id.to_string());
            self.put_key(at.depth, row, |k| &k.root_id, root_id);
        }
    }

    fn finish_row(&mut self, row: OpenRow) {
        self.n.widest_row = self.n.widest_row.max(row.row.len() + 4);
        self.out.fill(row.slot, row.row);
    }

    /// dlt's `_flatten` of one object under path `prefix`, at nesting budget `lvl`, streamed:
    /// its scalars go to `cells` as they are read; nested objects are flattened aside and
    /// follow, last first (dlt walks them with a stack); lists become child rows on the spot.
    fn object<'de, A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        at: RowAt,
        prefix: &Column,
        lvl: i64,
        cells: &mut Vec<Cell>,
    ) -> Result<(), A::Error> {
        let mut aside = None;
        while let Some(column) = map.next_key_seed(KeySeed { n: self.n, prefix })? {
            map.next_value_seed(ValueSeed {
                walk: self,
                at,
                column,
                lvl,
                cells,
                aside: &mut aside,
            })?;
        }
        self.close_aside(aside, cells);
        Ok(())
    }

    /// Appends the runs of nested objects flattened aside to `cells`, the last run first.
    fn close_aside(&mut self, aside: Option<Aside>, cells: &mut Vec<Cell>) {
        if let Some((mut nested, starts)) = aside {
            // Draining the tail run by run moves every cell once, without shifting any.
            for &start in starts.iter().rev() {
                cells.extend(nested.drain(start..));
            }
            self.n.give_back((nested, starts));
        }
    }

    /// A value that is not an object, where dlt reads it as the value of `key` (a record or a
    /// list item that is not an object).
    fn wrapped<E>(
        &mut self,
        at: RowAt,
        key: &str,
        cells: &mut Vec<Cell>,
        visit: impl FnOnce(ValueVisitor<'_, '_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let path = self.n.keys.root_path.clone();
        let column = self.n.column(&path, key);
        let mut aside = None;
        visit(ValueVisitor(ValueSeed {
            walk: &mut *self,
            at,
            column,
            lvl: at.level,
            cells: &mut *cells,
            aside: &mut aside,
        }))?;
        self.close_aside(aside, cells);
        Ok(())
    }

    /// Rows of the child table for the list at column `path` of `at`'s row.
    fn list<'de, A: SeqAccess<'de>>(
        &mut self,
        mut items: A,
        at: RowAt,
        path: &Column,
    ) -> Result<(), A::Error> {
        let table = self.n.child_table(at.table, path);
        let mut idx = 0;
        while items
            .next_element_seed(ItemSeed {
                walk: self,
                parent: at,
                table: &table,
                idx,
            })?
            .is_some()
        {
            idx += 1;
        }
        Ok(())
    }
}

/// Reads a record: an object flattens into the root row; anything else is treated as the
/// value of key `value`, as dlt wraps it.
struct RecordSeed<'w, 'a> {
    walk: &'w mut Walk<'a>,
    at: RowAt<'w>,
    cells: &'w mut Vec<Cell>,
}

impl RecordSeed<'_, '_> {
    /// The record as the value of key `value`.
    fn wrapped<E>(
        self,
        visit: impl FnOnce(ValueVisitor<'_, '_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.walk
            .wrapped(self.at, columns::VALUE, self.cells, visit)
    }

    fn scalar<E>(self, value: Value) -> Result<(), E> {
        self.wrapped(|v| v.scalar(value))
    }
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON record")
    }

    crate::json::visit_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let path = self.walk.n.keys.root_path.clone();
        self.walk
            .object(map, self.at, &path, self.at.level, self.cells)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.wrapped(|v| v.visit_seq(seq))
    }
}

/// Reads the item at `idx` of a list of `parent`'s row into a row of `table`.
struct ItemSeed<'w, 'a> {
    walk: &'w mut Walk<'a>,
    parent: RowAt<'w>,
    table: &'w Column,
    idx: usize,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        // The id is only worked out for an item that is there.
        let id = child_row_id(self.parent.id, &self.table.name, self.idx);
        let at = RowAt {
            table: self.table,
            id: &id,
            root_id: self.parent.root_id,
            depth: self.parent.depth + 1,
            level: self.parent.level - 1,
        };
        let row = self.walk.start_row(&at);
        let row = de.deserialize_any(ItemVisitor {
            walk: &mut *self.walk,
            at,
            parent_id: self.parent.id,
            idx: self.idx,
            row,
        })?;
        self.walk.finish_row(row);
        Ok(())
    }
}

/// The visitor of [`ItemSeed`], with the item's row held open.
struct ItemVisitor<'w, 'a> {
    walk: &'w mut Walk<'a>,
    at: RowAt<'w>,
    parent_id: &'w str,
    idx: usize,
    row: OpenRow,
}

impl ItemVisitor<'_, '_> {
    /// Fills the row with `read`'s cells, then the link to its parent and its id.
    fn fill<E>(
        mut self,
        at: RowAt,
        read: impl FnOnce(&mut Walk, &mut Vec<Cell>) -> Result<(), E>,
    ) -> Result<OpenRow, E> {
        let mut cells = self.walk.n.take_cells();
        read(self.walk, &mut cells)?;
        let walk = self.walk;
        walk.finish_cells(&at, &mut self.row, cells);
        let (depth, row) = (at.depth, &mut self.row);
        let parent_id = Value::String(self.parent_id.to_string());
        walk.put_key(depth, row, |k| &k.parent_id, parent_id);
        walk.put_key(depth, row, |k| &k.list_idx, Value::from(self.idx));
        walk.put_key(depth, row, |k| &k.id, Value::String(at.id.to_string()));
        Ok(self.row)
    }

    /// An item that is not an object: a row with the item as the value of `key`.
    fn wrapped<E>(
        self,
        at: RowAt,
        key: &str,
        visit: impl FnOnce(ValueVisitor<'_, '_>) -> Result<(), E>,
    ) -> Result<OpenRow, E> {
        self.fill(at, |walk, cells| walk.wrapped(at, key, cells, visit))
    }

    fn scalar<E>(self, value: Value) -> Result<OpenRow, E> {
        let at = self.at;
        self.wrapped(at, columns::VALUE, |v| v.scalar(value))
    }
}

impl<'de> Visitor<'de> for ItemVisitor<'_, '_> {
    type Value = OpenRow;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list item")
    }

    crate::json::visit_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OpenRow, A::Error> {
        let at = self.at;
        self.fill(at, |walk, cells| {
            let path = walk.n.keys.root_path.clone();
            walk.object(map, at, &path, at.level, cells)
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OpenRow, A::Error> {
        // A list in a list: dlt puts a row holding only `list` between them, a level down.
        let at = RowAt {
            level: self.at.level - 1,
            ..self.at
        };
        self.wrapped(at, columns::LIST, |v| v.visit_seq(seq))
    }
}

/// Reads a key as the column it names under a path.
struct KeySeed<'n> {
    n: &'n mut Normalizer,
    prefix: &'n Column,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Column;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Column, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Column;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Column, E> {
        Ok(self.n.column(self.prefix, key))
    }
}

/// Reads the value of one key of an object being flattened.
struct ValueSeed<'w, 'a> {
    walk: &'w mut Walk<'a>,
    at: RowAt<'w>,
    column: Column,
    /// Nesting budget of the object holding the key.
    lvl: i64,
    /// Where the object's scalars go.
    cells: &'w mut Vec<Cell>,
    /// Where the object's nested objects are flattened; taken from the spares on first use.
    aside: &'w mut Option<Aside>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(ValueVisitor(self))
    }
}

/// The visitor of [`ValueSeed`].
struct ValueVisitor<'w, 'a>(ValueSeed<'w, 'a>);

impl ValueVisitor<'_, '_> {
    fn scalar<E>(self, value: Value) -> Result<(), E> {
        let seed = self.0;
        seed.cells.push((seed.column, value));
        Ok(())
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    crate::json::visit_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let seed = self.0;
        if seed.lvl <= 0 {
            // Beyond the nesting limit an object stays whole, as JSON.
            let whole = Value::deserialize(MapAccessDeserializer::new(map))?;
            return ValueVisitor(seed).scalar(whole);
        }
        let walk = seed.walk;
        let (nested, starts) = seed.aside.get_or_insert_with(|| walk.n.take_aside());
        starts.push(nested.len());
        walk.object(map, seed.at, &seed.column, seed.lvl - 1, nested)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let seed = self.0;
        if seed.lvl <= 0 {
            let whole = Value::deserialize(SeqAccessDeserializer::new(seq))?;
            return ValueVisitor(seed).scalar(whole);
        }
        seed.walk.list(seq, seed.at, &seed.column)
    }
}

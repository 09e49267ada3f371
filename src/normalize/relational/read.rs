//! The one-pass reader of the normaliser: serde visitors that read a record's JSON (text, or a
//! parsed value) and flatten it into rows as they go, with no tree of the record built.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Aside, Cell, Flat, Normalizer, RowId, Rows, Text, columns};
use crate::json::compact::Compact;
use crate::json::typed::{self, Tag};
use crate::json::{Leaf, deeper, numbers};

impl Normalizer {
    /// Reads one record from `de` into a root row `id` and its child rows. Strings that lie in
    /// `body` (the address range of the page body `out` was made for) are kept as spans of it.
    pub(super) fn normalize_from<'de, D: Deserializer<'de>>(
        &mut self,
        de: D,
        id: RowId,
        body: Range<usize>,
        out: &mut Rows,
    ) -> Result<(), D::Error> {
        self.wide.clear();
        self.wide_seen = 0;
        let id_text = out.write(id.as_str()).ok_or_else(too_large)?;
        let at = RowAt {
            table: self.root_table,
            id: &id,
            id_text,
            root_id: self.root_key.then_some(id_text),
            depth: 0,
            level: self.max_nesting,
        };
        let mut walk = Walk { n: self, out, body };
        let mut row = walk.start_row(&at);
        let mut cells = walk.n.take_cells();
        RecordSeed {
            walk: &mut walk,
            at,
            cells: &mut cells,
        }
        .deserialize(de)?;
        walk.finish_cells(&at, &mut row, cells);
        let load_id = walk.out.load_id(&walk.n.load_id).ok_or_else(too_large)?;
        walk.put(0, &row, walk.n.keys.load_id, Cell::Str(load_id));
        walk.put(0, &row, walk.n.keys.id, Cell::Str(id_text));
        walk.finish_row(&row);
        Ok(())
    }
}

/// Runs `f`, a step one nesting level down to budget `level`, on a fresh stack segment if the
/// stack is nearly used up ([`deeper`]). Only every eighth budget is checked: each step down
/// spends at most one budget per two levels, and [`deeper`]'s red zone holds the frames of the
/// few dozen levels between two checks, so the check costs the common, shallow record nothing.
fn guard<R>(level: i64, f: impl FnOnce() -> R) -> R {
    match level % 8 {
        0 => deeper(f),
        _ => f(),
    }
}

/// The error for a page whose text outgrows the 32-bit spans of [`Text`].
fn too_large<E: de::Error>() -> E {
    E::custom("a page's text is larger than 4 GiB; ask the API for smaller pages")
}

/// The row a value is being read into.
#[derive(Clone, Copy)]
struct RowAt<'a> {
    /// Name id of the row's table.
    table: u32,
    /// The row's `_dlt_id`, known before its record is read, and where its text is.
    id: &'a RowId,
    id_text: Text,
    /// `_dlt_id` of the record's root row, for child rows of `merge` tables.
    root_id: Option<Text>,
    /// 0 for a root row, one more per list.
    depth: usize,
    /// dlt's nesting budget left at this row.
    level: i64,
}

/// A row being read: the place held for it, its number (see `Normalizer::seen`), and where its
/// cells start once they are written.
struct OpenRow {
    slot: usize,
    number: u64,
    start: usize,
}

/// One record being read: the normaliser, where its rows go and the body it is read from.
struct Walk<'a> {
    n: &'a mut Normalizer,
    out: &'a mut Rows,
    body: Range<usize>,
}

impl Walk<'_> {
    /// Holds the place of a row of `at.table`.
    fn start_row(&mut self, at: &RowAt) -> OpenRow {
        let slot = self.out.reserve(at.table);
        self.n.started += 1;
        if self.n.seen.len() <= at.depth {
            self.n.seen.resize_with(at.depth + 1, Vec::new);
        }
        OpenRow {
            slot,
            number: self.n.started,
            start: 0,
        }
    }

    /// The cell of a scalar.
    fn cell<E: de::Error>(&mut self, leaf: Leaf<'_>) -> Result<Cell, E> {
        Ok(match leaf {
            Leaf::Null => Cell::Null,
            Leaf::Bool(b) => Cell::Bool(b),
            Leaf::I64(i) => Cell::Int(i),
            Leaf::U64(u) => match i64::try_from(u) {
                Ok(i) => Cell::Int(i),
                Err(_) => {
                    let digits = itoa::Buffer::new().format(u).to_string();
                    Cell::Wei(self.out.write(&digits).ok_or_else(too_large)?)
                }
            },
            Leaf::F64(f) if numbers::is_wide(f) => {
                // Maybe an integer beyond 64 bits: its digits as far as the float knows them,
                // made exact from the record's text once it is read (`Normalizer::exact_wei`).
                let text = self.out.write(&format!("{f:.0}")).ok_or_else(too_large)?;
                self.n.wide.push((self.n.wide_seen, text, f));
                self.n.wide_seen += 1;
                Cell::Wei(text)
            }
            Leaf::F64(f) => Cell::Double(f),
            Leaf::Str(s) => {
                let (tag, s) = self.tagged(s);
                typed_cell(
                    tag,
                    self.out
                        .locate(s, self.body.clone())
                        .ok_or_else(too_large)?,
                )
            }
            Leaf::String(s) => {
                let (tag, s) = self.tagged(&s);
                typed_cell(tag, self.out.write(s).ok_or_else(too_large)?)
            }
        })
    }

    /// The type tag of a string of a typed page (see [`crate::json::typed`]) and the value
    /// after it; plain strings, and every string of other pages, have none.
    fn tagged<'s>(&self, s: &'s str) -> (Option<Tag>, &'s str) {
        match self.n.typed {
            true => typed::split(s).map_or((None, s), |(tag, rest)| (Some(tag), rest)),
            false => (None, s),
        }
    }

    /// The cell of a value kept whole beyond the nesting limit: its compact JSON text, as
    /// `write` writes it.
    fn json<E: de::Error>(
        &mut self,
        write: impl FnOnce(Compact<'_>) -> Result<(), E>,
    ) -> Result<Cell, E> {
        let start = self.out.own_mut().len();
        write(Compact::new(self.out.own_mut(), &mut self.n.wide_seen))?;
        let text = self.out.own_since(start).ok_or_else(too_large)?;
        Ok(Cell::Json(text))
    }

    /// Sets `column` in a row at `depth` whose cells are being written; a name the row already
    /// has keeps its place.
    fn put(&mut self, depth: usize, row: &OpenRow, column: u32, cell: Cell) {
        let id = column as usize;
        let seen = &mut self.n.seen[depth];
        if seen.len() <= id {
            seen.resize(self.n.names.len().max(id + 1), 0);
        }
        let again = seen[id] == row.number;
        seen[id] = row.number;
        if again
            && let Some(earlier) = self.out.cells[row.start..]
                .iter_mut()
                .find(|(c, _)| *c == column)
        {
            earlier.1 = cell;
            return;
        }
        self.out.cells.push((column, cell));
    }

    /// Writes the row's flattened `cells`, then its inherited `_dlt_root_id`. The row's child
    /// rows are all written by now, so its own cells are one run from here.
    fn finish_cells(&mut self, at: &RowAt, row: &mut OpenRow, mut cells: Vec<Flat>) {
        row.start = self.out.cells.len();
        for (column, cell) in cells.drain(..) {
            self.put(at.depth, row, column, cell);
        }
        self.n.give_back((cells, Vec::new()));
        if at.depth > 0
            && let Some(root_id) = at.root_id
        {
            self.put(at.depth, row, self.n.keys.root_id, Cell::Str(root_id));
        }
    }

    fn finish_row(&mut self, row: &OpenRow) {
        self.out.fill(row.slot, row.start);
    }

    /// dlt's `_flatten` of one object under path `prefix`, at nesting budget `lvl`, streamed:
    /// its scalars go to `cells` as they are read; nested objects are flattened aside and
    /// follow, last first (dlt walks them with a stack); lists become child rows on the spot.
    fn object<'de, A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        at: RowAt,
        prefix: u32,
        lvl: i64,
        cells: &mut Vec<Flat>,
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
    fn close_aside(&mut self, aside: Option<Aside>, cells: &mut Vec<Flat>) {
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
        cells: &mut Vec<Flat>,
        visit: impl FnOnce(ValueVisitor<'_, '_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let column = self.n.column(self.n.keys.root_path, key);
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
        path: u32,
    ) -> Result<(), A::Error> {
        let (table, name) = self.n.child_table(at.table, path);
        let mut idx = 0;
        while items
            .next_element_seed(ItemSeed {
                walk: self,
                parent: at,
                table,
                name: &name,
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
    cells: &'w mut Vec<Flat>,
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

    fn scalar<E: de::Error>(self, leaf: Leaf<'_>) -> Result<(), E> {
        self.wrapped(|v| v.scalar(leaf))
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
        let path = self.walk.n.keys.root_path;
        self.walk
            .object(map, self.at, path, self.at.level, self.cells)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.wrapped(|v| v.visit_seq(seq))
    }
}

/// Reads the item at `idx` of a list of `parent`'s row into a row of `table`.
struct ItemSeed<'w, 'a> {
    walk: &'w mut Walk<'a>,
    parent: RowAt<'w>,
    table: u32,
    name: &'w str,
    idx: usize,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        // The id is only worked out for an item that is there.
        let id = RowId::child(self.parent.id.as_str(), self.name, self.idx);
        let id_text = self.walk.out.write(id.as_str()).ok_or_else(too_large)?;
        let at = RowAt {
            table: self.table,
            id: &id,
            id_text,
            root_id: self.parent.root_id,
            depth: self.parent.depth + 1,
            level: self.parent.level - 1,
        };
        let row = self.walk.start_row(&at);
        let row = de.deserialize_any(ItemVisitor {
            walk: &mut *self.walk,
            at,
            parent_id: self.parent.id_text,
            idx: self.idx,
            row,
        })?;
        self.walk.finish_row(&row);
        Ok(())
    }
}

/// The visitor of [`ItemSeed`], with the item's row held open.
struct ItemVisitor<'w, 'a> {
    walk: &'w mut Walk<'a>,
    at: RowAt<'w>,
    parent_id: Text,
    idx: usize,
    row: OpenRow,
}

impl ItemVisitor<'_, '_> {
    /// Fills the row with `read`'s cells, then the link to its parent and its id.
    fn fill<E>(
        mut self,
        at: RowAt,
        read: impl FnOnce(&mut Walk, &mut Vec<Flat>) -> Result<(), E>,
    ) -> Result<OpenRow, E> {
        let mut cells = self.walk.n.take_cells();
        read(self.walk, &mut cells)?;
        let (walk, row) = (self.walk, &mut self.row);
        walk.finish_cells(&at, row, cells);
        let keys = walk.n.keys;
        let idx = i64::try_from(self.idx).map_or(Cell::Double(self.idx as f64), Cell::Int);
        walk.put(at.depth, row, keys.parent_id, Cell::Str(self.parent_id));
        walk.put(at.depth, row, keys.list_idx, idx);
        walk.put(at.depth, row, keys.id, Cell::Str(at.id_text));
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

    fn scalar<E: de::Error>(self, leaf: Leaf<'_>) -> Result<OpenRow, E> {
        let at = self.at;
        self.wrapped(at, columns::VALUE, |v| v.scalar(leaf))
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
        guard(at.level, || {
            self.fill(at, |walk, cells| {
                let path = walk.n.keys.root_path;
                walk.object(map, at, path, at.level, cells)
            })
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OpenRow, A::Error> {
        // A list in a list: dlt puts a row holding only `list` between them, a level down.
        let at = RowAt {
            level: self.at.level - 1,
            ..self.at
        };
        guard(at.level, || {
            self.wrapped(at, columns::LIST, |v| v.visit_seq(seq))
        })
    }
}

/// Reads a key as the id of the column it names under a path.
struct KeySeed<'n> {
    n: &'n mut Normalizer,
    prefix: u32,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<u32, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<u32, E> {
        Ok(self.n.column(self.prefix, key))
    }
}

/// Reads the value of one key of an object being flattened.
struct ValueSeed<'w, 'a> {
    walk: &'w mut Walk<'a>,
    at: RowAt<'w>,
    column: u32,
    /// Nesting budget of the object holding the key.
    lvl: i64,
    /// Where the object's scalars go.
    cells: &'w mut Vec<Flat>,
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
    fn scalar<E: de::Error>(self, leaf: Leaf<'_>) -> Result<(), E> {
        let seed = self.0;
        let cell = seed.walk.cell(leaf)?;
        seed.cells.push((seed.column, cell));
        Ok(())
    }

    /// A value beyond the nesting limit, kept whole, as `write` writes it.
    fn whole<E: de::Error>(
        self,
        write: impl FnOnce(Compact<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let seed = self.0;
        let cell = seed.walk.json(write)?;
        seed.cells.push((seed.column, cell));
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
            return ValueVisitor(seed).whole(|json| json.map(map));
        }
        let walk = seed.walk;
        let (nested, starts) = seed.aside.get_or_insert_with(|| walk.n.take_aside());
        starts.push(nested.len());
        guard(seed.lvl, || {
            walk.object(map, seed.at, seed.column, seed.lvl - 1, nested)
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let seed = self.0;
        if seed.lvl <= 0 {
            return ValueVisitor(seed).whole(|json| json.seq(seq));
        }
        guard(seed.lvl, || seed.walk.list(seq, seed.at, seed.column))
    }
}

/// The cell of a string value whose type tag (if any) is `tag`. Datetimes stay strings, which
/// the builder reads as timestamps as it reads any ISO 8601 string; UUIDs, bytes and times are
/// text.
fn typed_cell(tag: Option<Tag>, text: Text) -> Cell {
    match tag {
        Some(Tag::Decimal) => Cell::Decimal(text),
        Some(Tag::Date) => Cell::Date(text),
        Some(Tag::Wei) => Cell::Wei(text),
        _ => Cell::Str(text),
    }
}

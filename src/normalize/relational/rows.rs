//! The rows of one page as the normaliser writes them: runs of (column id, cell) pairs, with
//! strings as spans of the page body or of a small text the page owns.

use std::ops::Range;

use bytes::Bytes;

/// Where a string cell's text is: a span of the page body the records were read from, or of
/// the text the normaliser wrote itself (escaped strings, ids, JSON kept whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// `len` bytes of the page body from `start`.
    Body {
        /// First byte.
        start: u32,
        /// Length in bytes.
        len: u32,
    },
    /// `len` bytes of the normaliser's own text from `start`.
    Own {
        /// First byte.
        start: u32,
        /// Length in bytes.
        len: u32,
    },
}

/// The value of one cell of a row. Strings are [`Text`] spans, so cells are small and plain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number.
    Double(f64),
    /// A string.
    Str(Text),
    /// An object or list beyond the nesting limit, kept whole as JSON text.
    Json(Text),
    /// An integer that fits neither `i64` nor `u64`'s upper half (dlt's `wei`), as its decimal
    /// digits.
    Wei(Text),
    /// A decimal number, as its text (from dlt's typed JSON).
    Decimal(Text),
    /// A calendar date, `YYYY-MM-DD` (from dlt's typed JSON).
    Date(Text),
}

/// The texts [`Text`] spans point into, for one page of rows.
#[derive(Debug, Clone, Copy)]
pub struct PageText<'a> {
    body: &'a str,
    own: &'a str,
}

impl<'a> PageText<'a> {
    /// The string `text` spans (empty for a span that is out of range, which never happens
    /// for the spans of the same [`Rows`]).
    pub fn get(&self, text: Text) -> &'a str {
        let (source, start, len) = match text {
            Text::Body { start, len } => (self.body, start, len),
            Text::Own { start, len } => (self.own, start, len),
        };
        let start = start as usize;
        source.get(start..start + len as usize).unwrap_or_default()
    }
}

/// Where each row of [`Rows`] is: its table and its run of cells.
#[derive(Debug, Clone, Copy, Default)]
struct RowEntry {
    table: usize,
    cells: (usize, usize),
}

/// Rows of a resource's root and child tables, in the order dlt emits them: each record's root
/// row first, and every row before the rows of the lists inside it. Each row is a run of
/// (column id, cell) pairs in dlt's column order; the ids are those of the normaliser's
/// `Names`.
#[derive(Debug, Default)]
pub struct Rows {
    /// Name ids of the tables the rows belong to, in order of first appearance.
    tables: Vec<u32>,
    rows: Vec<RowEntry>,
    pub(super) cells: Vec<(u32, Cell)>,
    /// The page body the records are read from.
    pub(super) body: Bytes,
    /// Whether `body` is UTF-8 throughout: only then do cells point into it.
    pub(super) body_is_text: bool,
    /// Text the normaliser wrote.
    own: String,
    /// This page's `_dlt_load_id`, once written to `own`.
    load_id: Option<Text>,
}

impl Rows {
    /// Rows of records read from `body` (see
    /// [`Normalizer::normalize_json`](super::Normalizer::normalize_json)), with room for `n`
    /// rows. A body that is not UTF-8 throughout is still read: its strings are copied.
    pub fn of_body(body: Bytes, n: usize) -> Self {
        let mut rows = Self {
            rows: Vec::with_capacity(n),
            cells: Vec::with_capacity(n * 8),
            ..Self::default()
        };
        rows.reset(body);
        rows
    }

    /// Empties the rows for the records of `body` (empty for parsed records), keeping their
    /// buffers: a page's rows take megabytes, and fresh ones cost page faults on every page.
    pub fn reset(&mut self, body: Bytes) {
        self.tables.clear();
        self.rows.clear();
        self.cells.clear();
        self.own.clear();
        self.load_id = None;
        self.body_is_text = std::str::from_utf8(&body).is_ok() && u32::try_from(body.len()).is_ok();
        self.body = body;
    }

    /// Name ids of the tables the rows belong to, indexed by [`Rows::iter`]'s table numbers.
    pub fn tables(&self) -> &[u32] {
        &self.tables
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each row's table number (an index of [`Rows::tables`]) and cells, in order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[(u32, Cell)])> + '_ {
        self.rows.iter().map(|r| (r.table, self.cells_of(r)))
    }

    /// The cells of row `i`.
    pub fn row(&self, i: usize) -> Option<&[(u32, Cell)]> {
        self.rows.get(i).map(|r| self.cells_of(r))
    }

    fn cells_of(&self, row: &RowEntry) -> &[(u32, Cell)] {
        self.cells.get(row.cells.0..row.cells.1).unwrap_or_default()
    }

    /// The texts the rows' string cells point into.
    pub fn text(&self) -> PageText<'_> {
        PageText {
            // Checked when the rows were made: a body that is not UTF-8 has no cells in it.
            body: match self.body_is_text {
                true => std::str::from_utf8(&self.body).unwrap_or_default(),
                false => "",
            },
            own: &self.own,
        }
    }

    /// Holds the place of a row of `table` still being read, so that it comes before the
    /// child rows read inside it.
    pub(super) fn reserve(&mut self, table: u32) -> usize {
        // A page touches a handful of tables: a scan beats hashing.
        let table = match self.tables.iter().position(|&t| t == table) {
            Some(t) => t,
            None => {
                self.tables.push(table);
                self.tables.len() - 1
            }
        };
        self.rows.push(RowEntry {
            table,
            cells: (0, 0),
        });
        self.rows.len() - 1
    }

    /// Ends the row [`Rows::reserve`] held `slot` for: its cells are those from `start` on.
    pub(super) fn fill(&mut self, slot: usize, start: usize) {
        let end = self.cells.len();
        if let Some(row) = self.rows.get_mut(slot) {
            row.cells = (start, end);
        }
    }

    /// `text` written to the rows' own text.
    pub(super) fn write(&mut self, text: &str) -> Option<Text> {
        let start = u32::try_from(self.own.len()).ok()?;
        let len = u32::try_from(text.len()).ok()?;
        start.checked_add(len)?;
        self.own.push_str(text);
        Some(Text::Own { start, len })
    }

    /// The rows' own text, for a writer that appends to it (see [`Rows::own_since`]).
    pub(super) fn own_mut(&mut self) -> &mut String {
        &mut self.own
    }

    /// Where the own text appended since it was `start` bytes long is.
    pub(super) fn own_since(&self, start: usize) -> Option<Text> {
        let len = u32::try_from(self.own.len().checked_sub(start)?).ok()?;
        let start = u32::try_from(start).ok()?;
        start.checked_add(len)?;
        Some(Text::Own { start, len })
    }

    /// `s`, a string of the body `body` records are being read from: its span if the body is
    /// this page's, a copy otherwise (strings with escapes, parsed values).
    pub(super) fn locate(&mut self, s: &str, body: Range<usize>) -> Option<Text> {
        let at = s.as_ptr() as usize;
        if self.body_is_text && at >= body.start && at + s.len() <= body.end {
            let start = u32::try_from(at - body.start).ok()?;
            let len = u32::try_from(s.len()).ok()?;
            return Some(Text::Body { start, len });
        }
        self.write(s)
    }

    /// This page's `_dlt_load_id`, written once.
    pub(super) fn load_id(&mut self, load_id: &str) -> Option<Text> {
        if self.load_id.is_none() {
            self.load_id = self.write(load_id);
        }
        self.load_id
    }
}

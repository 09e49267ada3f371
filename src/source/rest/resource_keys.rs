//! The checks of a resource's keys and merge hints: what a `merge` needs to match rows on, and
//! which of dlt's merge options cannot work together.

use super::resource_config::{PrimaryKey, ResourceConfig};
use crate::hints::{ColumnHint, MergeStrategy, WriteDisposition};
use crate::source::config_problem::{Problem, is_blank};

impl ResourceConfig {
    /// Empty key columns: an empty column name never names a column, and a `merge` needs a
    /// key to match on.
    pub(super) fn key_problems(&self) -> Vec<Problem> {
        let merge = self.disposition() == WriteDisposition::Merge;
        let mut out = Vec::new();
        let columns = |k: &Option<PrimaryKey>| k.as_ref().map(PrimaryKey::columns);
        if let Some(pk) = columns(&self.primary_key) {
            if pk.iter().any(|c| is_blank(c)) {
                out.push(
                    Problem::at(&["primary_key"], "has an empty column name").hint(
                        "name the key column(s), e.g. `primary_key: id` or `primary_key: [org, id]`",
                    ),
                );
            } else if pk.is_empty() && merge {
                out.push(
                    Problem::at(
                        &["primary_key"],
                        "is empty, so a `merge` has no key to match rows on (it would append)",
                    )
                    .hint(
                        "name the key column(s), e.g. `primary_key: id`, or set \
                         `write_disposition: append` if every sync's rows should be added",
                    ),
                );
            }
        }
        if let Some(mk) = columns(&self.merge_key) {
            if mk.iter().any(|c| is_blank(c)) {
                out.push(
                    Problem::at(&["merge_key"], "has an empty column name")
                        .hint("name the column(s), e.g. `merge_key: day`"),
                );
            } else if mk.is_empty() && merge {
                out.push(
                    Problem::at(
                        &["merge_key"],
                        "is empty: it names no column whose rows to replace",
                    )
                    .hint("name the column(s), e.g. `merge_key: day`, or leave it out"),
                );
            }
        }
        out
    }

    /// Merge hints that cannot work together: dlt refuses most of these too, or ignores them
    /// with a log line a user never reads.
    pub(super) fn merge_problems(&self) -> Vec<Problem> {
        let merge = self.merge_hints();
        let mut out = Vec::new();
        for (hint, is) in [
            (
                "hard_delete",
                (|h: &ColumnHint| h.hard_delete) as fn(&ColumnHint) -> bool,
            ),
            ("dedup_sort", |h: &ColumnHint| h.dedup_sort.is_some()),
        ] {
            let named: Vec<&String> = self
                .columns
                .iter()
                .filter(|(_, h)| is(h))
                .map(|(c, _)| c)
                .collect();
            if named.len() > 1 {
                out.push(
                    Problem::at(
                        &["columns"],
                        format!("sets `{hint}` on {} columns", named.len()),
                    )
                    .hint(format!("keep `{hint}` on one column (dlt allows only one)")),
                );
            }
            if let Some(column) = named.first()
                && self.disposition() != WriteDisposition::Merge
            {
                out.push(
                    Problem::at(
                        &["columns", column.as_str(), hint],
                        "applies only to `merge`",
                    )
                    .hint("remove it, or set `write_disposition: merge`"),
                );
            }
        }
        out.extend(self.deletes_problems());
        if self.disposition() != WriteDisposition::Merge {
            return out;
        }
        let (primary_key, merge_key) = self.keys();
        let by_key = matches!(
            merge.strategy,
            MergeStrategy::Upsert | MergeStrategy::InsertOnly
        );
        if by_key && !merge_key.is_empty() {
            out.push(
                Problem::at(
                    &["merge_key"],
                    format!(
                        "is not used by `strategy: {}`, which matches on the primary key",
                        merge.strategy.as_str()
                    ),
                )
                .hint("remove `merge_key`, or use `strategy: delete-insert`"),
            );
        }
        if merge.dedup_sort.is_some()
            && (primary_key.is_empty() || merge.strategy != MergeStrategy::DeleteInsert)
        {
            out.push(
                Problem::at(
                    &["columns"],
                    "`dedup_sort` applies only to `strategy: delete-insert` with a primary key",
                )
                .hint("remove `dedup_sort`, or declare `primary_key`"),
            );
        }
        if let MergeStrategy::Scd2(scd2) = &merge.strategy
            && scd2.valid_from == scd2.valid_to
        {
            out.push(
                Problem::at(
                    &["write_disposition", "validity_column_names"],
                    "names one column twice",
                )
                .hint("name two columns, e.g. `[valid_from, valid_to]`"),
            );
        }
        out
    }

    /// Where deletes detected by absence cannot be right: a sync that does not read the whole
    /// collection would delete what it did not ask for.
    fn deletes_problems(&self) -> Vec<Problem> {
        let Some(deletes) = &self.deletes else {
            return Vec::new();
        };
        let (primary_key, merge_key) = self.keys();
        let strategy = self.merge_hints().strategy;
        let found = deletes.problems(self.disposition(), &strategy, &primary_key, &merge_key);
        let mut out: Vec<Problem> = found
            .into_iter()
            .map(|p| {
                let at: &[&str] = match p.option {
                    "" => &["deletes"],
                    option => &["deletes", option],
                };
                Problem::at(at, p.message).hint(p.hint)
            })
            .collect();
        if self.effective_endpoint().incremental.is_some() {
            out.push(
                Problem::at(
                    &["deletes"],
                    "cannot detect deletes of an incremental resource: each sync asks only for \
                     records changed since the last, so every other record would be absent",
                )
                .hint("remove `incremental` to read the whole collection each sync, or `deletes`"),
            );
        }
        out
    }
}

//! Deletes detected by absence (Dango's, beyond dlt): many APIs never say a record was deleted,
//! it just stops appearing. A resource that reads its whole collection every sync can say so,
//! and the commit removes or marks the rows whose key did not come.

use serde::Deserialize;

use super::{MergeStrategy, WriteDisposition};

/// Rows marked deleted by `mode: soft` carry when (the sync's start); NULL while present.
pub const DANGO_DELETED_AT: &str = "_dango_deleted_at";

/// `deletes: {detect: absent, mode: hard | soft, max_ratio: 0.5}`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsentDeletes {
    /// How deletions are detected; `absent` is the only way: the key did not come this sync.
    /// Example: `detect: absent`
    pub detect: Detect,
    /// `hard` removes the rows (with their child rows); `soft` keeps them with
    /// `_dango_deleted_at` set. Under scd2 the versions retire (soft only). Default: `soft`.
    #[serde(default)]
    pub mode: DeleteMode,
    /// The largest share of the table's rows one sync may delete; a sync that would delete
    /// more fails and changes nothing (an API that returned an empty page by mistake must not
    /// empty a table). Between 0 and 1. Default: 0.5. Example: `max_ratio: 0.2`
    #[serde(default = "default_max_ratio")]
    pub max_ratio: f64,
}

// `max_ratio` is checked to be a number between 0 and 1 (never NaN) before it is used.
impl Eq for AbsentDeletes {}

/// How `deletes:` detects a deleted record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Detect {
    /// Its key did not appear in a sync that read the whole collection.
    Absent,
}

/// What `deletes:` does to a deleted record's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// Remove the row and its child rows.
    Hard,
    /// Keep the row, with `_dango_deleted_at` set; a key that comes back is live again.
    #[default]
    Soft,
}

fn default_max_ratio() -> f64 {
    0.5
}

impl AbsentDeletes {
    /// Absence-detected deletes in `mode`, with the default ratio.
    pub fn new(mode: DeleteMode) -> Self {
        Self {
            detect: Detect::Absent,
            mode,
            max_ratio: default_max_ratio(),
        }
    }

    /// Why these deletes cannot apply to a table written by `disposition` and `strategy` with
    /// these keys: a sync that cannot tell a deleted record by its absence would delete what
    /// it did not ask for, or erase the history it keeps.
    pub fn problems(
        &self,
        disposition: WriteDisposition,
        strategy: &MergeStrategy,
        primary_key: &[String],
        merge_key: &[String],
    ) -> Vec<DeletesProblem> {
        let problem = |option, message: &str, hint: &str| DeletesProblem {
            option,
            message: message.to_string(),
            hint: hint.to_string(),
        };
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.max_ratio) {
            out.push(problem(
                "max_ratio",
                &format!(
                    "`max_ratio: {}` is not a share between 0 and 1 (0.5: at most half the table)",
                    self.max_ratio
                ),
                "e.g. `max_ratio: 0.5`",
            ));
        }
        if disposition != WriteDisposition::Merge {
            let why = match disposition {
                WriteDisposition::Replace => "already keeps only what came",
                _ => "keeps every row ever loaded",
            };
            out.push(problem(
                "",
                &format!("applies only to `merge` (`{disposition}` {why})"),
                "remove `deletes`, or load by `merge`",
            ));
            return out;
        }
        if primary_key.is_empty() {
            out.push(problem(
                "",
                match strategy {
                    MergeStrategy::Scd2(_) => {
                        "under scd2 needs a primary key to tell a deleted record from a changed \
                         one (a changed record's old version retires too)"
                    }
                    _ => "needs a primary key: absence is of a key",
                },
                "declare `primary_key`",
            ));
        }
        if let MergeStrategy::Scd2(_) = strategy {
            if self.mode == DeleteMode::Hard {
                out.push(problem(
                    "mode",
                    "`hard` would erase history that scd2 keeps: under scd2 an absent record's \
                     version retires",
                    "use `mode: soft` (the default)",
                ));
            }
            if !merge_key.is_empty() {
                out.push(problem(
                    "",
                    "contradicts `merge_key`, with which scd2 keeps absent records active",
                    "remove one of them",
                ));
            }
        }
        out
    }
}

/// Why `deletes:` cannot apply as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletesProblem {
    /// The option at fault (`mode`, `max_ratio`), or empty for `deletes` as a whole.
    pub option: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

//! Deletes detected by absence (Dango's, beyond dlt): many APIs never say a record was deleted,
//! it just stops appearing. A resource that reads its whole collection every sync can say so,
//! and the commit removes or marks the rows whose key did not come.

use serde::Deserialize;

/// Rows marked deleted by `mode: soft` carry when (the sync's start); NULL while present.
pub const DANGO_DELETED_AT: &str = "_dango_deleted_at";

/// `deletes: {detect: absent, mode: hard | soft, max_ratio: 0.5}`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detect {
    /// Its key did not appear in a sync that read the whole collection.
    Absent,
}

/// What `deletes:` does to a deleted record's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
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

    /// Why `max_ratio` cannot be used, if it cannot.
    pub fn ratio_problem(&self) -> Option<String> {
        (!(0.0..=1.0).contains(&self.max_ratio)).then(|| {
            format!(
                "`max_ratio: {}` is not a share between 0 and 1 (0.5: at most half the table)",
                self.max_ratio
            )
        })
    }
}

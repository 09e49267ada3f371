//! dlt's bookkeeping columns, as every table it writes has them.

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
/// The columns dlt fills on every row it writes (those a table has), created NOT NULL.
pub const BOOKKEEPING: [&str; 5] = [
    DLT_ID,
    DLT_LOAD_ID,
    DLT_PARENT_ID,
    DLT_LIST_IDX,
    DLT_ROOT_ID,
];
/// Start of a version's validity in `scd2` tables (dlt's default name).
pub const DLT_VALID_FROM: &str = "_dlt_valid_from";
/// End of a version's validity in `scd2` tables (dlt's default name); NULL while active.
pub const DLT_VALID_TO: &str = "_dlt_valid_to";
/// Column of list elements that are not objects (and of records that are not objects).
pub const VALUE: &str = "value";
/// Key of the row dlt puts between a list and a list inside it.
pub const LIST: &str = "list";

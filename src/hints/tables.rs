//! dlt's bookkeeping tables, as every dataset it loads has them.

/// One row per load of a dataset: `load_id`, `schema_name` (the source), `status` (0 once
/// committed), `inserted_at` and `schema_version_hash`.
pub const DLT_LOADS: &str = "_dlt_loads";

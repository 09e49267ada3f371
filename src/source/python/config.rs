//! The `dlt_native:` block of a source: which Python module and function make the dlt source,
//! with what arguments, under which interpreter.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::hints::AbsentDeletes;

/// `dlt_native:` block of a source: a user's Python dlt source, run unmodified.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DltNativeConfig {
    /// Python module, importable from the project root or from `custom_sources/`.
    /// Example: `source_module: custom_sources.my_api` (or `my_api`)
    pub source_module: String,
    /// The `@dlt.source` function in it (the tutorial's name for the field).
    /// Example: `source_name: my_api_source`
    #[serde(default)]
    pub source_name: Option<String>,
    /// The `@dlt.source` function in it (Dango's name for the field; either works). Without
    /// either, the module's only `@dlt.source` function.
    /// Example: `source_function: my_api_source`
    #[serde(default)]
    pub source_function: Option<String>,
    /// Keyword arguments for the function; values may use `${VAR}`.
    /// Example: `function_kwargs: {base_url: "https://api.example.com"}`
    #[serde(default)]
    pub function_kwargs: Map<String, Value>,
    /// The pipeline name dlt resolves secrets under (`[<pipeline_name>.sources.<module>]`).
    /// Default: the Dango source's name. Example: `pipeline_name: my_api`
    #[serde(default)]
    pub pipeline_name: Option<String>,
    /// The Python interpreter to run it with. Default: `DANGO_PYTHON`, else the project's
    /// `.venv`, else the active virtual environment, else `python3` on `PATH`.
    /// Example: `python: .venv/bin/python`
    #[serde(default)]
    pub python: Option<String>,
    /// Deletes detected by absence (Dango's, beyond dlt; see a REST resource's `deletes:`),
    /// by resource name, for `merge` resources that yield their whole collection every sync.
    /// Example: `deletes: {customers: {detect: absent, mode: soft, max_ratio: 0.2}}`
    #[serde(default)]
    pub deletes: BTreeMap<String, AbsentDeletes>,
}

impl DltNativeConfig {
    /// The source function named by `source_function` or `source_name`, if either is set.
    pub fn function(&self) -> Option<&str> {
        self.source_function
            .as_deref()
            .or(self.source_name.as_deref())
    }
}

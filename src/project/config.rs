//! The `.dango/sources.yml` model. These documented structs are the reference for the file: every
//! field says what it does and shows an example. `loader.rs` turns the YAML into these.

use std::num::NonZeroUsize;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

pub use super::warehouse::{WarehouseConfig, WarehouseKind};
use crate::normalize::naming::normalize_identifier;
pub use crate::source::python::DltNativeConfig;
use crate::source::rest::SecretOrigins;
pub use crate::source::rest::config::*;

/// The whole `.dango/sources.yml` file.
#[derive(Debug, Clone, Default)]
pub struct SourcesFile {
    /// Every source in the file, enabled or not, in file order.
    pub sources: Vec<SourceConfig>,
    /// Resources to sync at once across all sources, unless `--parallel` says otherwise.
    /// Example: `parallel: 4`
    pub parallel: Option<NonZeroUsize>,
    /// Where the sources load (see [`WarehouseConfig`]); default: `data/warehouse.duckdb`.
    pub warehouse: WarehouseConfig,
}

/// One entry of `sources:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name of the source; selects it on the command line (`dango sync my_api`).
    /// Example: `name: my_api`
    pub name: String,
    /// Kind of source. Example: `type: rest_api`
    #[serde(rename = "type")]
    pub kind: SourceKind,
    /// Disabled sources are kept in the file but never synced. Default: `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Free text shown by `dango validate`. Example: `description: "Billing API"`
    #[serde(default)]
    pub description: Option<String>,
    /// Warehouse schema the source loads into. Default: `raw_<name>`. Not one of DuckDB's own
    /// (`main`, `information_schema`, `pg_catalog`, ...). Example: `dataset_name: billing`
    #[serde(default)]
    pub dataset_name: Option<String>,
    /// Settings of a `type: rest_api` source.
    #[serde(default)]
    pub rest_api: Option<RestApiConfig>,
    /// Settings of a `type: dlt_native` source.
    #[serde(default)]
    pub dlt_native: Option<DltNativeConfig>,
    /// The source as written, before `${VAR}` substitution (see `loader::resolve_source`).
    #[serde(skip)]
    pub raw: Value,
    /// Where the source was written, so problems found later (an unset `${VAR}`) name a line.
    #[serde(skip)]
    pub origin: SourceOrigin,
    /// Where the secrets its requests send were found (set once `${VAR}`s are resolved).
    #[serde(skip)]
    pub secret_origins: SecretOrigins,
}

/// The file text a source came from and its position in `sources:`.
#[derive(Debug, Clone, Default)]
pub struct SourceOrigin {
    /// The whole sources file, as read (shared by its sources).
    pub text: Arc<str>,
    /// The source's index in `sources:`.
    pub index: usize,
}

impl SourceConfig {
    /// The warehouse schema it loads into: `dataset_name`, else `raw_<name>`, in dlt's naming.
    pub fn dataset(&self) -> String {
        match &self.dataset_name {
            Some(name) => normalize_identifier(name),
            None => normalize_identifier(&format!("raw_{}", self.name)),
        }
    }
}

fn default_true() -> bool {
    true
}

/// The kinds of source Dango knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A declarative REST API, configured entirely in YAML.
    RestApi,
    /// A Python dlt source from `custom_sources/`.
    DltNative,
}

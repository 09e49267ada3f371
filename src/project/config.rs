//! The `.dango/sources.yml` model. These documented structs are the reference for the file: every
//! field says what it does and shows an example. `loader/` turns the YAML into these.

use std::num::NonZeroUsize;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

pub use super::warehouse::WarehouseConfig;
use crate::normalize::naming::normalize_identifier;
use crate::source::config_problem::{Problem, all_under, is_blank, keys};
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

/// One entry of `sources:`, as the loader hands it on: its kind's settings in [`SourceSpec`].
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Unique name of the source; selects it on the command line (`dango sync my_api`).
    pub name: String,
    /// Disabled sources are kept in the file but never synced.
    pub enabled: bool,
    /// Free text shown by `dango validate`.
    pub description: Option<String>,
    /// Warehouse schema the source loads into, if not `raw_<name>` (see [`Self::dataset`]).
    pub dataset_name: Option<String>,
    /// What kind of source it is (its `type:`), with the settings of that kind.
    pub spec: SourceSpec,
    /// The source as written, before `${VAR}` substitution (see `loader::resolve_source`).
    pub raw: Value,
    /// Where the source was written, so problems found later (an unset `${VAR}`) name a line.
    pub origin: SourceOrigin,
    /// Where the secrets its requests send were found (set once `${VAR}`s are resolved).
    pub secret_origins: SecretOrigins,
}

/// A source's kind (`type:`) with the settings of that kind: the block named after it.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// `type: rest_api`: its `rest_api:` block, resources included (both blocks boxed: each
    /// is a few hundred bytes, which every source would otherwise carry).
    RestApi(Box<RestApiConfig>),
    /// `type: dlt_native`: its `dlt_native:` block.
    DltNative(Box<DltNativeConfig>),
}

/// One entry of `sources:` as written: `type:` and a block per kind, of which the one `type:`
/// names must be there (the loader checks, then makes a [`SourceConfig`] of it).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceEntry {
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
}

impl SourceEntry {
    /// Values that cannot work in the source's own settings (not its resources'), at paths
    /// under the source: no block of its `type:`, a REST source without resources
    /// (`resources_written` counts the entries under `resources:`, parsed or not), an empty
    /// name or dataset, and what its `rest_api:` block finds of itself. `raw` is the source as
    /// written, to point at the keys the user wrote.
    pub fn validate(&self, raw: &Value, resources_written: usize) -> Vec<Problem> {
        let mut out: Vec<Problem> = self.block_problem(resources_written).into_iter().collect();
        if is_blank(&self.name) {
            out.push(
                Problem::at(&["name"], "is empty: every source needs a name")
                    .hint("e.g. `name: my_api`; it selects the source in `dango sync my_api`"),
            );
        }
        if self.dataset_name.as_deref().is_some_and(is_blank) {
            out.push(Problem::at(&["dataset_name"], "is empty").hint(format!(
                "leave it out to load into `raw_{}`, or name a schema, e.g. `dataset_name: billing`",
                self.name
            )));
        }
        // A block is checked even when `type:` names the other kind: it is still in the file.
        if let Some(rest) = &self.rest_api {
            let problems = rest.validate(raw.get("rest_api"));
            out.extend(all_under(problems, &keys(&["rest_api"])));
        }
        out
    }

    /// The block its `type:` needs, missing; or a REST source with nothing under `resources:`.
    fn block_problem(&self, resources_written: usize) -> Option<Problem> {
        match self.kind {
            SourceKind::RestApi if self.rest_api.is_none() => Some(Problem::at(
                &["rest_api"],
                "a `type: rest_api` source needs a `rest_api:` block with `base_url` and `resources`",
            )),
            SourceKind::RestApi if resources_written == 0 => Some(
                Problem::at(
                    &["rest_api", "resources"],
                    "no resources: list at least one endpoint to load",
                )
                .hint("e.g. `resources: [users]`, or `- name: users` with `endpoint: /users`"),
            ),
            SourceKind::RestApi => None,
            SourceKind::DltNative if self.dlt_native.is_none() => Some(Problem::at(
                &["dlt_native"],
                "a `type: dlt_native` source needs `dlt_native: {source_module, source_name}`",
            )),
            SourceKind::DltNative => None,
        }
    }

    /// The source, if the block its `type:` names is there (a block of another kind is
    /// ignored, as a sync ignores it); `raw` is the source as written.
    pub fn into_config(self, raw: Value) -> Option<SourceConfig> {
        let spec = match self.kind {
            SourceKind::RestApi => SourceSpec::RestApi(Box::new(self.rest_api?)),
            SourceKind::DltNative => SourceSpec::DltNative(Box::new(self.dlt_native?)),
        };
        Some(SourceConfig {
            name: self.name,
            enabled: self.enabled,
            description: self.description,
            dataset_name: self.dataset_name,
            spec,
            raw,
            origin: SourceOrigin::default(),
            secret_origins: SecretOrigins::default(),
        })
    }
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
        dataset(&self.name, self.dataset_name.as_deref())
    }

    /// Its `rest_api:` block, if it is a REST source.
    pub fn rest_api(&self) -> Option<&RestApiConfig> {
        match &self.spec {
            SourceSpec::RestApi(api) => Some(api),
            SourceSpec::DltNative(_) => None,
        }
    }
}

/// The warehouse schema source `name` loads into: `dataset_name`, else `raw_<name>`, in dlt's
/// naming.
pub fn dataset(name: &str, dataset_name: Option<&str>) -> String {
    match dataset_name {
        Some(dataset) => normalize_identifier(dataset),
        None => normalize_identifier(&format!("raw_{name}")),
    }
}

fn default_true() -> bool {
    true
}

/// The kinds of source Dango knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A declarative REST API, configured entirely in YAML.
    RestApi,
    /// A Python dlt source from `custom_sources/`.
    DltNative,
}

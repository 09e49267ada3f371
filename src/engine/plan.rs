//! From validated config to work: which sources and resources run, with which table hints and
//! HTTP clients. Credentials are resolved here, so every `${VAR}` problem shows before any request.

use crate::hints::TableHints;
use crate::project::config::{SourceConfig, SourceKind, SourcesFile};
use crate::project::errors::did_you_mean;
use crate::project::loader::resolve_source;
use crate::project::{ConfigErrors, Credentials, ProjectLayout};
use crate::source::rest::{FetchError, RestClient, RestResource};

/// Default nesting depth of child tables (dlt's).
pub const DEFAULT_MAX_NESTING: usize = 1000;

/// One resource, ready to run.
#[derive(Debug, Clone)]
pub struct ResourcePlan {
    /// Fetches the resource's pages.
    pub fetcher: RestResource,
    /// Where and how its rows land.
    pub hints: TableHints,
    /// `false`: fetched only to feed its dependent resources, not loaded.
    pub selected: bool,
}

/// One source, ready to run.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    /// The source's name.
    pub name: String,
    /// Warehouse schema it loads into.
    pub dataset: String,
    /// Its resources, in config order.
    pub resources: Vec<ResourcePlan>,
}

/// Why planning failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Problems in `sources.yml` or its variables. Transparent, so they are printed once.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A source named on the command line does not exist.
    #[error("no source named `{name}` in {file}{hint}")]
    UnknownSource {
        /// The name given.
        name: String,
        /// The sources file.
        file: String,
        /// A did-you-mean, or the list of sources.
        hint: String,
    },
    /// A source kind this build cannot run.
    #[error(
        "source `{0}`: `type: dlt_native` sources cannot be synced by this version of Dango yet; disable it (`enabled: false`) or sync the other sources by name"
    )]
    Unsupported(String),
    /// An auth block without its secret.
    #[error(
        "source `{source_name}`: auth `{field}` is not set: write it as `{field}: \"${{MY_VAR}}\"`, \
         or add `{field} = \"...\"` under [sources.{source_name}] in .dlt/secrets.toml \
         (or set SOURCES__{upper}__{field_upper})",
        upper = source_name.to_uppercase(),
        field_upper = field.to_uppercase()
    )]
    MissingSecret {
        /// The source.
        source_name: String,
        /// The empty field.
        field: &'static str,
    },
    /// Dependent resources that depend on each other in a circle.
    #[error("source `{source_name}`: resources {resources} depend on each other in a circle")]
    Cycle {
        /// The source.
        source_name: String,
        /// The resources in the circle.
        resources: String,
    },
    /// A client or URL could not be set up.
    #[error("source `{source_name}`: {error}")]
    Fetch {
        /// The source.
        source_name: String,
        /// What went wrong.
        error: Box<FetchError>,
    },
}

/// The dataset (warehouse schema) of `source`: `dataset_name`, else `raw_<name>`, normalised.
pub fn dataset_name(source: &SourceConfig) -> String {
    source.dataset()
}

/// Plans the enabled sources named in `selected` (all enabled ones if empty).
pub fn plan(
    layout: &ProjectLayout,
    file: &SourcesFile,
    selected: &[String],
    creds: &Credentials,
) -> Result<Vec<SourcePlan>, PlanError> {
    for name in selected {
        if !file.sources.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = file.sources.iter().map(|s| s.name.as_str()).collect();
            let hint = did_you_mean(name, names.iter().copied())
                .map(|h| format!(" ({h})"))
                .unwrap_or_else(|| format!(" (sources: {})", names.join(", ")));
            return Err(PlanError::UnknownSource {
                name: name.clone(),
                file: layout.sources_file().display().to_string(),
                hint,
            });
        }
    }
    let chosen = file.sources.iter().filter(|s| {
        if selected.is_empty() {
            s.enabled
        } else {
            selected.contains(&s.name)
        }
    });
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for source in chosen {
        if source.kind == SourceKind::DltNative {
            return Err(PlanError::Unsupported(source.name.clone()));
        }
        match resolve_source(&layout.sources_file(), source, creds) {
            Ok(resolved) => plans.push(plan_source(&resolved, creds)?),
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(ConfigErrors(errors).into())
    }
}

fn plan_source(source: &SourceConfig, creds: &Credentials) -> Result<SourcePlan, PlanError> {
    let fetch_err = |error: FetchError| PlanError::Fetch {
        source_name: source.name.clone(),
        error: Box::new(error),
    };
    let Some(api) = &source.rest_api else {
        return Err(PlanError::Unsupported(source.name.clone()));
    };
    if let Some(field) = api.effective_auth().and_then(|a| a.missing_secret()) {
        return Err(PlanError::MissingSecret {
            source_name: source.name.clone(),
            field,
        });
    }
    let headers: Vec<(String, String)> = api.effective_headers().into_iter().collect();
    let client = RestClient::new(
        &headers,
        api.retry.clone(),
        creds.redactor(),
        api.effective_auth().cloned(),
        api.rate_limit,
    )
    .map_err(fetch_err)?;
    let mut resources = Vec::new();
    for res in &api.resources {
        let fetcher =
            RestResource::new(api, res, client.clone(), creds.redactor()).map_err(fetch_err)?;
        let write_disposition = res.write_disposition.unwrap_or_default();
        let (primary_key, merge_key) = res.keys();
        resources.push(ResourcePlan {
            fetcher,
            selected: res.selected,
            hints: TableHints {
                table_name: res.table(),
                write_disposition,
                primary_key,
                merge_key,
                max_table_nesting: res.max_table_nesting.unwrap_or(DEFAULT_MAX_NESTING),
            },
        });
    }
    let resources = parents_first(resources).map_err(|names| PlanError::Cycle {
        source_name: source.name.clone(),
        resources: names,
    })?;
    Ok(SourcePlan {
        name: source.name.clone(),
        dataset: dataset_name(source),
        resources,
    })
}

/// Orders resources so each parent runs before the resources that depend on it.
fn parents_first(mut pending: Vec<ResourcePlan>) -> Result<Vec<ResourcePlan>, String> {
    let mut ordered: Vec<ResourcePlan> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|r| {
            r.fetcher
                .parent()
                .is_none_or(|p| ordered.iter().any(|o| o.fetcher.name == p))
        });
        match ready {
            Some(i) => ordered.push(pending.remove(i)),
            None => {
                let names: Vec<&str> = pending.iter().map(|r| r.fetcher.name.as_str()).collect();
                return Err(names.join(", "));
            }
        }
    }
    Ok(ordered)
}

//! From validated config to [`Source`]s the engine runs: which sources, with their resources
//! built by the implementation their `type:` names. Credentials are resolved here, so every
//! `${VAR}` problem shows before any request.

use super::config::{DltNativeConfig, RestApiConfig, SourceConfig, SourceSpec, SourcesFile};
use super::errors::did_you_mean;
use super::loader::resolve_source;
use super::{ConfigErrors, Credentials, ProjectLayout};
use crate::source::python::{PlanPythonError, PythonContext, PythonError};
use crate::source::rest::FetchError;
use crate::source::{Source, SourceError};

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
    /// A Python source could not start.
    #[error("source `{source_name}` ({module}): {error}")]
    Python {
        /// The source.
        source_name: String,
        /// Its module.
        module: String,
        /// What went wrong.
        error: Box<PythonError>,
    },
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
    /// The resources cannot run as one source (a dependency circle, say).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A client or URL could not be set up.
    #[error("source `{source_name}`: {error}")]
    Fetch {
        /// The source.
        source_name: String,
        /// What went wrong.
        error: Box<FetchError>,
    },
}

/// Plans the enabled sources named in `selected` (all enabled ones if empty); Python sources
/// get `parallel` worker threads.
pub fn plan(
    layout: &ProjectLayout,
    file: &SourcesFile,
    selected: &[String],
    creds: &Credentials,
    parallel: usize,
) -> Result<Vec<Source>, PlanError> {
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
    let python = python_context(layout, creds, parallel);
    let mut resolved = Vec::new();
    for source in chosen {
        match resolve_source(&layout.sources_file(), source, creds) {
            Ok(source) => resolved.push(source),
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors).into());
    }
    for source in &resolved {
        plans.push(plan_resolved(source, creds, &python)?);
    }
    Ok(plans)
}

/// Plans each of `sources` on its own, so that one failing hides none of the others: every
/// source's name with its plan or what is wrong with it, in order. Python sources get
/// `parallel` worker threads.
pub fn plan_each<'a>(
    layout: &ProjectLayout,
    sources: impl IntoIterator<Item = &'a SourceConfig>,
    creds: &Credentials,
    parallel: usize,
) -> Vec<(String, Result<Source, PlanError>)> {
    let python = python_context(layout, creds, parallel);
    sources
        .into_iter()
        .map(|source| {
            let planned = resolve_source(&layout.sources_file(), source, creds)
                .map_err(PlanError::from)
                .and_then(|resolved| plan_resolved(&resolved, creds, &python));
            (source.name.clone(), planned)
        })
        .collect()
}

fn python_context(layout: &ProjectLayout, creds: &Credentials, parallel: usize) -> PythonContext {
    PythonContext {
        project_root: std::path::absolute(layout.root()).unwrap_or_else(|_| layout.root().into()),
        dotenv: creds.dotenv(),
        redactor: creds.redactor(),
        workers: parallel,
    }
}

/// A source whose `${VAR}`s are resolved, built by the implementation its `type:` names.
fn plan_resolved(
    source: &SourceConfig,
    creds: &Credentials,
    python: &PythonContext,
) -> Result<Source, PlanError> {
    match &source.spec {
        SourceSpec::RestApi(api) => plan_source(source, api, creds),
        SourceSpec::DltNative(config) => plan_python(source, config, python),
    }
}

fn plan_source(
    source: &SourceConfig,
    api: &RestApiConfig,
    creds: &Credentials,
) -> Result<Source, PlanError> {
    if let Some(field) = api.effective_auth().and_then(|a| a.missing_secret()) {
        return Err(PlanError::MissingSecret {
            source_name: source.name.clone(),
            field,
        });
    }
    let resources = crate::source::rest::resources(api, &creds.redactor(), &source.secret_origins)
        .map_err(|error| PlanError::Fetch {
            source_name: source.name.clone(),
            error: Box::new(error),
        })?;
    Ok(Source::new(&source.name, source.dataset(), resources)?)
}

fn plan_python(
    source: &SourceConfig,
    config: &DltNativeConfig,
    ctx: &PythonContext,
) -> Result<Source, PlanError> {
    crate::source::python::source(&source.name, &source.dataset(), config, ctx).map_err(|e| match e
    {
        PlanPythonError::Source(e) => PlanError::Source(e),
        PlanPythonError::Python(error) => PlanError::Python {
            source_name: source.name.clone(),
            module: config.source_module.clone(),
            error: Box::new(error),
        },
    })
}

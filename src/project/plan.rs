//! From validated config to [`Source`]s the engine runs: which sources, with their resources
//! built by the implementation their `type:` names. Credentials are resolved here, so every
//! `${VAR}` problem shows before any request.

use super::config::{SourceConfig, SourceKind, SourcesFile};
use super::errors::did_you_mean;
use super::loader::resolve_source;
use super::{ConfigErrors, Credentials, ProjectLayout};
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

/// Plans the enabled sources named in `selected` (all enabled ones if empty).
pub fn plan(
    layout: &ProjectLayout,
    file: &SourcesFile,
    selected: &[String],
    creds: &Credentials,
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

fn plan_source(source: &SourceConfig, creds: &Credentials) -> Result<Source, PlanError> {
    let Some(api) = &source.rest_api else {
        return Err(PlanError::Unsupported(source.name.clone()));
    };
    if let Some(field) = api.effective_auth().and_then(|a| a.missing_secret()) {
        return Err(PlanError::MissingSecret {
            source_name: source.name.clone(),
            field,
        });
    }
    let resources = crate::source::rest::resources(api, &creds.redactor()).map_err(|error| {
        PlanError::Fetch {
            source_name: source.name.clone(),
            error: Box::new(error),
        }
    })?;
    Ok(Source::new(&source.name, source.dataset(), resources)?)
}

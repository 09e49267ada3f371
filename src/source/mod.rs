//! Sources of rows. A [`Source`] is a named set of [`Resource`]s loading into one dataset; a
//! resource is an async producer of [`Page`]s plus the hints of its table. The engine runs any
//! implementation alike: the declarative REST API ([`rest`]), Python dlt sources ([`python`])
//! and sources written in Rust ([`custom`]).

pub mod custom;
pub mod json_path;
mod page;
pub mod python;
mod redact;
mod resource;
pub mod rest;
mod secret_origin;
mod window;

pub use page::{Page, PageSender, Records, RecordsError, Stopped};
pub use redact::Redactor;
pub use resource::{BoxError, Exchange, FetchInput, FetchOutcome, ParentLink, ParentRow, Resource};
pub use secret_origin::{SecretOrigin, SecretStore, describe_origins};
pub use window::{CursorKind, CursorWindow, WindowError, backfill_start};

/// A source ready to run: its resources ordered so every parent comes before its dependents.
pub struct Source {
    name: String,
    dataset: String,
    resources: Vec<Box<dyn Resource>>,
}

/// Why a set of resources cannot run as one source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Two resources have one name.
    #[error("source `{source_name}`: two resources are named `{resource}`; give each its own name")]
    DuplicateResource {
        /// The source.
        source_name: String,
        /// The name used twice.
        resource: String,
    },
    /// A dependent resource names a parent the source does not have.
    #[error(
        "source `{source_name}`: resource `{resource}` depends on `{parent}`, which is not a resource of this source"
    )]
    UnknownParent {
        /// The source.
        source_name: String,
        /// The dependent resource.
        resource: String,
        /// The parent it names.
        parent: String,
    },
    /// Dependent resources that depend on each other in a circle.
    #[error("source `{source_name}`: resources {resources} depend on each other in a circle")]
    Cycle {
        /// The source.
        source_name: String,
        /// The resources in the circle.
        resources: String,
    },
}

impl Source {
    /// `resources` as one source named `name` loading into `dataset` (a warehouse schema name,
    /// used as given).
    pub fn new(
        name: impl Into<String>,
        dataset: impl Into<String>,
        resources: Vec<Box<dyn Resource>>,
    ) -> Result<Self, SourceError> {
        let name = name.into();
        let mut seen = std::collections::HashSet::new();
        for r in &resources {
            if !seen.insert(r.name().to_string()) {
                return Err(SourceError::DuplicateResource {
                    source_name: name,
                    resource: r.name().to_string(),
                });
            }
        }
        for r in &resources {
            if let Some(parent) = r.parent()
                && !seen.contains(&parent.resource)
            {
                return Err(SourceError::UnknownParent {
                    source_name: name,
                    resource: r.name().to_string(),
                    parent: parent.resource.clone(),
                });
            }
        }
        let resources = parents_first(resources).map_err(|resources| SourceError::Cycle {
            source_name: name.clone(),
            resources,
        })?;
        Ok(Self {
            name,
            dataset: dataset.into(),
            resources,
        })
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The warehouse schema it loads into.
    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    /// Its resources, parents first.
    pub fn resources(&self) -> &[Box<dyn Resource>] {
        &self.resources
    }

    /// Its resources, parents first, to run.
    pub fn into_resources(self) -> Vec<Box<dyn Resource>> {
        self.resources
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.resources.iter().map(|r| r.name()).collect();
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("dataset", &self.dataset)
            .field("resources", &names)
            .finish()
    }
}

/// Orders resources so each parent runs before the resources that depend on it; `Err` lists
/// the resources caught in a circle.
fn parents_first(mut pending: Vec<Box<dyn Resource>>) -> Result<Vec<Box<dyn Resource>>, String> {
    let mut ordered: Vec<Box<dyn Resource>> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|r| {
            r.parent()
                .is_none_or(|p| ordered.iter().any(|o| o.name() == p.resource))
        });
        match ready {
            Some(i) => ordered.push(pending.remove(i)),
            None => {
                let names: Vec<&str> = pending.iter().map(|r| r.name()).collect();
                return Err(names.join(", "));
            }
        }
    }
    Ok(ordered)
}

//! Sources of rows. A [`Source`] is a named set of [`Resource`]s loading into one dataset; a
//! resource is an async producer of [`Page`]s plus the hints of its table. The engine runs any
//! implementation alike: the declarative REST API (`rest`), Python dlt sources (`python`)
//! and sources written in Rust ([`custom`]).

mod backfill;
pub(crate) mod config_problem;
pub(crate) mod config_schema;
pub mod custom;
pub(crate) mod json_path;
mod page;
pub(crate) mod python;
mod resource;
pub(crate) mod rest;
mod secret_origin;
mod window;

pub use backfill::{Newest, Span, WindowSplit, WindowStep};
pub(crate) use backfill::{completed as completed_backfill, plan as plan_windows};
pub use page::{Page, PageSender, Records, RecordsError, Stopped};
pub use resource::{
    BoxError, CheckpointInterval, Exchange, FetchInput, FetchOutcome, HttpCounts, ParentLink,
    ParentRow, Resource,
};
pub(crate) use secret_origin::{SecretOrigin, SecretStore, describe_origins};
pub(crate) use window::backfill_start;
pub use window::{CursorKind, CursorWindow, WindowError};

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

/// Orders resources so each parent runs before the resources that depend on it, and otherwise
/// as given (each time, the first one whose parent has its place); `Err` lists the resources
/// caught in a circle. The ready ones wait in a heap, not found by searching the list again
/// for each place: a source can have thousands of resources.
fn parents_first(pending: Vec<Box<dyn Resource>>) -> Result<Vec<Box<dyn Resource>>, String> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap};
    // Positions of the resources waiting for each parent, by the parent's name.
    let mut waiting: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut ready = BinaryHeap::new();
    for (i, r) in pending.iter().enumerate() {
        match r.parent() {
            Some(p) => waiting.entry(p.resource.as_str()).or_default().push(i),
            None => ready.push(Reverse(i)),
        }
    }
    let mut order = Vec::with_capacity(pending.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        if let Some(children) = waiting.remove(pending[i].name()) {
            ready.extend(children.into_iter().map(Reverse));
        }
    }
    let mut slots: Vec<Option<Box<dyn Resource>>> = pending.into_iter().map(Some).collect();
    let ordered: Vec<Box<dyn Resource>> = order.iter().filter_map(|&i| slots[i].take()).collect();
    if ordered.len() < slots.len() {
        let names: Vec<&str> = slots.iter().flatten().map(|r| r.name()).collect();
        return Err(names.join(", "));
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;

    use super::*;
    use crate::hints::TableHints;

    /// A resource that is only a name and, maybe, the name of its parent.
    struct Named {
        hints: TableHints,
        parent: Option<ParentLink>,
    }

    impl Resource for Named {
        fn name(&self) -> &str {
            &self.hints.table_name
        }

        fn hints(&self) -> &TableHints {
            &self.hints
        }

        fn parent(&self) -> Option<&ParentLink> {
            self.parent.as_ref()
        }

        fn fetch(
            self: Box<Self>,
            _: FetchInput,
            _: PageSender,
        ) -> BoxFuture<'static, Result<FetchOutcome, BoxError>> {
            Box::pin(async { Ok(FetchOutcome::default()) })
        }
    }

    fn named(name: &str, parent: Option<&str>) -> Box<dyn Resource> {
        Box::new(Named {
            hints: TableHints::named(name),
            parent: parent.map(|p| ParentLink {
                resource: p.to_string(),
                fields: vec!["id".into()],
            }),
        })
    }

    fn order(resources: Vec<Box<dyn Resource>>) -> Result<Vec<String>, String> {
        let ordered = parents_first(resources)?;
        Ok(ordered.iter().map(|r| r.name().to_string()).collect())
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn parents_come_first_and_the_rest_keep_their_order() {
        let resources = vec![
            named("c", Some("a")),
            named("a", None),
            named("b", Some("c")),
            named("d", None),
            named("e", Some("a")),
        ];
        assert_eq!(order(resources), Ok(names(&["a", "c", "b", "d", "e"])));
        // Written children first: 5,000 resources, each the child of the one after it.
        let count = 5_000;
        let chain = (0..count)
            .map(|i| {
                let parent = (i + 1 < count).then(|| format!("r{}", i + 1));
                named(&format!("r{i}"), parent.as_deref())
            })
            .collect();
        let expected: Vec<String> = (0..count).rev().map(|i| format!("r{i}")).collect();
        assert_eq!(order(chain), Ok(expected));
    }

    #[test]
    fn resources_in_a_circle_are_named() {
        let resources = vec![
            named("a", None),
            named("b", Some("c")),
            named("c", Some("b")),
            named("d", Some("a")),
        ];
        assert_eq!(order(resources), Err("b, c".to_string()));
    }
}

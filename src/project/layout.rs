//! Where things live in a Dango project, so no other module spells a path.

use std::path::{Path, PathBuf};

/// A project directory and the paths of its parts.
#[derive(Debug, Clone)]
pub struct ProjectLayout {
    root: PathBuf,
}

impl ProjectLayout {
    /// The project rooted at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The nearest directory at or above `start` holding `.dango/sources.yml`.
    pub fn discover(start: &Path) -> Option<Self> {
        start
            .ancestors()
            .map(Self::new)
            .find(|p| p.sources_file().is_file())
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `.dango/`, Dango's own configuration.
    pub fn dango_dir(&self) -> PathBuf {
        self.root.join(".dango")
    }

    /// `.dango/sources.yml`, the sources to sync.
    pub fn sources_file(&self) -> PathBuf {
        self.dango_dir().join("sources.yml")
    }

    /// `.dlt/`, dlt-compatible configuration and secrets.
    pub fn dlt_dir(&self) -> PathBuf {
        self.root.join(".dlt")
    }

    /// `data/`, where the warehouse lives.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `data/warehouse.duckdb`, the DuckDB warehouse.
    pub fn warehouse_file(&self) -> PathBuf {
        self.data_dir().join("warehouse.duckdb")
    }

    /// `custom_sources/`, Python dlt sources.
    pub fn custom_sources_dir(&self) -> PathBuf {
        self.root.join("custom_sources")
    }
}

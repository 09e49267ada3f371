//! The project on disk: its layout, the `sources.yml` model and its validation, credentials.

pub mod config;
pub mod credentials;
mod dependencies;
pub mod errors;
pub mod interpolate;
pub mod layout;
pub mod loader;
mod locate;
pub mod plan;
pub mod scaffold;
pub mod schema;
pub mod sources_edit;
mod tables;
mod transform_checks;

#[cfg(test)]
mod config_props_tests;
pub mod warehouse;
mod yaml_scan;

pub use config::SourceConfig;
pub use credentials::{Credentials, CredentialsError};
pub use errors::{ConfigError, ConfigErrors};
pub use layout::ProjectLayout;
pub use plan::{PlanError, plan};

//! Declarative REST API sources: HTTP client with retries, paginators, data selection.

pub mod auth;
pub mod client;
pub mod config;
pub mod dependent;
pub mod error;
pub mod incremental;
pub mod paginate;
pub mod position;
pub mod request;
pub mod resource;
pub mod resource_config;
mod resource_keys;
pub mod selector;
mod traffic;

pub use client::RestClient;
pub use error::FetchError;
pub use resource::RestResource;

use config::RestApiConfig;

use std::collections::BTreeMap;

use super::{Resource, SecretOrigin};
use crate::hints::{DEFAULT_MAX_NESTING, SchemaContract, TableHints};
use crate::redact::Redactor;

/// Where the secrets a `rest_api` block sends were found, so a rejected one can be named.
#[derive(Debug, Clone, Default)]
pub struct SecretOrigins {
    /// Sent with every request of the source (its `auth`, `headers`, `params`, and
    /// `resource_defaults`).
    pub source: Vec<SecretOrigin>,
    /// Sent by one resource only, by its position in `resources:`.
    pub resources: BTreeMap<usize, Vec<SecretOrigin>>,
}

/// The resources of a `rest_api` block whose `${VAR}`s are already substituted, sharing one
/// client (and so one rate limit); secrets they send are registered with `redactor`, and a
/// rejected one is named by the variables `origins` lists.
pub fn resources(
    api: &RestApiConfig,
    redactor: &Redactor,
    origins: &SecretOrigins,
) -> Result<Vec<Box<dyn Resource>>, FetchError> {
    let headers: Vec<(String, String)> = api.effective_headers().into_iter().collect();
    let client = RestClient::new(
        &headers,
        api.retry.clone(),
        redactor.clone(),
        api.effective_auth().cloned(),
        api.rate_limit,
    )?;
    let mut out: Vec<Box<dyn Resource>> = Vec::new();
    for (i, res) in api.resources.iter().enumerate() {
        let (primary_key, merge_key) = res.keys();
        let source_contract = api
            .schema_contract
            .map(|c| c.over(SchemaContract::default()))
            .unwrap_or_default();
        let merge = res.merge_hints();
        let mut columns = res.declared_columns();
        merge.declare_columns(&res.table(), &mut columns);
        let hints = TableHints {
            table_name: res.table(),
            write_disposition: res.disposition(),
            merge,
            primary_key,
            merge_key,
            max_table_nesting: res.max_table_nesting.unwrap_or(DEFAULT_MAX_NESTING),
            columns,
            contract: res
                .schema_contract
                .map_or(source_contract, |c| c.over(source_contract)),
            transforms: res.table_transforms(),
        };
        let mut used = origins.source.clone();
        used.extend(origins.resources.get(&i).into_iter().flatten().cloned());
        let client = client.clone().with_secret_origins(used).with_own_traffic();
        let resource = RestResource::new(api, res, hints, client, redactor.clone())?;
        out.push(Box::new(resource));
    }
    Ok(out)
}

//! `dango validate`: every config and credential problem, without a single request. Python
//! sources are imported and their source functions called (which resolves their secrets), so
//! the interpreter, dlt version and resources each will use are shown. Every source is checked
//! on its own, so one source's problems hide none of the others'.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;

use arrow::datatypes::{Field, Schema};

use super::ProjectArg;
use crate::hints::{DltType, WriteDisposition};
use crate::project::ProjectLayout;
use crate::project::config::SourceSpec;
use crate::project::loader::{PartialSourcesFile, load_sources_partial};
use crate::project::plan::plan_each;
use crate::project::{ConfigErrors, Credentials, PlanError, SourceConfig, warehouse};
use crate::source::Source;
use crate::table::transform::Transform;
use crate::warehouse::catalog::schema_columns;

/// Arguments of `dango validate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: dango validate --project ~/my-project")]
pub struct ValidateArgs {
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let PartialSourcesFile {
        file,
        errors: mut config_errors,
    } = load_sources_partial(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    // A source the file gets wrong is reported as written, not planned from what parsed of it.
    let mut failed: BTreeSet<String> = config_errors
        .iter()
        .filter_map(|e| e.source.clone())
        .collect();
    let checked = file
        .sources
        .iter()
        .filter(|s| s.enabled && !failed.contains(&s.name));
    let mut planned = Vec::new();
    let mut plan_errors = Vec::new();
    for (name, result) in plan_each(&layout, checked, &creds, 1) {
        match result {
            Ok(source) => planned.push(source),
            Err(e) => {
                failed.insert(name);
                match e {
                    PlanError::Config(e) => config_errors.extend(e.0),
                    e => plan_errors.push(e),
                }
            }
        }
    }
    // By name, not searched for each source: a file can have thousands.
    let by_name: HashMap<&str, &Source> = planned.iter().map(|p| (p.name(), p)).collect();
    for s in &file.sources {
        let source = by_name.get(s.name.as_str()).copied();
        print_source(s, source, failed.contains(&s.name));
    }
    let warehouse_written_wrong = config_errors
        .iter()
        .any(|e| e.field == "warehouse" || e.field.starts_with("warehouse."));
    let mut location = None;
    if !warehouse_written_wrong {
        match warehouse::resolve(&layout, &layout.sources_file(), &file.warehouse, &creds) {
            Ok(l) => location = Some(l),
            Err(e) => config_errors.extend(e.0),
        }
    }
    // Printed as `dango sync` prints them, so the two commands agree on a broken file.
    let sources_ok = config_errors.is_empty() && plan_errors.is_empty();
    if !config_errors.is_empty() {
        eprintln!("error: {}", ConfigErrors(config_errors));
    }
    for e in plan_errors {
        eprintln!("error: {}", super::with_causes(&anyhow::Error::from(e)));
    }
    let mut ok = sources_ok;
    if let Some(location) = location {
        // A lake is opened to check its catalog and extensions (read-only: nothing is written),
        // and its data folder is checked before a first sync records it in a new catalog.
        let opened = match &location {
            crate::warehouse::Location::Lake(lake) => Some(
                lake.check_data_path_writable()
                    .and_then(|()| location.open_read_only()),
            ),
            crate::warehouse::Location::File(_) => None,
        };
        match opened {
            Some(Err(e)) => {
                eprintln!("error: {e}");
                ok = false;
            }
            _ => outln!("  warehouse: {location}"),
        }
    }
    ok &= check_transforms(&layout, &planned)?;
    if !sources_ok {
        // As when a broken file stopped the command before it checked every source.
        return Ok(ExitCode::from(2));
    }
    if !ok {
        return Ok(ExitCode::FAILURE);
    }
    outln!("{} is valid.", layout.sources_file().display());
    Ok(ExitCode::SUCCESS)
}

/// A source's line: what it loads (`planned`: as planned, if it was), or that it has problems
/// (printed after).
fn print_source(s: &SourceConfig, planned: Option<&Source>, failed: bool) {
    let state = if s.enabled { "enabled" } else { "disabled" };
    if failed {
        outln!("  {} ({state}): not valid, see the errors", s.name);
        return;
    }
    match (&s.spec, planned) {
        (SourceSpec::DltNative(_), Some(source)) => print_python(source, state),
        (SourceSpec::DltNative(_), None) | (SourceSpec::RestApi(_), _) => {
            let resources = s.rest_api().map_or(0, |r| r.resources.len());
            outln!(
                "  {} ({state}) → {}, {resources} resource(s)",
                s.name,
                s.dataset()
            );
        }
    }
    if let Some(description) = &s.description {
        outln!("    {description}");
    }
}

/// Plans every transform against its table's columns in the warehouse (none if it has no such
/// table yet; columns it lacks are taken as NULL, since a transform's input need not be its
/// output): prints each error. Whether all plan.
fn check_transforms(layout: &ProjectLayout, planned: &[Source]) -> anyhow::Result<bool> {
    let with_transforms: Vec<&Source> = planned
        .iter()
        .filter(|s| {
            s.resources()
                .iter()
                .any(|r| !r.hints().transforms.is_empty())
        })
        .collect();
    if with_transforms.is_empty() {
        return Ok(true);
    }
    // A warehouse another process holds (a sync running) only costs the column check.
    let conn = super::warehouse(layout)
        .ok()
        .and_then(|w| w.open_read_only().ok().flatten());
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut ok = true;
    for source in with_transforms {
        let known = match &conn {
            Some(conn) => schema_columns(conn, source.dataset())?,
            None => Default::default(),
        };
        for resource in source.resources() {
            let hints = resource.hints();
            for (table, sql) in &hints.transforms {
                let keys: &[String] = match table == &hints.table_name
                    && hints.write_disposition == WriteDisposition::Merge
                {
                    true => &hints.primary_key,
                    false => &[],
                };
                let schema = arrow_schema(known.get(table).map(Vec::as_slice).unwrap_or_default());
                let transform = Transform::new(table, sql, keys);
                if let Err(e) = runtime.block_on(transform.check(&schema)) {
                    ok = false;
                    eprintln!(
                        "error: source `{}`, resource `{}`: {e}",
                        source.name(),
                        resource.name()
                    );
                }
            }
        }
    }
    Ok(ok)
}

/// The Arrow schema of a warehouse table's columns.
fn arrow_schema(columns: &[(String, DltType)]) -> Schema {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, ty)| Field::new(name, ty.arrow_type(), true))
        .collect();
    Schema::new(fields)
}

/// A Python source's line: its tables, interpreter and dlt version.
fn print_python(source: &Source, state: &str) {
    for resource in source.resources() {
        let tables: Vec<&str> = resource
            .tables()
            .iter()
            .map(|t| t.table_name.as_str())
            .collect();
        outln!(
            "  {} ({state}) → {}, dlt source `{}`: tables {}",
            source.name(),
            source.dataset(),
            resource.name(),
            tables.join(", ")
        );
        if let Some(about) = resource.describe() {
            outln!("    {about}");
        }
    }
}

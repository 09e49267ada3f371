//! `dango validate`: every config and credential problem, without a single request. Python
//! sources are imported and their source functions called (which resolves their secrets), so
//! the interpreter, dlt version and resources each will use are shown.

use std::process::ExitCode;

use arrow::datatypes::{Field, Schema};

use super::ProjectArg;
use crate::dedupe::transform::Transform;
use crate::hints::{DltType, WriteDisposition};
use crate::project::ProjectLayout;
use crate::project::config::SourceKind;
use crate::project::loader::load_sources_file;
use crate::project::{Credentials, plan, warehouse};
use crate::source::Source;
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
    let file = load_sources_file(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    let planned = plan(&layout, &file, &[], &creds, 1)?;
    for s in &file.sources {
        let state = if s.enabled { "enabled" } else { "disabled" };
        let source = planned.iter().find(|p| p.name() == s.name);
        match (s.kind, source) {
            (SourceKind::DltNative, Some(source)) => print_python(source, state),
            _ => {
                let resources = s.rest_api.as_ref().map_or(0, |r| r.resources.len());
                println!(
                    "  {} ({state}) → {}, {resources} resource(s)",
                    s.name,
                    s.dataset()
                );
            }
        }
    }
    let location = warehouse::resolve(&layout, &layout.sources_file(), &file.warehouse, &creds)?;
    // A lake is opened to check its catalog and extensions (read-only: nothing is written).
    if location.is_lake()
        && let Err(e) = location.open_read_only()
    {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    println!("  warehouse: {location}");
    if !check_transforms(&layout, &planned)? {
        return Ok(ExitCode::FAILURE);
    }
    println!("{} is valid.", layout.sources_file().display());
    Ok(ExitCode::SUCCESS)
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
        println!(
            "  {} ({state}) → {}, dlt source `{}`: tables {}",
            source.name(),
            source.dataset(),
            resource.name(),
            tables.join(", ")
        );
        if let Some(about) = resource.describe() {
            println!("    {about}");
        }
    }
}

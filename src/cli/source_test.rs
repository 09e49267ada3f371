//! `dango source test NAME [--resource R] [--pages N]` (the tutorial's "Local Test" and "Inspect
//! Raw Response"): fetches N pages of each selected resource and shows the requests and
//! responses, the selector and paginator, and the tables, columns and rows they would land as.
//! Nothing is written: the warehouse is only read (for the saved cursors and known column
//! types), and no cursor moves.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;

use super::ProjectArg;
use crate::decode::page::PageNormalizer;
use crate::hints::{LoadId, field_dlt_type};
use crate::project::loader::load_sources_file;
use crate::project::{Credentials, plan};
use crate::source::{Exchange, FetchInput, Page, PageSender, ParentRow, Resource};
use crate::table::TableStages;
use crate::warehouse::catalog::{SchemaColumns, schema_columns};
use crate::warehouse::cursors;

/// Arguments of `dango source test`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: dango source test my_api --resource orders --pages 2")]
pub struct TestArgs {
    /// The source.
    source: String,
    /// Only this resource (and the resources it depends on).
    #[arg(long)]
    resource: Option<String>,
    /// Pages to fetch per resource.
    #[arg(long, default_value_t = 1)]
    pages: usize,
    #[command(flatten)]
    project: ProjectArg,
}

/// Rows shown of each resource's root table.
const SHOWN_ROWS: usize = 3;

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let file = load_sources_file(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    let source = plan(
        &layout,
        &file,
        std::slice::from_ref(&args.source),
        &creds,
        1,
    )?
    .pop()
    .context("the source was not planned")?;
    let (saved, known) = match super::warehouse(&layout)?.open_read_only()? {
        Some(conn) => (
            cursors::load(&conn, source.dataset()).unwrap_or_default(),
            schema_columns(&conn, source.dataset()).unwrap_or_default(),
        ),
        None => Default::default(),
    };
    let wanted = wanted(source.resources(), args.resource.as_deref())?;
    let needs = needed_fields(source.resources());
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut parent_rows: HashMap<String, Vec<ParentRow>> = HashMap::new();
    let mut failed = false;
    for resource in source.into_resources() {
        if !wanted.contains(&resource.name().to_string()) {
            continue;
        }
        let name = resource.name().to_string();
        let input = FetchInput {
            parents: resource
                .parent()
                .map(|p| parent_rows.get(&p.resource).cloned().unwrap_or_default()),
            saved: saved.get(&name).cloned(),
            exchanges: None,
            window: None,
            resume: None,
        };
        let fields = needs.get(&name).cloned().unwrap_or_default();
        outln!("── resource `{name}`");
        match runtime.block_on(test_one(resource, input, args.pages, &fields, &known)) {
            Ok(captured) => {
                parent_rows.insert(name, captured);
            }
            Err(e) => {
                eprintln!("error: resource `{name}`: {}", super::with_causes(&e));
                failed = true;
                break;
            }
        }
    }
    outln!("Nothing was written: the warehouse and the cursors are unchanged.");
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The resources to test: `only` and the resources it depends on, or all.
fn wanted(resources: &[Box<dyn Resource>], only: Option<&str>) -> anyhow::Result<Vec<String>> {
    let Some(only) = only else {
        return Ok(resources.iter().map(|r| r.name().to_string()).collect());
    };
    let mut out = vec![only.to_string()];
    let mut at = resources
        .iter()
        .find(|r| r.name() == only)
        .with_context(|| {
            let names: Vec<&str> = resources.iter().map(|r| r.name()).collect();
            format!("no resource `{only}` (resources: {})", names.join(", "))
        })?;
    while let Some(parent) = at.parent() {
        out.push(parent.resource.clone());
        match resources.iter().find(|r| r.name() == parent.resource) {
            Some(p) => at = p,
            None => break,
        }
    }
    Ok(out)
}

/// Fields each resource's dependents need of its records.
fn needed_fields(resources: &[Box<dyn Resource>]) -> HashMap<String, Vec<String>> {
    let mut needs: HashMap<String, Vec<String>> = HashMap::new();
    for r in resources {
        if let Some(p) = r.parent() {
            needs
                .entry(p.resource.clone())
                .or_default()
                .extend(p.fields.iter().cloned());
        }
    }
    needs
}

/// Fetches up to `pages` pages of `resource`, prints what was asked and what came back, and
/// returns the fields its dependents need.
async fn test_one(
    resource: Box<dyn Resource>,
    mut input: FetchInput,
    pages: usize,
    fields: &[String],
    known: &SchemaColumns,
) -> anyhow::Result<Vec<ParentRow>> {
    // Each table's pages go through the stages a sync runs, so the rows shown are the rows a
    // sync would load: transformed, under the contract, one per key.
    let load_id = LoadId::new();
    let mut tables: Vec<(TableStages, PageNormalizer)> =
        TableStages::of_resource(resource.as_ref(), &load_id, known)
            .into_iter()
            .filter_map(|stages| {
                let normalizer = stages.normalizer()?;
                Some((stages, normalizer))
            })
            .collect();
    let own = resource.hints().clone();
    let (tx, mut rx) = mpsc::channel::<Page>(pages.max(1) + 1);
    let (exchanges, mut heard) = mpsc::unbounded_channel::<Exchange>();
    input.exchanges = Some(exchanges);
    let fetch = tokio::spawn(resource.fetch(input, PageSender::with_limit(tx, pages)));
    let mut got = Vec::new();
    while got.len() < pages {
        match rx.recv().await {
            Some(page) => got.push(page),
            None => break,
        }
    }
    let ended_itself = got.len() < pages;
    // Dropping the receiver stops the resource after the pages asked for.
    drop(rx);
    let outcome = fetch.await.context("the resource's task failed")?;
    while let Ok(exchange) = heard.try_recv() {
        print_exchange(&exchange);
    }
    if ended_itself {
        outcome.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut captured = Vec::new();
    let mut batches: HashMap<String, Vec<RecordBatch>> = HashMap::new();
    let mut records = 0;
    let fetched = got.len();
    for page in got {
        records += page.records.len();
        if !fields.is_empty() {
            captured.extend(page.records.capture(fields)?);
        }
        let hints = page.table.clone().unwrap_or_else(|| Arc::new(own.clone()));
        let at = match tables
            .iter()
            .position(|(t, _)| t.hints().table_name == hints.table_name)
        {
            Some(i) => i,
            None => {
                let stages = TableStages::found_while_running(hints, &load_id, known.clone())?;
                let normalizer = stages
                    .normalizer()
                    .context("the table's stages lost their decoder")?;
                tables.push((stages, normalizer));
                tables.len() - 1
            }
        };
        let (stages, normalizer) = &mut tables[at];
        let rows = normalizer.normalize(page)?;
        for (table, batch) in stages.page(rows).await? {
            batches.entry(table).or_default().push(batch);
        }
    }
    outln!("  {records} record(s) in {fetched} page(s)");
    for (stages, _) in tables {
        let root = stages.hints().table_name.clone();
        let done = stages.finish().await?;
        for table in done.commit.tables {
            // The columns of its last batch: what a transform made, in the types they land as.
            let Some(last) = batches.get(&table.name).and_then(|b| b.last()) else {
                continue;
            };
            let columns: Vec<String> = last
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    let built = table.columns.iter().find(|(c, _)| c == f.name());
                    let ty = field_dlt_type(f)
                        .or(built.map(|(_, t)| *t))
                        .map_or("?".into(), |t| t.key());
                    format!("{} {ty}", f.name())
                })
                .collect();
            outln!("  table {}: {}", table.name, columns.join(", "));
        }
        if let Some(first) = batches.get(&root).and_then(|b| b.first()) {
            let shown = first.slice(0, first.num_rows().min(SHOWN_ROWS));
            outln!("  first rows of {root}:");
            outln!("{}", arrow::util::pretty::pretty_format_batches(&[shown])?);
        }
    }
    Ok(captured)
}

/// One request and response, as the tutorial's "Inspect Raw Response" shows them.
fn print_exchange(e: &Exchange) {
    outln!(
        "  {} → {} in {} ms",
        e.request,
        e.status,
        e.elapsed.as_millis()
    );
    for (name, value) in &e.headers {
        outln!("    {name}: {value}");
    }
    outln!("  body (first 500 characters): {}", e.body_head);
    outln!("  data selector: {}", e.selector);
    outln!("  paginator: {}", e.paginator);
    match &e.next {
        Some(next) => outln!("  next request: {next}"),
        None => outln!("  next request: none (last page)"),
    }
}

//! `dango source add NAME --openapi FILE_OR_URL`: a `rest_api` source from an OpenAPI or
//! Swagger description, checked against the live API when credentials are set, appended to
//! `.dango/sources.yml` with the user's text kept as it was.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::ProjectArg;
use crate::normalize::naming::normalize_identifier;
use crate::openapi::probe::{Probe, ProbeAuth};
use crate::openapi::proposal::ParamValue;
use crate::openapi::{Api, Description, Options, Proposal, emit, propose};
use crate::project::Credentials;
use crate::project::layout::ProjectLayout;
use crate::project::loader::parse_sources;
use crate::project::sources_edit::add_source;

/// Arguments of `dango source add`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: dango source add stripe --openapi https://example.com/openapi.json --select '/v1/customers*'"
)]
pub struct AddArgs {
    /// Name of the new source (its schema is raw_<name>).
    name: String,
    #[command(flatten)]
    openapi: OpenApiArgs,
    /// Replace a source of the same name.
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    project: ProjectArg,
}

/// What `source add` and `init` read a description with.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenApiArgs {
    /// The OpenAPI 3.x or Swagger 2.0 description: a file or an http(s) URL, JSON or YAML.
    #[arg(long, value_name = "FILE_OR_URL")]
    pub openapi: Option<String>,
    /// Only endpoints whose path or name matches (`*` matches anything); repeatable.
    #[arg(long, value_name = "PATTERN", num_args = 1..)]
    pub select: Vec<String>,
    /// Check the result against the live API (default: when its credentials are set).
    #[arg(long, conflicts_with = "no_probe")]
    pub probe: bool,
    /// Write from the description alone, sending nothing.
    #[arg(long)]
    pub no_probe: bool,
    /// The API's base URL, for a description without absolute `servers`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

pub fn run(args: AddArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let Some(openapi) = args.openapi.openapi.clone() else {
        bail!(
            "`dango source add` needs --openapi FILE_OR_URL: the description to make the source from"
        );
    };
    add(&layout, &args.name, &openapi, &args.openapi, args.replace)
}

/// Adds source `name` made from the description at `openapi` to the project at `layout`.
pub fn add(
    layout: &ProjectLayout,
    name: &str,
    openapi: &str,
    args: &OpenApiArgs,
    replace: bool,
) -> anyhow::Result<ExitCode> {
    if normalize_identifier(name) != name {
        bail!(
            "`{name}` is not a source name Dango keeps as written: use `{}` (lower case, digits and _)",
            normalize_identifier(name)
        );
    }
    let started = std::time::Instant::now();
    let desc = Description::load(openapi)?;
    let api = Api::read(&desc, args.base_url.as_deref())?;
    let options = Options {
        source: name.to_string(),
        select: args.select.clone(),
    };
    let mut proposal =
        propose(&desc, &api, &options).map_err(|e| anyhow::anyhow!("{openapi}: {e}"))?;
    report_skipped(&proposal);
    if proposal.resources.is_empty() {
        bail!(
            "no endpoint of {openapi} became a resource (see the reasons above); nothing was written"
        );
    }
    let creds = Credentials::load(layout.root())?;
    probe(&mut proposal, &creds, args)?;
    let file = layout.sources_file();
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let origin = origin(openapi);
    let new = add_source(&text, name, replace, |indent| {
        emit::source_item(&proposal, &origin, indent)
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    // What is written must load: a generator bug is reported, never written.
    if let Err(e) = parse_sources(&file, &new) {
        bail!(
            "the generated source does not load, so nothing was written (a bug in Dango: please report it):\n{e}"
        );
    }
    write_atomically(&file, &new)?;
    let added = add_env_vars(layout.root(), name, &env_vars(&proposal))?;
    outln!(
        "Added source `{name}` to {} from {} ({}, {:.1} s): {} resource(s).",
        file.display(),
        api.title,
        desc.version,
        started.elapsed().as_secs_f64(),
        proposal.resources.len()
    );
    for r in &proposal.resources {
        outln!("  {:<28} {:<40} {}", r.name, r.endpoint, summary(r));
    }
    if !added.is_empty() {
        outln!("Set {} in .env (added there empty).", added.join(", "));
    }
    outln!("Next: `dango validate`, then `dango source test {name}` and `dango sync {name}`.");
    Ok(ExitCode::SUCCESS)
}

/// The paginator, key and cursor of a resource, in a few words.
fn summary(r: &crate::openapi::proposal::ResourcePlan) -> String {
    use crate::openapi::paging::Paginator;
    let paging = match &r.paging.paginator {
        Paginator::SinglePage => "one page",
        Paginator::HeaderLink => "Link header",
        Paginator::NextUrl { .. } => "next URL",
        Paginator::Cursor { .. } => "cursor",
        Paginator::Offset { .. } => "offset",
        Paginator::PageNumber { .. } => "page number",
    };
    let mut parts = vec![paging.to_string()];
    if let Some(k) = &r.key {
        parts.push(format!("key {}", k.value));
    }
    if let Some(c) = &r.cursor {
        parts.push(format!("incremental on {}", c.value.field));
    }
    if let Some((parent, _)) = &r.parent {
        parts.push(format!("per {parent}"));
    }
    parts.push(r.disposition.0.to_string());
    parts.join(", ")
}

/// Prints the endpoints that did not become resources, and why.
fn report_skipped(p: &Proposal) {
    if !p.skipped.is_empty() {
        outln!("Skipped {} GET endpoint(s):", p.skipped.len());
        for s in &p.skipped {
            outln!("  {:<48} {}", s.endpoint, s.reason);
        }
    }
    if !p.not_get.is_empty() {
        let counts: Vec<String> = p.not_get.iter().map(|(m, n)| format!("{n} {m}")).collect();
        outln!(
            "Skipped {} (not GET: they change data rather than read it).",
            counts.join(", ")
        );
    }
}

/// Runs the probe as asked: by default only when every credential is set.
fn probe(p: &mut Proposal, creds: &Credentials, args: &OpenApiArgs) -> anyhow::Result<()> {
    if args.no_probe {
        note_all(
            p,
            "not probed (--no-probe): written from the description alone",
        );
        return Ok(());
    }
    let needed = env_vars(p);
    let mut vars = BTreeMap::new();
    let mut missing = Vec::new();
    for var in &needed {
        match creds.lookup(&p.source, var).filter(|v| !v.is_empty()) {
            Some(v) => {
                vars.insert(var.clone(), v);
            }
            None => missing.push(var.clone()),
        }
    }
    let secret_missing = p
        .auth
        .as_ref()
        .is_some_and(|a| a.env.iter().any(|v| missing.contains(v)));
    if secret_missing {
        if args.probe {
            bail!(
                "--probe needs {} set (environment, .env or .dlt/secrets.toml)",
                missing.join(", ")
            );
        }
        outln!(
            "Not probed: {} not set. Written from the description alone.",
            missing.join(", ")
        );
        note_all(
            p,
            "not probed (credentials not set): written from the description alone",
        );
        return Ok(());
    }
    let auth = probe_auth(p, &vars);
    let mut probe = Probe::new(auth, vars, creds.redactor()).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Err(e) = runtime.block_on(probe.run(p)) {
        if args.probe {
            bail!("--probe: {} cannot be reached: {e}", p.base_url.0);
        }
        outln!(
            "Not probed: {} cannot be reached ({e}). Written from the description alone.",
            p.base_url.0
        );
        for r in &mut p.resources {
            r.notes.clear();
        }
        note_all(
            p,
            "not probed (the API could not be reached): written from the description alone",
        );
    }
    Ok(())
}

/// Adds `note` to every resource.
fn note_all(p: &mut Proposal, note: &str) {
    for r in &mut p.resources {
        r.notes.push(note.to_string());
    }
}

/// The credentials the probe sends, from the auth fields' `${VAR}`s.
fn probe_auth(p: &Proposal, vars: &BTreeMap<String, String>) -> ProbeAuth {
    let Some(auth) = &p.auth else {
        return ProbeAuth::None;
    };
    let field = |k: &str| -> String {
        let raw = auth
            .fields
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        match raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            Some(var) => vars.get(var).cloned().unwrap_or_default(),
            None => raw.to_string(),
        }
    };
    match field("type").as_str() {
        "bearer" => ProbeAuth::Header("Authorization".into(), format!("Bearer {}", field("token"))),
        "http_basic" => ProbeAuth::Basic(field("username"), field("password")),
        "api_key" if field("location") == "query" => {
            ProbeAuth::Query(field("name"), field("api_key"))
        }
        "api_key" => ProbeAuth::Header(field("name"), field("api_key")),
        "oauth2_client_credentials" => ProbeAuth::ClientCredentials(
            field("access_token_url"),
            field("client_id"),
            field("client_secret"),
        ),
        _ => ProbeAuth::None,
    }
}

/// The variables the source reads: its secrets, then placeholders in paths and parameters.
fn env_vars(p: &Proposal) -> Vec<String> {
    let mut vars: Vec<String> = p.auth.iter().flat_map(|a| a.env.clone()).collect();
    for r in &p.resources {
        for (_, value, _) in &r.params {
            if let ParamValue::Placeholder(var) = value {
                vars.push(var.clone());
            }
        }
        let mut rest = r.path.as_str();
        while let Some(start) = rest.find("${") {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            vars.push(rest[start + 2..start + end].to_string());
            rest = &rest[start + end..];
        }
    }
    let mut seen = Vec::new();
    vars.retain(|v| {
        let new = !seen.contains(v);
        seen.push(v.clone());
        new
    });
    vars
}

/// Appends `VAR=` for each variable `.env` does not have yet; returns those added.
fn add_env_vars(root: &Path, source: &str, vars: &[String]) -> anyhow::Result<Vec<String>> {
    let path = root.join(".env");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let has = |var: &str| {
        text.lines().any(|l| {
            let l = l.trim_start().trim_start_matches("export ").trim_start();
            l.strip_prefix(var)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    let added: Vec<String> = vars.iter().filter(|v| !has(v)).cloned().collect();
    if added.is_empty() {
        return Ok(added);
    }
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "# {source}: added by `dango source add`; fill in before syncing.\n"
    ));
    for v in &added {
        out.push_str(&format!("{v}=\n"));
    }
    write_atomically(&path, &out)?;
    Ok(added)
}

/// Writes `text` to `path` through a temporary file, so a crash leaves the old file whole.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("dango-tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// The description as named in the written comment (a URL's query may hold a key: dropped).
fn origin(openapi: &str) -> String {
    match url::Url::parse(openapi) {
        Ok(mut url) if url.scheme().starts_with("http") => {
            url.set_query(None);
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => Path::new(openapi)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| openapi.to_string()),
    }
}

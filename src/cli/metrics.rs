//! `dango sync --metrics-file PATH`: the sync's outcome in the Prometheus text format that
//! node_exporter's textfile collector reads, written atomically (a temporary file renamed over
//! the old one), so a scrape never reads half a file. A scheduled run leaves something a
//! monitoring system can alert on: which source failed, how long it took, when it last
//! succeeded, what each resource cost.

use std::fmt::Write as _;
use std::path::Path;

use crate::engine::SourceReport;
use crate::engine::resource_run::ResourceReport;

/// The metric that carries a source's last success across failed runs.
const LAST_SUCCESS: &str = "dango_sync_last_success_timestamp_seconds";

/// Its help text.
const LAST_SUCCESS_HELP: &str = "When the source last committed a sync (Unix seconds).";

/// Writes the metrics of `reports`, a run that exits with `status`, to `path`.
pub fn write(path: &Path, reports: &[SourceReport], status: u8) -> anyhow::Result<()> {
    let previous = std::fs::read_to_string(path).unwrap_or_default();
    replace(path, &render(reports, status, &previous, now()))
}

/// Writes the metrics of a run that failed before syncing any source: exit status 1, and each
/// source's last success as the file had it.
pub fn write_failed(path: &Path) -> anyhow::Result<()> {
    let previous = std::fs::read_to_string(path).unwrap_or_default();
    let mut text = render(&[], 1, "", now());
    let kept: Vec<&str> = previous
        .lines()
        .filter(|l| l.starts_with(&format!("{LAST_SUCCESS}{{")))
        .collect();
    if !kept.is_empty() {
        let _ = writeln!(
            text,
            "# HELP {LAST_SUCCESS} {LAST_SUCCESS_HELP}\n# TYPE {LAST_SUCCESS} gauge"
        );
        for line in kept {
            let _ = writeln!(text, "{line}");
        }
    }
    replace(path, &text)
}

/// Replaces `path` with `text` at once.
fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    // Beside the file, so the rename stays on one file system and replaces it at once.
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let written = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        anyhow::bail!(
            "cannot write the metrics file {}: {e}; check that its directory exists and is writable",
            path.display()
        );
    }
    Ok(())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The file's text: per source and per resource, with the last success of a source that
/// failed now read from the `previous` file.
fn render(reports: &[SourceReport], status: u8, previous: &str, now: f64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    family(
        "dango_sync_exit_status",
        "Exit status of the last `dango sync` (0: every source committed).",
        vec![(String::new(), f64::from(status))],
    );
    let source = |r: &SourceReport| labels(&[("source", &r.name), ("dataset", &r.dataset)]);
    let per_source = |value: &dyn Fn(&SourceReport) -> Option<f64>| {
        let samples = reports.iter().filter_map(|r| Some((source(r), value(r)?)));
        samples.collect::<Vec<_>>()
    };
    family(
        "dango_sync_success",
        "Whether the source's last sync committed (1) or failed or was interrupted (0).",
        per_source(&|r| Some(f64::from(u8::from(r.error.is_none())))),
    );
    family(
        "dango_sync_duration_seconds",
        "Wall time of the source's last sync.",
        per_source(&|r| Some(r.elapsed.as_secs_f64())),
    );
    family(
        LAST_SUCCESS,
        LAST_SUCCESS_HELP,
        per_source(&|r| match r.error {
            None => Some(now),
            Some(_) => last_success(previous, &source(r)),
        }),
    );
    let resources: Vec<(&SourceReport, &ResourceReport)> = reports
        .iter()
        .flat_map(|s| s.resources.iter().map(move |r| (s, r)))
        .collect();
    let per_resource = |value: &dyn Fn(&SourceReport, &ResourceReport) -> Option<f64>| {
        let samples = resources.iter().filter_map(|(s, r)| {
            let labels = labels(&[
                ("source", &s.name),
                ("resource", &r.name),
                ("table", &r.table),
            ]);
            Some((labels, value(s, r)?))
        });
        samples.collect::<Vec<_>>()
    };
    let count = |n: u64| Some(n as f64);
    family(
        "dango_resource_rows",
        "Records the resource's last sync committed (0 when its source failed).",
        per_resource(&|s, r| count(if s.error.is_none() { r.rows as u64 } else { 0 })),
    );
    family(
        "dango_resource_pages",
        "Pages (responses) the resource's last sync loaded.",
        per_resource(&|_, r| count(r.pages as u64)),
    );
    family(
        "dango_resource_requests",
        "HTTP requests the resource's last sync sent, retries included.",
        per_resource(&|_, r| count(r.http.requests)),
    );
    family(
        "dango_resource_retries",
        "Requests the resource's last sync retried.",
        per_resource(&|_, r| count(r.http.retries)),
    );
    family(
        "dango_resource_throttled",
        "Retries because the API answered 429 Too Many Requests.",
        per_resource(&|_, r| count(r.http.throttled)),
    );
    family(
        "dango_resource_response_bytes",
        "Response bytes the resource's last sync read.",
        per_resource(&|_, r| count(r.http.bytes)),
    );
    family(
        "dango_resource_duration_seconds",
        "Wall time of the resource in the last sync.",
        per_resource(&|_, r| Some(r.elapsed.as_secs_f64())),
    );
    family(
        "dango_resource_deleted",
        "Records deleted because they no longer came (resources with `deletes: {detect: absent}`).",
        per_resource(&|s, r| r.deleted.filter(|_| s.error.is_none()).and_then(count)),
    );
    out
}

/// `{a="x",b="y"}`, values escaped as the text format requires.
fn labels(pairs: &[(&str, &str)]) -> String {
    let escaped: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", escaped.join(","))
}

/// The last-success sample of the source labelled `labels` in a file this module wrote.
fn last_success(previous: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{LAST_SUCCESS}{labels} ");
    previous
        .lines()
        .find_map(|line| line.strip_prefix(&prefix)?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            labels(&[("source", "a\"b\\c\nd")]),
            r#"{source="a\"b\\c\nd"}"#
        );
    }

    #[test]
    fn a_failed_source_keeps_its_last_success_from_the_previous_file() {
        let previous =
            format!("{LAST_SUCCESS}{{source=\"shop\",dataset=\"raw_shop\"}} 1700000000\n");
        let labels = labels(&[("source", "shop"), ("dataset", "raw_shop")]);
        assert_eq!(last_success(&previous, &labels), Some(1_700_000_000.0));
        assert_eq!(last_success("", &labels), None);
    }
}

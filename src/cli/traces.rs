//! Traces of a sync over OTLP, when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: one trace per `dango sync`, a span per source
//! and per resource under it, with their rows, pages, requests and outcome as attributes. Sent
//! once the sync is over, as OTLP/HTTP with JSON encoding (every collector's HTTP receiver
//! takes it) through the HTTP client Dango already has: the OpenTelemetry SDK and its exporter
//! would add a second HTTP stack and minutes to a cold build for one request per run.
//!
//! Attributes hold names and counts only; error messages are the redacted ones the summary
//! shows; header values (`OTEL_EXPORTER_OTLP_HEADERS`, often a token) are never printed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::engine::SourceReport;
use crate::engine::resource_run::ResourceReport;

/// The collector's traces URL, its headers and the service name, from the standard variables;
/// `None` when no endpoint is set.
struct Exporter {
    url: String,
    headers: Vec<(String, String)>,
    service: String,
}

impl Exporter {
    fn from_env() -> Result<Option<Self>, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let url = match (
            var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            var("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(traces), _) => traces,
            (None, Some(base)) => format!("{}/v1/traces", base.trim_end_matches('/')),
            (None, None) => return Ok(None),
        };
        let protocol =
            var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or(var("OTEL_EXPORTER_OTLP_PROTOCOL"));
        if let Some(p) = protocol.filter(|p| p != "http/json" && p != "http/protobuf") {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL is `{p}`; Dango sends traces over OTLP/HTTP (JSON): \
                 point the endpoint at the collector's HTTP port (4318) and unset the protocol"
            ));
        }
        let headers = var("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .or(var("OTEL_EXPORTER_OTLP_HEADERS"))
            .map(|h| parse_headers(&h))
            .transpose()?
            .unwrap_or_default();
        let service = var("OTEL_SERVICE_NAME").unwrap_or_else(|| "dango".to_string());
        Ok(Some(Self {
            url,
            headers,
            service,
        }))
    }
}

/// `key=value,key2=value2`, values percent-encoded, as the OpenTelemetry spec writes them.
fn parse_headers(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                // The pair may be a bare token: name the position, not the text.
                "OTEL_EXPORTER_OTLP_HEADERS has an entry without `=`; write it as \
                 `name=value,name2=value2`"
                    .to_string()
            })?;
            // Percent-decoding only: a `+` (in a base64 token, say) stays a `+`.
            let encoded = format!("v={}", value.replace('+', "%2B"));
            let value: String = url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default();
            Ok((key.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

/// Sends the sync's trace if an OTLP endpoint is configured; a failure is reported on stderr
/// and changes nothing else (the sync's outcome stands).
pub fn export(reports: &[SourceReport], started_at: SystemTime, status: u8) {
    let exporter = match Exporter::from_env() {
        Ok(Some(e)) => e,
        Ok(None) => return,
        Err(why) => {
            eprintln!("warning: no trace sent: {why}");
            return;
        }
    };
    let body = trace(
        reports,
        started_at,
        SystemTime::now(),
        status,
        &exporter.service,
    );
    if let Err(why) = send(&exporter, &body) {
        eprintln!(
            "warning: the sync's trace could not be sent to {}: {why}",
            exporter.url
        );
    }
}

fn send(exporter: &Exporter, body: &Value) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let mut request = client
            .post(&exporter.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        for (name, value) in &exporter.headers {
            request = request.header(name, value);
        }
        // reqwest's error names the URL only; header values stay out of it.
        let response = request.send().await.map_err(|e| e.to_string())?;
        match response.status().is_success() {
            true => Ok(()),
            false => Err(format!("the collector answered {}", response.status())),
        }
    })
}

/// The OTLP/JSON body of one sync's trace.
fn trace(
    reports: &[SourceReport],
    started_at: SystemTime,
    ended_at: SystemTime,
    status: u8,
    service: &str,
) -> Value {
    let trace_id = hex_id::<16>();
    let root_id = hex_id::<8>();
    let mut spans = vec![span(
        &trace_id,
        &root_id,
        None,
        "dango sync",
        (started_at, ended_at),
        vec![
            attribute("dango.sources", (reports.len() as i64).into()),
            attribute("dango.exit_status", i64::from(status).into()),
        ],
        (status != 0).then(|| format!("exit status {status}")),
    )];
    for source in reports {
        let source_id = hex_id::<8>();
        let mut attributes = vec![
            attribute("dango.source", source.name.as_str().into()),
            attribute("dango.dataset", source.dataset.as_str().into()),
        ];
        if let Some(load) = &source.load_id {
            attributes.push(attribute("dango.load_id", load.as_str().into()));
        }
        spans.push(span(
            &trace_id,
            &source_id,
            Some(&root_id),
            &format!("sync {}", source.name),
            (source.started_at, source.started_at + source.elapsed),
            attributes,
            source.message.clone(),
        ));
        for r in &source.resources {
            spans.push(resource_span(&trace_id, &source_id, source, r));
        }
    }
    json!({
        "resourceSpans": [{
            "resource": {"attributes": [attribute("service.name", service.into())]},
            "scopeSpans": [{
                "scope": {"name": "dango", "version": env!("CARGO_PKG_VERSION")},
                "spans": spans,
            }],
        }],
    })
}

/// A resource's span: its counts; rows only if its source committed.
fn resource_span(trace_id: &str, parent: &str, source: &SourceReport, r: &ResourceReport) -> Value {
    let committed = source.error.is_none();
    let count = |n: u64| Value::from(i64::try_from(n).unwrap_or(i64::MAX));
    let mut attributes = vec![
        attribute("dango.source", source.name.as_str().into()),
        attribute("dango.resource", r.name.as_str().into()),
        attribute("dango.table", r.table.as_str().into()),
        attribute(
            "dango.rows",
            count(if committed { r.rows as u64 } else { 0 }),
        ),
        attribute("dango.pages", count(r.pages as u64)),
        attribute("http.requests", count(r.http.requests)),
        attribute("http.retries", count(r.http.retries)),
        attribute("http.throttled", count(r.http.throttled)),
        attribute("http.response_bytes", count(r.http.bytes)),
    ];
    if let Some(deleted) = r.deleted.filter(|_| committed) {
        attributes.push(attribute("dango.deleted", count(deleted)));
    }
    span(
        trace_id,
        &hex_id::<8>(),
        Some(parent),
        &format!("resource {}", r.name),
        (r.started_at, r.started_at + r.elapsed),
        attributes,
        None,
    )
}

fn span(
    trace_id: &str,
    span_id: &str,
    parent: Option<&str>,
    name: &str,
    (start, end): (SystemTime, SystemTime),
    attributes: Vec<Value>,
    error: Option<String>,
) -> Value {
    let nanos = |t: SystemTime| {
        let n = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        n.to_string()
    };
    // Status codes: 1 OK, 2 ERROR; kind 1 INTERNAL.
    let status = match error {
        None => json!({"code": 1}),
        Some(message) => json!({"code": 2, "message": message}),
    };
    let mut span = json!({
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": nanos(start),
        "endTimeUnixNano": nanos(end),
        "attributes": attributes,
        "status": status,
    });
    if let Some(parent) = parent {
        span["parentSpanId"] = Value::from(parent);
    }
    span
}

/// An OTLP attribute: text as `stringValue`, integers as `intValue` (a string, as the JSON
/// mapping of int64 requires).
fn attribute(key: &str, value: Value) -> Value {
    let value = match value {
        Value::Number(n) => json!({"intValue": n.to_string()}),
        Value::String(s) => json!({"stringValue": s}),
        other => json!({"stringValue": other.to_string()}),
    };
    json!({"key": key, "value": value})
}

/// A random id of `N` bytes in lower-case hex, as OTLP/JSON writes trace and span ids.
fn hex_id<const N: usize>() -> String {
    let bytes: [u8; N] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_as_the_spec_writes_them() {
        let parsed = parse_headers("api-key=a%20b+c, x-team=data").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("api-key".to_string(), "a b+c".to_string()),
                ("x-team".to_string(), "data".to_string())
            ]
        );
        let refused = parse_headers("justatoken").unwrap_err();
        assert!(!refused.contains("justatoken"), "{refused}");
    }

    #[test]
    fn ids_have_otlp_lengths() {
        assert_eq!(hex_id::<16>().len(), 32);
        assert_eq!(hex_id::<8>().len(), 16);
    }
}

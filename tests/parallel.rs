//! `--parallel N`: resources of all selected sources run side by side (each source still commits
//! alone, in one transaction), and `--parallel 1` runs them one after another.

mod support;

use std::time::Duration;

use dango::mock_api::{MockApi, MockApiConfig};
use support::Project;

fn two_sources(api: &MockApi) -> Project {
    let source = |name: &str| {
        format!(
            "  - name: {name}\n    type: rest_api\n    rest_api:\n      base_url: \"{}\"\n      resources:\n        \
             - name: users\n          endpoint: /users\n        - name: events\n          endpoint: /events\n",
            api.base_url()
        )
    };
    Project::new(&format!("sources:\n{}{}", source("east"), source("west")))
}

/// How many times consecutive requests switch endpoint.
fn switches(requests: &[String]) -> usize {
    let paths: Vec<&str> = requests
        .iter()
        .map(|r| r.split('?').next().unwrap_or(""))
        .collect();
    paths.windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn resources_of_all_sources_run_side_by_side() {
    let api = MockApi::start(MockApiConfig {
        latency: Duration::from_millis(15),
        ..MockApiConfig::default()
    })
    .unwrap();
    let p = two_sources(&api);
    let run = p.dango(&["sync", "--parallel", "4"]);
    run.assert_ok();
    for ds in ["raw_east", "raw_west"] {
        assert_eq!(p.count(&format!("select count(*) from {ds}.users")), 25);
        assert_eq!(p.count(&format!("select count(*) from {ds}.events")), 30);
        assert_eq!(p.count(&format!("select count(*) from {ds}._dlt_loads")), 1);
    }
    // Four resources of 3-4 pages each, fetched at once: their requests interleave.
    assert!(
        switches(&api.counters().requests()) > 6,
        "{:?}",
        api.counters().requests()
    );
    assert!(
        run.stdout().contains("2 of 2 source(s) synced"),
        "{}",
        run.stdout()
    );
}

#[test]
fn parallel_one_runs_resources_one_after_another() {
    let api = MockApi::start(MockApiConfig::default()).unwrap();
    let p = two_sources(&api);
    p.dango(&["sync", "--parallel", "1"]).assert_ok();
    // users, events, users, events: three switches, no interleaving.
    assert_eq!(
        switches(&api.counters().requests()),
        3,
        "{:?}",
        api.counters().requests()
    );
    let zero = p.dango(&["sync", "--parallel", "0"]);
    zero.assert_failed();
    assert!(zero.stderr().contains("--parallel"), "{}", zero.stderr());
}

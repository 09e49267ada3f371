//! `--parallel N`: resources of all selected sources run side by side (each source still commits
//! alone, in one transaction), and `--parallel 1` runs them one after another.

use crate::support;

use std::time::Duration;

use support::{MockApi, Project, mock_api};

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
    let api = mock_api().latency(Duration::from_millis(15)).start();
    let p = two_sources(&api);
    let run = p.dango(&["sync", "--parallel", "4"]);
    run.assert_ok();
    for ds in ["raw_east", "raw_west"] {
        assert_eq!(p.count(&format!("select count(*) from {ds}.users")), 25);
        assert_eq!(p.count(&format!("select count(*) from {ds}.events")), 30);
        assert_eq!(p.count(&format!("select count(*) from {ds}._dlt_loads")), 1);
    }
    // Four resources fetched at once: both endpoints are answering requests at the same time.
    assert_eq!(api.counters().max_paths_in_flight(), 2);
    assert!(
        run.stdout().contains("2 of 2 source(s) synced"),
        "{}",
        run.stdout()
    );
}

#[test]
fn parallel_one_runs_resources_one_after_another() {
    let api = mock_api().start();
    let p = two_sources(&api);
    p.dango(&["sync", "--parallel", "1"]).assert_ok();
    assert_eq!(api.counters().max_paths_in_flight(), 1);
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

#[test]
fn parallel_can_be_set_in_the_sources_file_and_the_flag_wins() {
    let api = mock_api().latency(Duration::from_millis(15)).start();
    let p = two_sources(&api);
    let yml = std::fs::read_to_string(p.path().join(".dango/sources.yml")).unwrap();
    p.write(".dango/sources.yml", &format!("parallel: 1\n{yml}"));
    p.dango(&["sync"]).assert_ok();
    assert_eq!(switches(&api.counters().requests()), 3);
    assert_eq!(api.counters().max_paths_in_flight(), 1);
    p.dango(&["sync", "--parallel", "4"]).assert_ok();
    assert_eq!(api.counters().max_paths_in_flight(), 2);

    p.write(".dango/sources.yml", &format!("parallel: 0\n{yml}"));
    let bad = p.dango(&["validate"]);
    bad.assert_failed();
    assert!(bad.all().contains("parallel"), "{}", bad.all());
    assert!(bad.all().contains("at least 1"), "{}", bad.all());
}

/// One `orders` resource paged by offset with a total, `concurrency` pages at a time.
fn paged_orders(api: &MockApi, concurrency: usize) -> Project {
    Project::new(&support::rest_source(
        "shop",
        &api.base_url(),
        &format!("      concurrency: {concurrency}\n"),
        "        - name: orders\n          endpoint: /orders\n          data_selector: items\n          \
         paginator: {type: offset, limit: 10, total_path: total}\n",
    ))
}

#[test]
fn pages_with_a_known_total_are_fetched_concurrently_and_loaded_in_order() {
    let orders = |concurrency| {
        let api = mock_api()
            .orders(200)
            .latency(Duration::from_millis(30))
            .start();
        let p = paged_orders(&api, concurrency);
        p.dango(&["sync"]).assert_ok();
        // Append keeps arrival order, so rowid order is the order pages were delivered in.
        let ids = p.text("select string_agg(id::varchar, ',' order by rowid) from raw_shop.orders");
        let c = api.counters();
        (ids, c.path("/orders"), c.max_in_flight())
    };
    let expected = (1..=200)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (ids, requests, in_flight) = orders(4);
    assert_eq!(ids, expected);
    // Exactly the 20 pages the total announces: none fetched twice, none beyond the end.
    assert_eq!(requests, 20);
    assert!((2..=4).contains(&in_flight), "{in_flight} requests at once");
    let (ids, requests, in_flight) = orders(1);
    assert_eq!(ids, expected);
    assert_eq!((requests, in_flight), (20, 1));
}

#[test]
fn a_failed_page_among_concurrent_ones_is_retried_without_losing_order() {
    let api = mock_api()
        .orders(300)
        .fail_every(7)
        .latency(Duration::from_millis(5))
        .start();
    let p = paged_orders(&api, 8);
    p.dango(&["sync"]).assert_ok();
    assert!(api.counters().failed() >= 4, "{}", api.counters().failed());
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders where id between 1 and 300"),
        300
    );
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 300);
    let out_of_order = p.count(
        "select count(*) from (select id, lag(id) over (order by rowid) as prev from raw_shop.orders) \
         where prev is not null and id <> prev + 1",
    );
    assert_eq!(out_of_order, 0);
}

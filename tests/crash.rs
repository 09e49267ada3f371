//! Exactly-once under SIGKILL: `dango sync` is killed at random moments of a large incremental
//! sync (fetching, loading, committing), then rerun. After every kill the warehouse must be
//! consistent (no duplicate rows, cursor equal to the newest row loaded); at the end it must hold
//! exactly the API's data.

mod support;

use std::time::Instant;

use rand::Rng;
use support::Project;
use support::{MockApi, mock_api};

const KILLS: usize = 12;

fn project(api: &MockApi) -> Project {
    support::incremental_orders(&api.base_url(), 200, "2024-01-01T00:00:00Z")
}

/// Orders in the table, distinct ids, and whether the cursor matches the newest row. Panics if
/// any line item has lost its order.
fn state(p: &Project) -> (i64, i64, bool) {
    if !p.warehouse().exists() || !p.tables("raw_shop").contains(&"orders".to_string()) {
        return (0, 0, true);
    }
    assert_eq!(orphan_line_items(p), 0, "line items without their order");
    let rows = p.count("select count(*) from raw_shop.orders");
    let distinct = p.count("select count(distinct id) from raw_shop.orders");
    // The cursor is the API's text ("2024-01-07T00:00:00Z"); DuckDB prints "2024-01-07 00:00:00+00".
    let newest = p.text("select max(updated_at)::varchar from raw_shop.orders");
    let cursor = p.text("select last_value from raw_shop._dango_cursors");
    let cursor_ok = cursor
        .trim_matches('"')
        .replace('T', " ")
        .replace('Z', "+00")
        == newest;
    (rows, distinct, cursor_ok)
}

/// Line items whose `_dlt_parent_id` names no order.
fn orphan_line_items(p: &Project) -> i64 {
    if !p
        .tables("raw_shop")
        .contains(&"orders__line_items".to_string())
    {
        return 0;
    }
    p.count(
        "select count(*) from raw_shop.orders__line_items li \
         where not exists (select 1 from raw_shop.orders o where o._dlt_id = li._dlt_parent_id)",
    )
}

both_warehouses!(sigkill_at_random_moments_never_loses_or_duplicates_a_row);
fn sigkill_at_random_moments_never_loses_or_duplicates_a_row() {
    let api = mock_api().orders(3_000).start();
    let p = project(&api);
    // How long an uninterrupted sync of this size takes here, to spread the kills over it.
    let baseline = {
        let probe = project(&api);
        let started = Instant::now();
        probe.dango(&["sync"]).assert_ok();
        started.elapsed()
    };
    let mut rng = rand::rng();
    let mut orders = 3_000;
    let mut committed_during_kills = 0;
    let mut killed_while_loading = 0;
    for i in 0..KILLS {
        // New data keeps arriving, so later kills hit syncs with work to do.
        orders += 500;
        api.set_orders(orders);
        let before = state(&p).0;
        let requests_before = api.counters().total();
        let mut child = p.spawn(&["sync"]);
        let started = Instant::now();
        if i % 4 == 0 {
            // Every fourth kill waits for pages to be flowing: it lands while rows are loaded.
            while api.counters().total() < requests_before + 2 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        } else {
            std::thread::sleep(baseline.mul_f64(rng.random_range(0.05..2.0)));
        }
        let at = started.elapsed();
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let requests = api.counters().total() - requests_before;
        let (rows, distinct, cursor_ok) = state(&p);
        assert_eq!(rows, distinct, "kill {i} at {at:?}: duplicated rows");
        assert!(
            cursor_ok,
            "kill {i} at {at:?}: cursor does not match the rows"
        );
        if rows > before {
            committed_during_kills += 1;
        } else if requests > 0 {
            // Pages had come, nothing committed: the kill hit the load, which left no trace.
            killed_while_loading += 1;
        }
        eprintln!("kill {i} after {at:?}: {rows} rows");
    }
    p.dango(&["sync"]).assert_ok();
    let (rows, distinct, cursor_ok) = state(&p);
    assert_eq!(rows, orders as i64, "every order of the API is loaded");
    assert_eq!(distinct, rows);
    assert!(cursor_ok);
    assert!(p.count("select count(*) from raw_shop.orders__line_items") > 0);
    assert_eq!(orphan_line_items(&p), 0);
    eprintln!("{committed_during_kills} of {KILLS} killed syncs had committed before the kill");
    assert!(
        killed_while_loading > 0,
        "no kill landed while rows were being loaded"
    );
}

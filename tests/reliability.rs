//! What a sync leaves and says when things go wrong: resources that share a table on purpose,
//! a load that fails after writing much, Ctrl-C, and a warehouse file DuckDB will not open. In
//! every case the warehouse is correct or unchanged, and the user is told the truth once.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dango::mock_api::{MockApi, MockApiConfig};
use support::{Project, rest_source};

/// Two resources that set the same `table_name` load into one table as one: a key that both
/// return has one row, with its own child rows only.
#[test]
fn resources_sharing_a_table_name_merge_into_one_table() {
    let api = MockApi::start(MockApiConfig::default()).unwrap();
    let resources = r#"        - name: open_orders
          endpoint: /orders
          table_name: orders
          params: {status: pending}
          pagination: {type: offset, limit: 10, total_path: total}
        - name: all_orders
          endpoint: /orders
          table_name: orders
          pagination: {type: offset, limit: 10, total_path: total}
"#;
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    for _ in 0..2 {
        p.dango(&["sync"]).assert_ok();
        assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);
        assert_eq!(
            p.count("select count(distinct id) from raw_shop.orders"),
            120
        );
        let items = p.count("select count(*) from raw_shop.orders__line_items");
        let expected = p.count(
            "select count(*) from raw_shop.orders__line_items li \
             join raw_shop.orders o on o._dlt_id = li._dlt_parent_id",
        );
        assert_eq!(items, expected, "no line item without its order");
        assert_eq!(
            p.count(
                "select count(*) from (select _dlt_parent_id, _dlt_list_idx \
                 from raw_shop.orders__line_items group by all having count(*) > 1)"
            ),
            0,
            "no line item twice"
        );
    }
}

/// A source that fails after loading rows rolls back, and the summary counts no rows for it.
#[test]
fn a_failed_source_counts_no_rows() {
    let api = MockApi::start(MockApiConfig::default()).unwrap();
    // `order_pages` runs after `orders` has loaded every row, and fails on its first request.
    let resources = r#"        - name: orders
          endpoint: /orders
          pagination: {type: offset, limit: 10, total_path: total}
        - name: order_pages
          endpoint: "/gone/{resources.orders.id}"
"#;
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.stdout().contains("0 of 1 source(s) synced, 0 rows."),
        "{}",
        run.all()
    );
    assert!(!p.tables("raw_shop").contains(&"orders".to_string()));
}

/// Ctrl-C rolls back the sources still loading, says so, and exits 130; the next sync works.
#[test]
fn ctrl_c_rolls_back_says_so_and_exits_130() {
    let api = MockApi::start(MockApiConfig {
        orders: 400,
        latency: Duration::from_millis(100),
        ..MockApiConfig::default()
    })
    .unwrap();
    let resources = r#"        - name: orders
          endpoint: /orders
          pagination: {type: offset, limit: 10, total_path: total}
"#;
    // One page at a time, 100 ms each: the sync takes seconds.
    let extra = "      concurrency: 1\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), extra, resources));
    let child = Command::new(env!("CARGO_BIN_EXE_dango"))
        .arg("sync")
        .current_dir(p.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until pages are flowing, so the interrupt lands in the middle of the load.
    let started = Instant::now();
    while api.counters().total() < 3 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: sends SIGINT to the child we spawned and still own.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{all}");
    assert!(all.contains("1 source(s) rolled back (shop)"), "{all}");
    assert!(all.contains("0 of 1 source(s) synced, 0 rows."), "{all}");
    assert!(
        !p.warehouse().exists() || !p.tables("raw_shop").contains(&"orders".to_string()),
        "nothing of the interrupted load is visible"
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 400);
}

/// A damaged warehouse file: one message, with the hint that fits (not "another process"), no
/// error-code line.
#[test]
fn a_damaged_warehouse_is_told_once_with_the_right_hint() {
    let api = MockApi::start(MockApiConfig::default()).unwrap();
    let p = Project::new(&rest_source("t", &api.base_url(), "", "        - tags\n"));
    p.dango(&["sync"]).assert_ok();
    // The storage version number sits after the 8-byte checksum and the "DUCK" magic.
    let mut bytes = std::fs::read(p.warehouse()).unwrap();
    bytes[12..20].copy_from_slice(&999u64.to_le_bytes());
    std::fs::write(p.warehouse(), bytes).unwrap();
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let err = run.stderr();
    assert!(err.contains("the file is damaged"), "{err}");
    assert!(!err.contains("another dango"), "{err}");
    assert!(!err.contains("Error code"), "{err}");
    assert_eq!(
        err.matches("Corrupt database file").count(),
        1,
        "told once: {err}"
    );
}

/// A warehouse another process holds: the hint says so, once.
#[test]
fn a_warehouse_in_use_says_who_to_wait_for() {
    let api = MockApi::start(MockApiConfig::default()).unwrap();
    let p = Project::new(&rest_source("t", &api.base_url(), "", "        - tags\n"));
    p.dango(&["sync"]).assert_ok();
    // This test process holds the file's lock while dango tries to open it.
    let held = p.db();
    let run = p.dango(&["sync"]);
    drop(held);
    run.assert_failed();
    let err = run.stderr();
    assert!(err.contains("another dango or duckdb process"), "{err}");
    assert_eq!(err.matches("Could not set lock").count(), 1, "{err}");
    assert!(!err.contains("Error code"), "{err}");
}

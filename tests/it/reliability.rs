//! What a sync leaves and says when things go wrong: resources that share a table on purpose,
//! a load that fails after writing much, Ctrl-C, and a warehouse file DuckDB will not open. In
//! every case the warehouse is correct or unchanged, and the user is told the truth once.

use crate::support;

use std::time::{Duration, Instant};

use support::{Project, mock_api, rest_source};

both_warehouses!(resources_sharing_a_table_name_merge_into_one_table);
/// Two resources that set the same `table_name` load into one table as one: a key that both
/// return has one row, with its own child rows only.
fn resources_sharing_a_table_name_merge_into_one_table() {
    let api = mock_api().start();
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

both_warehouses!(a_failed_source_counts_no_rows);
/// A source that fails after loading rows rolls back, and the summary counts no rows for it.
fn a_failed_source_counts_no_rows() {
    let api = mock_api().start();
    // `order_pages` runs after `orders` has loaded every row, and fails on its first request.
    let resources = r#"        - name: orders
          endpoint: /orders
          pagination: {type: offset, limit: 10, total_path: total}
        - name: order_pages
          endpoint: "/gone/{resources.orders.id}"
"#;
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    let before = p.dataset("raw_shop");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.stdout().contains("0 of 1 source(s) synced, 0 rows."),
        "{}",
        run.all()
    );
    assert!(!p.tables("raw_shop").contains(&"orders".to_string()));
    p.assert_as_before(&before);
}

/// An `orders` resource fetched 2,000 orders a page.
const LARGE_PAGES: &str = r#"        - name: orders
          endpoint: /orders
          pagination: {type: offset, limit: 2000, total_path: total}
"#;

/// Bytes of the warehouse file.
fn file_size(p: &Project) -> u64 {
    std::fs::metadata(p.warehouse()).map_or(0, |m| m.len())
}

/// A load that fails after writing many rows does not leave the file grown: on a full disk the
/// space it took is the space the next sync needs.
#[test]
fn a_failed_load_gives_its_file_space_back() {
    let api = mock_api().orders(60_000).start();
    let orders = LARGE_PAGES;
    // `order_pages` runs after every order is in the file, and fails on its first request.
    let failing = format!(
        "{orders}        - name: order_pages\n          endpoint: \"/gone/{{resources.orders.id}}\"\n"
    );
    let p = Project::new(&rest_source("shop", &api.base_url(), "", &failing));
    p.dango(&["sync"]).assert_failed();
    let after_failure = file_size(&p);
    // The same rows committed: what the failed load had written.
    p.write(
        ".dango/sources.yml",
        &rest_source("shop", &api.base_url(), "", orders),
    );
    p.dango(&["sync"]).assert_ok();
    let loaded = file_size(&p);
    assert!(
        loaded > 8 << 20,
        "the load is large enough to tell: {loaded} bytes"
    );
    assert!(
        after_failure < 2 << 20,
        "the failed load left {after_failure} bytes (a committed one takes {loaded})"
    );
}

/// Runs `dango sync` in `p` unable to write files larger than `limit` bytes: what a full disk
/// does to the warehouse file, without a small disk.
fn sync_with_file_limit(p: &Project, limit: u64) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut command = support::dango_command();
    command.arg("sync").current_dir(p.path());
    // SAFETY: only async-signal-safe calls between fork and exec. An ignored SIGXFSZ makes a
    // write past the limit fail with EFBIG instead of killing the process.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            match libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    command.output().unwrap()
}

/// A load that fails because the file cannot grow (a full disk) rolls back, and the next sync,
/// with no more room than before, still loads and commits.
#[test]
fn after_a_load_fills_the_disk_the_next_sync_still_fits() {
    let api = mock_api().orders(100_000).start();
    let orders = LARGE_PAGES;
    let p = Project::new(&rest_source("shop", &api.base_url(), "", orders));
    let limit = 6 << 20;
    let out = sync_with_file_limit(&p, limit);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("File too large"), "the cause is told: {all}");
    assert!(all.contains("0 of 1 source(s) synced, 0 rows."), "{all}");
    // The failed sync is in the history, with its cause.
    let history = p.dango(&["history"]);
    history.assert_ok();
    assert!(
        history.stdout().contains("failed") && history.stdout().contains("File too large"),
        "{}\n{all}",
        history.stdout()
    );
    let users = r#"        - name: users
          endpoint: /users
"#;
    p.write(
        ".dango/sources.yml",
        &rest_source("crm", &api.base_url(), "", users),
    );
    let out = sync_with_file_limit(&p, limit);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(p.count("select count(*) from raw_crm.users"), 25);
    assert!(!p.tables("raw_shop").contains(&"orders".to_string()));
}

/// A sync killed while loading leaves its rows' blocks in the file (the bundled DuckDB 1.5
/// cannot cut them after a restart); the next sync writes over them, so the file ends no
/// larger than one that was never killed.
#[test]
fn a_killed_load_leaves_space_the_next_sync_reuses() {
    let api = mock_api().orders(100_000).start();
    let orders = LARGE_PAGES;
    let yml = rest_source("shop", &api.base_url(), "", orders);
    let clean = Project::new(&yml);
    clean.dango(&["sync"]).assert_ok();
    let clean_size = file_size(&clean);

    let p = Project::new(&yml);
    let mut child = p.spawn(&["sync"]);
    let started = Instant::now();
    while file_size(&p) < 6 << 20 && started.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    assert!(
        !child.wait().unwrap().success(),
        "killed before the sync ended"
    );
    let killed_at = file_size(&p);
    assert!(
        killed_at >= 6 << 20,
        "killed after writing {killed_at} bytes"
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 100_000);
    let after = file_size(&p);
    assert!(
        after <= clean_size + (1 << 20),
        "{after} bytes after a kill at {killed_at}; a sync never killed makes {clean_size}"
    );
}

both_warehouses!(ctrl_c_rolls_back_says_so_and_exits_130);
/// Ctrl-C rolls back the sources still loading, says so, and exits 130; the next sync works.
fn ctrl_c_rolls_back_says_so_and_exits_130() {
    let api = mock_api()
        .orders(400)
        .latency(Duration::from_millis(100))
        .start();
    let resources = r#"        - name: orders
          endpoint: /orders
          pagination: {type: offset, limit: 10, total_path: total}
"#;
    // One page at a time, 100 ms each: the sync takes seconds.
    let extra = "      concurrency: 1\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), extra, resources));
    let child = p.spawn_captured(&["sync"]);
    // Wait until pages are flowing, so the interrupt lands in the middle of the load.
    let started = Instant::now();
    while api.counters().total() < 3 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: sends SIGINT to the child we spawned and still own.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let run = support::Run::of(child);
    let all = run.all();
    assert_eq!(run.output.status.code(), Some(130), "{all}");
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
    let api = mock_api().start();
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
    let api = mock_api().start();
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

both_warehouses!(two_sources_sharing_a_dataset_both_land);
/// Two sources that name one `dataset_name` load one after another into it: both land, each
/// with its own `_dlt_loads` row, and a second sync changes nothing.
fn two_sources_sharing_a_dataset_both_land() {
    let api = mock_api().start();
    let base = api.base_url();
    let yml = format!(
        r#"version: "1.0"
sources:
  - name: shop
    type: rest_api
    dataset_name: shared
    rest_api:
      base_url: "{base}"
      resources:
        - name: orders
          endpoint: /orders
          pagination: {{type: offset, limit: 50, total_path: total}}
  - name: crm
    type: rest_api
    dataset_name: shared
    rest_api:
      base_url: "{base}"
      resources:
        - name: users
          endpoint: /users
"#
    );
    let p = Project::new(&yml);
    for _ in 0..2 {
        let run = p.dango(&["sync"]);
        run.assert_ok();
        assert!(
            run.stdout().contains("2 of 2 source(s) synced"),
            "{}",
            run.all()
        );
        assert_eq!(p.count("select count(*) from shared.orders"), 120);
        assert_eq!(p.count("select count(*) from shared.users"), 25);
    }
    assert_eq!(
        p.count("select count(distinct schema_name) from shared._dlt_loads"),
        2
    );
    assert_eq!(p.count("select count(*) from shared._dlt_loads"), 4);
}

/// A history row the warehouse cannot take (here its table was changed under it; on a full
/// disk, the write fails) waits in a file beside the warehouse, the sync says so, and the next
/// sync that can records it before its own.
#[test]
fn a_history_row_the_warehouse_cannot_take_waits_for_the_next_sync() {
    let api = mock_api().orders(30).start();
    let p = Project::new(&rest_source("shop", &api.base_url(), "", LARGE_PAGES));
    p.dango(&["sync"]).assert_ok();
    p.db()
        .execute_batch("ALTER TABLE _dango.syncs ADD COLUMN blocker INTEGER DEFAULT 0")
        .unwrap();
    let kept = p.dango(&["sync"]);
    kept.assert_ok();
    let pending = p.path().join("data/warehouse.duckdb.history-pending.jsonl");
    assert!(
        kept.stderr().contains("kept in") && pending.exists(),
        "{}",
        kept.stderr()
    );
    p.db()
        .execute_batch("ALTER TABLE _dango.syncs DROP COLUMN blocker")
        .unwrap();
    p.dango(&["sync"]).assert_ok();
    assert!(!pending.exists(), "written, then removed");
    assert_eq!(
        p.count("SELECT count(*) FROM _dango.syncs WHERE status = 'ok'"),
        3
    );
}

//! Exactly-once under SIGKILL: `dango sync` is killed at random moments of a large incremental
//! sync (fetching, loading, checkpointing, committing), then rerun, resuming from its last
//! checkpoint. After every kill the warehouse must be consistent (no duplicate rows, the cursor
//! at the newest row loaded, or behind it while a checkpoint says the sync is unfinished); at the
//! end it must hold exactly the API's data.

use crate::support;

use std::time::{Duration, Instant};

use rand::Rng;
use support::Project;
use support::{MockApi, mock_api};

const KILLS: usize = 12;

/// Orders 200 to a page, a checkpoint every two pages.
fn project(api: &MockApi) -> Project {
    checkpointed_orders(api, 200, 400)
}

/// Orders in the table, distinct ids, and whether the cursor matches the newest row (is at or
/// behind it, while an unfinished sync's checkpoint stands). Panics if any line item has lost
/// its order.
fn state(p: &Project) -> (i64, i64, bool) {
    if !p.warehouse().exists() || !p.tables("raw_shop").contains(&"orders".to_string()) {
        return (0, 0, true);
    }
    assert_eq!(orphan_line_items(p), 0, "line items without their order");
    let rows = p.count("select count(*) from raw_shop.orders");
    let distinct = p.count("select count(distinct id) from raw_shop.orders");
    // The cursor is the API's text ("2024-01-07T00:00:00Z"); DuckDB prints "2024-01-07 00:00:00+00".
    let newest = p.text("select max(updated_at)::varchar from raw_shop.orders");
    let cursor = match p.tables("raw_shop").contains(&"_dango_cursors".to_string()) {
        true => p.text("select last_value from raw_shop._dango_cursors"),
        false => String::new(),
    };
    let cursor = cursor
        .trim_matches('"')
        .replace('T', " ")
        .replace('Z', "+00");
    let cursor_ok = match unfinished(p) {
        true => cursor <= newest,
        false => cursor == newest,
    };
    (rows, distinct, cursor_ok)
}

/// Whether an interrupted sync left a checkpoint to resume from.
fn unfinished(p: &Project) -> bool {
    p.tables("raw_shop")
        .contains(&"_dango_checkpoints".to_string())
        && p.count("select count(*) from raw_shop._dango_checkpoints") > 0
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
    let mut left_to_resume = 0;
    for i in 0..KILLS {
        if i % 4 == 0 && unfinished(&p) {
            // The held sync below must start afresh: a resumed one may have no page left to
            // hold (its checkpoint was taken after its last page, just before the kill).
            p.dango(&["sync"]).assert_ok();
        }
        // New data keeps arriving, so later kills hit syncs with work to do.
        orders += if i % 4 == 0 { 1_000 } else { 500 };
        api.set_orders(orders);
        let before = state(&p).0;
        let requests_before = api.counters().total();
        let started = Instant::now();
        if i % 4 == 0 {
            // Every fourth kill lands between two checkpoints, whatever the machine's speed: of
            // six pages the API answers three (a checkpoint's worth, after the first page's
            // record at the cursor is dropped) and holds the rest.
            api.hold_beyond(600);
            let mut child = p.spawn_captured(&["-v", "sync"]);
            wait_for_line(&mut child, "checkpoint committed");
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
            api.release();
        } else {
            let mut child = p.spawn(&["sync"]);
            std::thread::sleep(baseline.mul_f64(rng.random_range(0.05..2.0)));
            let _ = child.kill();
            let _ = child.wait();
        }
        let at = started.elapsed();
        let requests = api.counters().total() - requests_before;
        let (rows, distinct, cursor_ok) = state(&p);
        assert_eq!(rows, distinct, "kill {i} at {at:?}: duplicated rows");
        assert!(
            cursor_ok,
            "kill {i} at {at:?}: cursor does not match the rows"
        );
        if unfinished(&p) {
            left_to_resume += 1;
        }
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
    assert!(
        !unfinished(&p),
        "the completed sync dropped its checkpoints"
    );
    eprintln!(
        "{committed_during_kills} of {KILLS} killed syncs had committed before the kill, \
         {left_to_resume} left a checkpoint to resume from"
    );
    assert!(
        killed_while_loading + left_to_resume > 0,
        "no kill landed while rows were being loaded"
    );
    assert!(
        left_to_resume >= KILLS / 4,
        "every kill held between two checkpoints left one to resume from"
    );
}

/// Reads `child`'s stderr until a line contains `text`; panics if it ends first.
fn wait_for_line(child: &mut std::process::Child, text: &str) {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr is captured");
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.expect("read dango's stderr");
        if line.contains(text) {
            return;
        }
        seen.push(line);
    }
    panic!(
        "dango ended without printing {text:?}; it printed:\n{}",
        seen.join("\n")
    );
}

/// `shop.orders` appended from an incremental cursor, `limit` per page (offset pagination with a
/// total), committing a checkpoint every `every` records.
fn checkpointed_orders(api: &MockApi, limit: usize, every: usize) -> Project {
    let resources = format!(
        r#"        - name: orders
          endpoint: /orders
          write_disposition: append
          checkpoint: {{rows: {every}}}
          params:
            updated_after: "{{incremental.start_value}}"
          pagination: {{type: offset, limit: {limit}, total_path: total}}
          incremental:
            cursor_path: updatedAt
            initial_value: "2024-01-01T00:00:00Z"
"#
    );
    Project::new(&support::rest_source(
        "shop",
        &api.base_url(),
        "",
        &resources,
    ))
}

/// A completed sync of `orders` orders: each once, no checkpoint left.
fn assert_every_order_once(p: &Project, orders: i64) {
    assert_eq!(p.count("select count(*) from raw_shop.orders"), orders);
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders"),
        orders
    );
    assert_eq!(
        p.count("select count(*) from raw_shop._dango_checkpoints"),
        0
    );
}

/// The saved cursor is the newest `updatedAt` in the table.
fn assert_cursor_at_newest_order(p: &Project) {
    assert_eq!(
        p.text("select last_value from raw_shop._dango_cursors where resource = 'orders'"),
        format!(
            "\"{}\"",
            p.text("select strftime(max(updated_at), '%Y-%m-%dT%H:%M:%SZ') from raw_shop.orders")
        )
    );
}

/// Kills `child` once `api` has answered `requests` requests since `from`.
fn kill_after(api: &MockApi, child: &mut std::process::Child, from: u64, requests: u64) {
    let started = Instant::now();
    while api.counters().total() < from + requests && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
}

both_warehouses!(a_killed_sync_resumes_at_its_last_checkpoint_and_fetches_nothing_twice);
fn a_killed_sync_resumes_at_its_last_checkpoint_and_fetches_nothing_twice() {
    // 60 pages of 100; a checkpoint every 10 pages.
    let api = mock_api()
        .orders(6_000)
        .latency(Duration::from_millis(10))
        .start();
    let p = checkpointed_orders(&api, 100, 1_000);
    let mut child = p.spawn(&["sync"]);
    kill_after(&api, &mut child, 0, 45);
    let committed = p.count("select count(*) from raw_shop.orders");
    assert!(committed >= 1_000, "no checkpoint before the kill");
    assert_eq!(committed % 1_000, 0, "a checkpoint holds whole intervals");
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders"),
        committed
    );
    let pages = p.count("select pages from raw_shop._dango_checkpoints where resource = 'orders'");
    assert_eq!(
        p.count("select rows from raw_shop._dango_checkpoints where resource = 'orders'"),
        committed
    );
    assert_eq!(pages * 100, committed);
    // One load per checkpoint, each holding its own rows.
    assert_eq!(
        p.count("select count(*) from raw_shop._dlt_loads"),
        committed / 1_000
    );
    assert_eq!(
        p.count("select count(distinct _dlt_load_id) from raw_shop.orders"),
        committed / 1_000
    );
    // The cursor moves only when the resource completes.
    assert!(!p.tables("raw_shop").contains(&"_dango_cursors".to_string()));

    let before = api.counters().total();
    let resumed = p.dango(&["sync"]);
    resumed.assert_ok();
    assert!(
        resumed
            .stderr()
            .contains(&format!("resuming after page {pages}")),
        "{}",
        resumed.all()
    );
    assert!(
        resumed.stdout().contains(&format!(
            "resumed from the interrupted sync's checkpoint: {committed} rows in {pages} pages"
        )),
        "{}",
        resumed.all()
    );
    // Only the pages the checkpoint did not hold were asked for.
    assert_eq!(api.counters().total() - before, 60 - pages as u64);
    assert_every_order_once(&p, 6_000);
    assert_cursor_at_newest_order(&p);
    // Every row belongs to a load that is recorded (the last may hold no rows: a checkpoint
    // can take the last page).
    assert_eq!(
        p.count(
            "select count(*) from raw_shop.orders where _dlt_load_id not in \
             (select load_id from raw_shop._dlt_loads)"
        ),
        0
    );
    // The next sync goes on from the cursor: nothing new, nothing loaded twice.
    api.set_orders(6_050);
    p.dango(&["sync"]).assert_ok();
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders"),
        p.count("select count(*) from raw_shop.orders")
    );
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 6_050);
}

both_warehouses!(a_checkpoint_that_cannot_be_replayed_starts_over_and_loads_each_row_once);
/// The API expires its cursor tokens while the sync is down: the resumed request gets a 400.
/// The resource says so and starts over; what the interrupted sync appended is replaced, not
/// doubled.
fn a_checkpoint_that_cannot_be_replayed_starts_over_and_loads_each_row_once() {
    let api = mock_api()
        .events(3_000)
        .page_size(100)
        .latency(Duration::from_millis(10))
        .start();
    let resources = r#"        - name: events
          endpoint: /events
          write_disposition: append
          checkpoint: {rows: 500}
          data_selector: events
          paginator: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
"#;
    let p = Project::new(&support::rest_source(
        "feed",
        &api.base_url(),
        "",
        resources,
    ));
    let mut child = p.spawn(&["sync"]);
    kill_after(&api, &mut child, 0, 20);
    let committed = p.count("select count(*) from raw_feed.events");
    assert!(committed >= 500, "no checkpoint before the kill");
    api.expire_cursors();
    let before = api.counters().total();
    let resumed = p.dango(&["sync"]);
    resumed.assert_ok();
    assert!(
        resumed.all().contains("its checkpoint cannot be replayed")
            && resumed.all().contains("HTTP 400"),
        "{}",
        resumed.all()
    );
    // The refused request, then every page from the start.
    assert_eq!(api.counters().total() - before, 1 + 30);
    assert_eq!(p.count("select count(*) from raw_feed.events"), 3_000);
    assert_eq!(
        p.count("select count(distinct id) from raw_feed.events"),
        3_000
    );
    assert_eq!(
        p.count("select count(*) from raw_feed._dango_checkpoints"),
        0
    );
}

both_warehouses!(a_killed_backfill_resumes_each_window_where_it_was);
/// A backfill of 6,000 orders (hourly from 2024-01-02) in 30-day windows, two at once, killed
/// once checkpoints have committed part of it: the rerun of the same command asks only for the
/// pages no checkpoint holds, and the table ends with every order once.
fn a_killed_backfill_resumes_each_window_where_it_was() {
    let api = mock_api()
        .orders(6_000)
        .latency(Duration::from_millis(10))
        .start();
    let windowed = |api: &MockApi| {
        let resources = r#"        - name: orders
          endpoint: /orders
          write_disposition: append
          checkpoint: {rows: 500}
          pagination: {type: offset, limit: 100, total_path: total}
          incremental:
            cursor_path: updatedAt
            initial_value: "2024-01-01T00:00:00Z"
            start_param: updated_after
            end_param: updated_before
"#;
        Project::new(&support::rest_source(
            "shop",
            &api.base_url(),
            "",
            resources,
        ))
    };
    let backfill = [
        "sync",
        "--since",
        "2024-01-01T00:00:00Z",
        "--until",
        "2024-10-01T00:00:00Z",
        "--window",
        "30d",
        "--parallel",
        "2",
    ];
    // What the whole backfill asks for, uninterrupted.
    let reference = windowed(&api);
    let before = api.counters().total();
    reference.dango(&backfill).assert_ok();
    let whole = api.counters().total() - before;
    assert_eq!(
        reference.count("select count(*) from raw_shop.orders"),
        6_000
    );

    let p = windowed(&api);
    let mut child = p.spawn(&backfill);
    kill_after(&api, &mut child, api.counters().total(), 40);
    let committed = p.count("select count(*) from raw_shop.orders");
    assert!(committed >= 500, "no checkpoint before the kill");
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders"),
        committed
    );
    let pages = p.count("select pages from raw_shop._dango_checkpoints where resource = 'orders'");

    let before = api.counters().total();
    let resumed = p.dango(&backfill);
    resumed.assert_ok();
    assert!(
        resumed
            .stdout()
            .contains("resumed from the interrupted sync's checkpoint"),
        "{}",
        resumed.all()
    );
    assert_eq!(
        api.counters().total() - before,
        whole - pages as u64,
        "only the pages no checkpoint held"
    );
    assert_every_order_once(&p, 6_000);
    // The range held the initial value: the cursor is at the newest order loaded.
    assert_cursor_at_newest_order(&p);
}

both_warehouses!(a_killed_dependent_resource_resumes_at_its_parent_record);
/// 300 posts and a request for each post's comments, killed part way through the comments: the
/// rerun fetches no post again (their fields come from the posts' checkpoint) and asks only for
/// the comments of posts no checkpoint holds.
fn a_killed_dependent_resource_resumes_at_its_parent_record() {
    let api = mock_api()
        .events(300)
        .latency(Duration::from_millis(10))
        .start();
    let resources = r#"        - name: posts
          endpoint: /posts
          data_selector: results
          primary_key: id
          pagination: {type: json_link, next_url_path: next_page_url}
        - name: comments
          endpoint:
            path: "posts/{resources.posts.id}/comments"
          include_from_parent: [title]
          write_disposition: append
          checkpoint: {rows: 60}
"#;
    let p = Project::new(&support::rest_source(
        "blog",
        &api.base_url(),
        "",
        resources,
    ));
    let mut child = p.spawn(&["sync"]);
    // 30 pages of posts, then comments: killed after the comments of about 120 posts.
    kill_after(&api, &mut child, 0, 150);
    let committed = p.count("select count(*) from raw_blog.comments");
    assert!(
        committed >= 60,
        "no checkpoint of the comments before the kill"
    );
    assert_eq!(p.count("select count(*) from raw_blog.posts"), 300);
    let pages =
        p.count("select pages from raw_blog._dango_checkpoints where resource = 'comments'");
    assert_eq!(pages * 3, committed, "three comments a post");

    let before = api.counters().total();
    let resumed = p.dango(&["sync"]);
    resumed.assert_ok();
    let requests: Vec<String> = api.counters().requests()[before as usize..].to_vec();
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("/posts?") || r == "/posts"),
        "the posts were not fetched again: {requests:?}"
    );
    assert_eq!(requests.len() as i64, 300 - pages, "{requests:?}");
    assert_eq!(p.count("select count(*) from raw_blog.comments"), 900);
    assert_eq!(
        p.count("select count(distinct id) from raw_blog.comments"),
        900
    );
    assert_eq!(
        p.count("select count(*) from raw_blog.comments where _posts_title is null"),
        0,
        "the parent's field reached the resumed comments too"
    );
    assert_eq!(p.count("select count(*) from raw_blog.posts"), 300);
    assert_eq!(
        p.count("select count(*) from raw_blog._dango_checkpoints"),
        0
    );
}

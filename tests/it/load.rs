//! Load semantics through the real binary: incremental cursors, full refresh, schema evolution
//! across syncs, empty-replace protection, and failed syncs that leave everything as it was.

use crate::support;

use support::{MockApi, Project, mock_api, rest_source};

/// Orders loaded with `append`, so any duplicate would show.
fn incremental_project(api: &MockApi) -> Project {
    support::incremental_orders(&api.base_url(), 25, "2024-01-03T00:00:00Z")
}

both_warehouses!(incremental_asks_for_newer_rows_and_never_duplicates_the_boundary);
fn incremental_asks_for_newer_rows_and_never_duplicates_the_boundary() {
    let api = mock_api().page_size(25).start();
    let p = incremental_project(&api);
    p.dango(&["sync"]).assert_ok();
    // updatedAt = 2024-01-01 + (id + 24) h, so ids 24..=120 are at or after the initial value.
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 97);
    assert_eq!(
        p.text("select last_value from raw_shop._dango_cursors where resource = 'orders'"),
        "\"2024-01-07T00:00:00Z\""
    );
    let first = api.counters().requests();
    assert!(
        first[0].contains("updated_after=2024-01-03T00%3A00%3A00Z"),
        "{first:?}"
    );

    api.set_orders(150);
    p.dango(&["sync"]).assert_ok();
    let second = api.counters().requests()[first.len()..].to_vec();
    assert!(
        second[0].contains("updated_after=2024-01-07T00%3A00%3A00Z"),
        "{second:?}"
    );
    // The API re-sends order 120 (at the boundary): it is not loaded twice.
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 127);
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders"),
        127
    );
    assert_eq!(
        p.text("select last_value from raw_shop._dango_cursors"),
        "\"2024-01-08T06:00:00Z\""
    );

    // Nothing new: nothing loaded, cursor unchanged.
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 127);

    // --full-refresh drops tables and cursors and loads from the initial value again.
    p.dango(&["sync", "--full-refresh"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 127);
    assert_eq!(
        p.count("select count(distinct _dlt_load_id) from raw_shop.orders"),
        1
    );
    assert_eq!(p.count("select count(*) from raw_shop._dlt_loads"), 1);
}

both_warehouses!(a_failed_sync_leaves_tables_and_cursors_exactly_as_before);
/// A resource that fails after another has loaded its rows fails its whole source: on the first
/// sync nothing is committed (no table, no cursor), on a later one every table, cursor and load
/// record is as the last good sync left it.
fn a_failed_sync_leaves_tables_and_cursors_exactly_as_before() {
    let api = mock_api().page_size(25).start();
    let p = incremental_project(&api);
    let good = std::fs::read_to_string(p.path().join(".dango/sources.yml")).unwrap();
    // Same source, plus a resource that fails after orders has appended its new rows.
    let broken = good.clone() + "        - name: broken\n          endpoint: /html\n";

    p.write(".dango/sources.yml", &broken);
    let before = p.dataset("raw_shop");
    p.dango(&["sync"]).assert_failed();
    p.assert_as_before(&before);
    assert!(
        p.tables("raw_shop").is_empty(),
        "orders must not be committed alone"
    );

    p.write(".dango/sources.yml", &good);
    p.dango(&["sync"]).assert_ok();
    let cursor = p.text("select last_value from raw_shop._dango_cursors");
    let before = p.dataset("raw_shop");

    api.set_orders(150);
    p.write(".dango/sources.yml", &broken);
    p.dango(&["sync"]).assert_failed();
    p.assert_as_before(&before);
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 97);
    assert_eq!(
        p.text("select last_value from raw_shop._dango_cursors"),
        cursor
    );
    assert_eq!(p.count("select count(*) from raw_shop._dlt_loads"), 1);
}

both_warehouses!(new_fields_on_a_later_sync_become_new_columns);
fn new_fields_on_a_later_sync_become_new_columns() {
    let api = mock_api().page_size(25).start();
    let resources = "        - name: orders\n          endpoint: /orders\n          write_disposition: append\n          \
                     pagination: {type: offset, limit: 25}\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert!(
        !p.columns("raw_shop", "orders")
            .iter()
            .any(|(c, _)| c == "discount_code")
    );
    api.add_discount_codes();
    p.dango(&["sync"]).assert_ok();
    let columns = p.columns("raw_shop", "orders");
    assert_eq!(
        columns.last().unwrap(),
        &("discount_code".to_string(), "VARCHAR".to_string())
    );
    assert_eq!(
        p.count("select count(*) from raw_shop.orders where discount_code is null"),
        120
    );
    assert_eq!(
        p.count("select count(*) from raw_shop.orders where discount_code = 'SAVE7'"),
        1
    );
}

both_warehouses!(replace_refuses_to_empty_a_table_unless_allowed);
fn replace_refuses_to_empty_a_table_unless_allowed() {
    let api = mock_api().page_size(25).start();
    let resources = "        - name: orders\n          endpoint: /orders\n          write_disposition: replace\n          \
                     pagination: {type: offset, limit: 25}\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert!(p.count("select count(*) from raw_shop.orders__line_items") > 0);
    api.set_orders(0);
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(run.all().contains("--allow-empty-replace"), "{}", run.all());
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);
    p.dango(&["sync", "--allow-empty-replace"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 0);
    assert_eq!(
        p.count("select count(*) from raw_shop.orders__line_items"),
        0,
        "child tables are replaced too"
    );
}

/// The mock API's 120 orders are in `raw_shop`, each once, with exactly its line items.
fn assert_all_120_orders_with_their_line_items(p: &Project) {
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);
    let items: i64 = (1..=120).map(|id| 1 + (id % 4) as i64).sum();
    assert_eq!(
        p.count("select count(*) from raw_shop.orders__line_items"),
        items
    );
    assert_eq!(
        p.count("select count(*) from raw_shop.orders__line_items li left join raw_shop.orders o on li._dlt_root_id = o._dlt_id where o.id is null"),
        0,
        "no orphaned children"
    );
}

both_warehouses!(merge_keeps_the_latest_record_per_key_and_replaces_its_children);
fn merge_keeps_the_latest_record_per_key_and_replaces_its_children() {
    let api = mock_api().page_size(25).start();
    // A compound key; the re-sync replaces every order and its children, leaving no orphans.
    let resources = "        - name: orders\n          endpoint: /orders\n          primary_key: [id, status]\n          \
                     pagination: {type: offset, limit: 25}\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    p.dango(&["sync"]).assert_ok();
    assert_all_120_orders_with_their_line_items(&p);
}

both_warehouses!(merge_key_replaces_every_old_row_sharing_a_key);
fn merge_key_replaces_every_old_row_sharing_a_key() {
    let api = mock_api().page_size(25).start();
    let resources = "        - name: orders\n          endpoint: /orders\n          merge_key: status\n          \
                     pagination: {type: offset, limit: 25}\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);
    api.set_orders(60);
    p.dango(&["sync"]).assert_ok();
    // Every status came back, so every old row was replaced by this sync's 60.
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 60);
    assert_eq!(
        p.count("select count(distinct _dlt_load_id) from raw_shop.orders"),
        1
    );
}

both_warehouses!(data_beyond_the_nesting_limit_is_stored_as_json);
fn data_beyond_the_nesting_limit_is_stored_as_json() {
    let api = mock_api().page_size(25).start();
    let resources = "        - name: orders\n          endpoint: /orders\n          max_table_nesting: 0\n          \
                     pagination: {type: offset, limit: 25}\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    let columns = p.columns("raw_shop", "orders");
    let ty = |name: &str| {
        columns
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, t)| t.clone())
    };
    assert_eq!(ty("customer").as_deref(), Some("JSON"));
    assert_eq!(ty("line_items").as_deref(), Some("JSON"));
    assert_eq!(p.tables("raw_shop"), ["_dlt_loads", "orders"]);
    assert_eq!(
        p.text("select customer::varchar from raw_shop.orders where id = 3"),
        r#"{"id":3,"name":"Customer 3","address":{"city":"Nairobi","zip":"00003"}}"#
    );
}

/// Runs `dango sync` in `p` with `DANGO_MEMORY_LIMIT` set to `limit`.
fn sync_with_memory_limit(p: &Project, limit: &str) -> support::Run {
    p.dango_env(&["sync"], &[("DANGO_MEMORY_LIMIT", limit)])
}

#[test]
fn a_load_beyond_the_memory_limit_spills_and_a_bad_limit_is_named() {
    let api = mock_api().orders(20_000).page_size(1000).start();
    let resources = "        - name: orders\n          endpoint: /orders\n          primary_key: id\n          \
                     pagination: {type: offset, limit: 1000, total_path: total}\n";
    let p = Project::new(&rest_source("big", &api.base_url(), "", resources));

    let bad = sync_with_memory_limit(&p, "lots");
    bad.assert_failed();
    let stderr = bad.stderr();
    assert!(stderr.contains("DANGO_MEMORY_LIMIT=\"lots\""), "{stderr}");
    assert_eq!(
        api.counters().total(),
        0,
        "no request before the warehouse opens"
    );

    // A budget too small for the load fails it whole, saying which setting to raise. It fails
    // while pages are still coming (this once left the fetcher waiting forever for room).
    let tight = sync_with_memory_limit(&p, "4MB");
    tight.assert_failed();
    let out = tight.stdout();
    assert!(out.contains("DANGO_MEMORY_LIMIT higher"), "{out}");
    assert!(p.tables("raw_big").is_empty(), "{:?}", p.tables("raw_big"));

    // A small DuckDB budget (set as users set it) still loads every row.

    let ok = sync_with_memory_limit(&p, "64MB");
    ok.assert_ok();
    assert_eq!(
        p.count("select count(distinct id) from raw_big.orders"),
        20_000
    );
    assert_eq!(
        p.count("select count(*) from raw_big.orders__line_items"),
        50_000
    );
}

both_warehouses!(a_record_on_several_pages_of_one_sync_is_loaded_once_with_its_children);
fn a_record_on_several_pages_of_one_sync_is_loaded_once_with_its_children() {
    let api = mock_api().page_size(25).start();
    // Offsets step by 5 while the API answers 25 records a page: every order comes back on up
    // to five pages of the same sync. The last copy wins; the others leave no row or child.
    let resources = "        - name: orders\n          endpoint: /orders\n          primary_key: id\n          \
                     pagination: {type: offset, limit: 5, limit_param: size, total_path: total}\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert_all_120_orders_with_their_line_items(&p);
    assert!(api.counters().path("/orders") >= 24);
}

both_warehouses!(a_failed_source_rolls_back_its_replace_while_another_source_commits);
fn a_failed_source_rolls_back_its_replace_while_another_source_commits() {
    let api = mock_api().start();
    let source = |name: &str, extra: &str| {
        format!(
            "  - name: {name}\n    type: rest_api\n    rest_api:\n      base_url: \"{}\"\n      resources:\n        \
             - name: products\n          endpoint: /products\n          write_disposition: replace\n{extra}",
            api.base_url()
        )
    };
    let p = Project::new(&format!(
        "sources:\n{}{}",
        source("good", ""),
        source("bad", "")
    ));
    p.dango(&["sync"]).assert_ok();
    let products = p.count("select count(*) from raw_bad.products");
    assert!(products > 0);
    let before = p.dataset("raw_bad");

    // Both sources load at once, each in its own transaction. `bad` empties `products` for its
    // replace, then fails on its second resource: the old rows must come back untouched.
    let broken = "        - name: broken\n          endpoint: /html\n";
    p.write(
        ".dango/sources.yml",
        &format!("sources:\n{}{}", source("good", ""), source("bad", broken)),
    );
    let run = p.dango(&["sync", "--parallel", "4"]);
    run.assert_failed();
    assert!(
        run.stdout().contains("1 of 2 source(s) synced"),
        "{}",
        run.all()
    );
    assert_eq!(p.count("select count(*) from raw_bad._dlt_loads"), 1);
    p.assert_as_before(&before);
    // `good` replaced its rows: same count, new load.
    assert_eq!(p.count("select count(*) from raw_good.products"), products);
    assert_eq!(p.count("select count(*) from raw_good._dlt_loads"), 2);
    assert_eq!(
        p.count(
            "select count(*) from raw_good.products \
             where _dlt_load_id = (select max(load_id) from raw_good._dlt_loads)"
        ),
        products
    );
}

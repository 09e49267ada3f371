//! The REST API source against the mock API: dlt's config vocabulary, auth types, dependent
//! resources, POST bodies, response actions, rate limits and actionable errors.

use crate::support;

use std::time::{Duration, Instant};

use support::{MockApi, MockAuth, Project, mock_api, rest_source};

/// A source in dlt's own `rest_api` vocabulary: client, resource_defaults, endpoint mappings,
/// bare-string resources and a dependent resource.
#[test]
fn dlt_vocabulary_with_defaults_and_dependent_resources() {
    let api = mock_api().bearer("gh-token-1234").start();
    let yml = format!(
        r#"sources:
  - name: blog
    type: rest_api
    rest_api:
      client:
        base_url: "{}/"
        auth:
          token: "${{BLOG_TOKEN}}"
      resource_defaults:
        primary_key: id
        write_disposition: merge
        endpoint:
          params:
            per_page: 5
      resources:
        - tags
        - name: posts
          endpoint:
            path: posts
            paginator:
              type: json_link
              next_url_path: next_page_url
        - name: comments
          endpoint:
            path: "posts/{{resources.posts.id}}/comments"
          include_from_parent: [title]
"#,
        api.base_url()
    );
    let p = Project::new(&yml);
    p.write(
        ".dlt/secrets.toml",
        "[sources.blog]\nblog_token = \"gh-token-1234\"\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_ok();
    assert_eq!(p.count("select count(*) from raw_blog.tags"), 3);
    assert_eq!(p.count("select count(*) from raw_blog.posts"), 30);
    assert_eq!(p.count("select count(*) from raw_blog.comments"), 90);
    assert_eq!(
        p.text("select _posts_title from raw_blog.comments where id = 701"),
        "Post 7",
        "include_from_parent copies the parent's field"
    );
    let requests = api.counters().requests();
    assert!(
        requests.iter().any(|r| r == "/tags?per_page=5"),
        "defaults' params were sent: {requests:?}"
    );
    assert_eq!(api.counters().path("/posts/30/comments"), 1);
    run.assert_hides(&["gh-token-1234"]);
}

fn auth_source(api: &MockApi, auth_yaml: &str) -> Project {
    let extra = format!("      auth: {auth_yaml}\n");
    let p = Project::new(&rest_source(
        "secure",
        &api.base_url(),
        &extra,
        "        - name: tags\n          endpoint: /tags\n",
    ));
    p.write(
        ".env",
        "KEY=k-123456\nPASSWORD=pa55word\nCLIENT_SECRET=shh-secret\n",
    );
    p
}

#[test]
fn api_key_in_header_and_query() {
    let header = mock_api()
        .auth(MockAuth::ApiKeyHeader(
            "X-API-Key".into(),
            "k-123456".into(),
        ))
        .start();
    let p = auth_source(
        &header,
        r#"{type: api_key, name: X-API-Key, api_key: "${KEY}"}"#,
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_secure.tags"), 3);

    let query = mock_api()
        .auth(MockAuth::ApiKeyQuery("api_key".into(), "k-123456".into()))
        .start();
    let p = auth_source(
        &query,
        r#"{type: api_key, name: api_key, api_key: "${KEY}", location: query}"#,
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_secure.tags"), 3);
}

#[test]
fn http_basic_and_a_rejected_password_names_the_credential_not_its_value() {
    let mock = mock_api()
        .auth(MockAuth::Basic("reporter".into(), "pa55word".into()))
        .start();
    let p = auth_source(
        &mock,
        r#"{type: http_basic, username: reporter, password: "${PASSWORD}"}"#,
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_secure.tags"), 3);

    p.write(".env", "PASSWORD=wrong-pass-1\n");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all()
            .contains("HTTP basic auth for user `reporter` was rejected"),
        "{}",
        run.all()
    );
    run.assert_hides(&["wrong-pass-1"]);
}

/// Syncs `p` (expected to be refused by the API) with `env` set; what it printed, after
/// checking that no value in `never` shows.
fn refused(p: &Project, env: &[(&str, &str)], never: &[&str]) -> String {
    let run = p.dango_env(&["sync"], env);
    run.assert_failed().assert_hides(never);
    run.all()
}

#[test]
fn a_rejected_token_names_its_variable_and_where_it_was_found_never_its_value() {
    let mock = mock_api().bearer("right-token-1").start();
    let p = auth_source(&mock, r#"{type: bearer, token: "${MY_API_TOKEN}"}"#);
    let values = ["wrong-from-dotenv", "wrong-from-env", "wrong-from-toml"];
    p.write(".env", "MY_API_TOKEN=wrong-from-dotenv\n");
    let out = refused(&p, &[], &values);
    assert!(
        out.contains("HTTP 401") && out.contains("the bearer token (auth.token) was rejected"),
        "{out}"
    );
    assert!(out.contains("check MY_API_TOKEN (from .env)"), "{out}");

    let out = refused(&p, &[("MY_API_TOKEN", "wrong-from-env")], &values);
    assert!(
        out.contains("check MY_API_TOKEN (from the environment)"),
        "{out}"
    );
    assert!(!out.contains("from .env"), "the environment wins:\n{out}");

    std::fs::remove_file(p.path().join(".env")).expect("remove .env");
    p.write(
        ".dlt/secrets.toml",
        "[sources.secure]\nmy_api_token = \"wrong-from-toml\"\n",
    );
    let out = refused(&p, &[], &values);
    assert!(
        out.contains("check MY_API_TOKEN (from .dlt/secrets.toml, [sources.secure] my_api_token)"),
        "{out}"
    );
}

#[test]
fn every_kind_of_rejected_credential_names_its_variable() {
    let cases: [(MockAuth, &str, &str, &str); 5] = [
        (
            MockAuth::ApiKeyHeader("X-API-Key".into(), "k-123456".into()),
            r#"      auth: {type: api_key, name: X-API-Key, api_key: "${KEY}"}"#,
            "the API key in header `X-API-Key` was rejected: check KEY (from .env)",
            "",
        ),
        (
            MockAuth::ApiKeyQuery("api_key".into(), "k-123456".into()),
            r#"      auth: {type: api_key, name: api_key, api_key: "${KEY}", location: query}"#,
            "the API key in query parameter `api_key` was rejected: check KEY (from .env)",
            "",
        ),
        (
            MockAuth::Basic("reporter".into(), "pa55word".into()),
            r#"      auth: {type: http_basic, username: reporter, password: "${PASSWORD}"}"#,
            "HTTP basic auth for user `reporter` was rejected: check PASSWORD (from .env)",
            "",
        ),
        (
            MockAuth::Bearer("right-token-1".into()),
            r#"      headers: {Authorization: "Bearer ${TOKEN}"}"#,
            "the credential sent in header authorization was rejected: check TOKEN (from .env)",
            "",
        ),
        (
            MockAuth::ApiKeyQuery("api_key".into(), "k-123456".into()),
            "",
            "a credential was rejected: check KEY (from .env)",
            "          params: {api_key: \"${KEY}\"}\n",
        ),
    ];
    let env = "KEY=wrong-key-1\nPASSWORD=wrong-pass-1\nTOKEN=wrong-token-1\n";
    let never = ["wrong-key-1", "wrong-pass-1", "wrong-token-1"];
    for (auth, extra, expected, params) in cases {
        let mock = mock_api().auth(auth).start();
        let extra = match extra.is_empty() {
            true => String::new(),
            false => format!("{extra}\n"),
        };
        let resources = format!("        - name: tags\n          endpoint: /tags\n{params}");
        let p = Project::new(&rest_source("secure", &mock.base_url(), &extra, &resources));
        p.write(".env", env);
        let out = refused(&p, &[], &never);
        assert!(out.contains("HTTP 401"), "{out}");
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
}

/// A mock API behind OAuth2 client credentials (`dango` / `shh-secret`, tokens good for two
/// requests) and the `auth:` block that takes the secret from `${CLIENT_SECRET}`.
fn oauth2_api() -> (MockApi, String) {
    let mock = mock_api()
        .auth(MockAuth::OAuth2 {
            client_id: "dango".into(),
            client_secret: "shh-secret".into(),
            revoke_after: 2,
        })
        .start();
    let auth = format!(
        r#"{{type: oauth2_client_credentials, access_token_url: "{}/oauth/token", client_id: dango, client_secret: "${{CLIENT_SECRET}}"}}"#,
        mock.base_url()
    );
    (mock, auth)
}

#[test]
fn rejected_oauth2_and_dlt_style_secrets_name_where_they_were_found() {
    let (mock, auth) = oauth2_api();
    let p = auth_source(&mock, &auth);
    p.write(".env", "CLIENT_SECRET=wrong-secret-1\n");
    let out = refused(&p, &[], &["wrong-secret-1"]);
    assert!(
        out.contains("check client_id and client_secret; they come from CLIENT_SECRET (from .env)"),
        "{out}"
    );

    // No `${VAR}`: dlt fills `token` from SOURCES__SECURE__TOKEN, else from secrets.toml.
    let mock = mock_api().bearer("right-token-1").start();
    let p = auth_source(&mock, "{type: bearer}");
    p.write(
        ".dlt/secrets.toml",
        "[sources.secure]\ntoken = \"wrong-from-toml\"\n",
    );
    let never = ["wrong-from-toml", "wrong-from-env"];
    let out = refused(&p, &[], &never);
    assert!(
        out.contains("check [sources.secure] token (from .dlt/secrets.toml)"),
        "{out}"
    );
    let out = refused(&p, &[("SOURCES__SECURE__TOKEN", "wrong-from-env")], &never);
    assert!(
        out.contains("check SOURCES__SECURE__TOKEN (from the environment)"),
        "{out}"
    );
}

#[test]
fn oauth2_client_credentials_fetches_caches_and_refreshes_once() {
    let (mock, auth) = oauth2_api();
    let resources = "        - name: users\n          endpoint: /users\n";
    let p = Project::new(&rest_source(
        "secure",
        &mock.base_url(),
        &format!("      auth: {auth}\n"),
        resources,
    ));
    p.write(".env", "CLIENT_SECRET=shh-secret\n");
    let run = p.dango(&["sync"]);
    run.assert_ok();
    assert_eq!(p.count("select count(*) from raw_secure.users"), 25);
    // 4 requests (3 pages and an empty one), a token good for 2: one refresh.
    assert_eq!(mock.counters().tokens_issued(), 2);
    run.assert_hides(&["mock-access-token"]);
}

#[test]
fn post_with_a_json_body() {
    let mock = mock_api().start();
    let resources = "        - name: completed_orders\n          endpoint:\n            path: /search\n            method: POST\n            json: {status: completed}\n";
    let p = Project::new(&rest_source("shop", &mock.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert_eq!(
        p.count("select count(*) from raw_shop.completed_orders"),
        40
    );
    assert_eq!(
        p.count("select count(*) from raw_shop.completed_orders where status <> 'completed'"),
        0
    );
}

#[test]
fn response_actions_ignore_404_instead_of_failing() {
    let mock = mock_api().start();
    let resources = "        - name: archived\n          endpoint:\n            path: /gone\n            response_actions:\n              - {status_code: 404, action: ignore}\n        \
                     - name: tags\n          endpoint: /tags\n";
    let p = Project::new(&rest_source("shop", &mock.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.tags"), 3);
    assert!(!p.tables("raw_shop").contains(&"archived".to_string()));

    // Without the action, the same 404 fails with the URL and the body.
    let plain = "        - name: archived\n          endpoint: /gone\n";
    let p = Project::new(&rest_source("shop", &mock.base_url(), "", plain));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("/gone failed with HTTP 404"),
        "{}",
        run.all()
    );
    assert!(run.all().contains("not found"), "{}", run.all());
}

#[test]
fn rate_limit_is_never_exceeded_and_paces_the_sync() {
    let mock = mock_api().start();
    let resources = "        - name: users\n          endpoint: /users\n          params: {per_page: 2}\n        \
                     - name: events\n          endpoint: /events\n";
    let p = Project::new(&rest_source(
        "paced",
        &mock.base_url(),
        "      rate_limit: 20\n",
        resources,
    ));
    let started = Instant::now();
    p.dango(&["sync"]).assert_ok();
    let elapsed = started.elapsed();
    let times = mock.counters().times();
    let n = times.len();
    assert!(n >= 16, "{n} requests");
    // No one-second window holds more than the limit (plus the single burst token).
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 21,
            "{in_window} requests within 1 s of request {i}"
        );
    }
    let expected = Duration::from_secs_f64((n - 1) as f64 / 20.0);
    assert!(
        elapsed >= expected,
        "{n} requests at 20/s took only {elapsed:?}"
    );
}

#[test]
fn auto_detected_pagination_matches_dlt() {
    let mock = mock_api().start();
    // users: meta.total_pages → page_number; events: next_cursor → cursor; products: Link header.
    let resources = "        - name: users\n          endpoint: /users\n        - name: events\n          endpoint: /events\n        \
                     - name: products\n          endpoint: /products\n";
    let p = Project::new(&rest_source("auto", &mock.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_auto.users"), 25);
    assert_eq!(p.count("select count(*) from raw_auto.events"), 30);
    assert_eq!(p.count("select count(*) from raw_auto.products"), 30);
    // The total page count ends page_number pagination without an extra empty request.
    assert_eq!(mock.counters().path("/users"), 3);
}

#[test]
fn errors_a_user_can_act_on() {
    // Connection refused: port 9 on loopback has no listener.
    let p = Project::new(&rest_source(
        "down",
        "http://127.0.0.1:9",
        "",
        "        - name: tags\n          endpoint: /tags\n",
    ));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(run.all().contains("could not connect"), "{}", run.all());
    assert!(
        run.all().contains("http://127.0.0.1:9/tags"),
        "{}",
        run.all()
    );

    let mock = mock_api().start();
    let selector =
        "        - name: users\n          endpoint: /users\n          data_selector: results\n";
    let p = Project::new(&rest_source("shop", &mock.base_url(), "", selector));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all()
            .contains("data_selector `results` matched nothing"),
        "{}",
        run.all()
    );
    assert!(
        run.all().contains("top-level keys are: data, meta"),
        "{}",
        run.all()
    );

    // An answer that is not JSON is told with its content type and the start of its body.
    let html = "        - name: broken\n          endpoint: /html\n";
    let p = Project::new(&rest_source("shop", &mock.base_url(), "", html));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let out = run.all();
    assert!(out.contains("did not return JSON"), "{out}");
    assert!(out.contains("text/html"), "{out}");
    assert!(out.contains("Maintenance"), "body excerpt: {out}");

    let looping = "        - name: loop\n          endpoint: /loop\n          pagination: {type: cursor, cursor_path: next_cursor}\n";
    let p = Project::new(&rest_source("shop", &mock.base_url(), "", looping));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("pagination would never end"),
        "{}",
        run.all()
    );
    assert!(mock.counters().path("/loop") <= 3);
}

#[test]
fn auth_secrets_resolve_the_dlt_way_or_say_where_to_put_them() {
    let mock = mock_api().bearer("from-secrets-toml").start();
    let p = auth_source(&mock, "{type: bearer}");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("auth `token` is not set"),
        "{}",
        run.all()
    );
    assert!(run.all().contains("[sources.secure]"), "{}", run.all());
    assert_eq!(mock.counters().total(), 0);

    p.write(
        ".dlt/secrets.toml",
        "[sources.secure]\ntoken = \"from-secrets-toml\"\n",
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_secure.tags"), 3);

    let env = mock_api().bearer("from-env-var").start();
    let p = auth_source(&env, "{type: bearer}");
    p.write(".env", "SOURCES__SECURE__TOKEN=from-env-var\n");
    p.dango(&["sync"]).assert_ok();
}

/// dlt's `range_start`, `range_end` and `on_cursor_value_missing`, loaded by real dlt and by
/// Dango from the same API: the same orders in every case.
#[test]
fn incremental_ranges_match_dlt() {
    let mock = mock_api().start();
    // Orders 10 to 20 by `updatedAt` (order N is at hour N + 24): the bounds land on records.
    let (initial, end) = (
        dango::mock_api::timestamp(10 + 24),
        dango::mock_api::timestamp(20 + 24),
    );
    let work = tempfile::tempdir().unwrap();
    let out = support::run_reference(
        "dlt_incremental_reference.py",
        [
            mock.base_url(),
            work.path().join("dlt.duckdb").to_str().unwrap().to_string(),
            work.path().join("pipelines").to_str().unwrap().to_string(),
            initial.clone(),
            end.clone(),
        ],
    );
    let dlt: std::collections::BTreeMap<String, Vec<i64>> =
        serde_json::from_slice(&out).expect("dlt's ids as JSON");
    // The ordered source's requests are the ones for five orders.
    let ordered_requests = || {
        let all = mock.counters().requests();
        all.iter().filter(|q| q.contains("limit=5")).count()
    };
    let dlt_ordered_requests = ordered_requests();
    let source = |name: &str, incremental: &str, limit: usize| {
        format!(
            "  - name: {name}\n    type: rest_api\n    rest_api:\n      base_url: \"{}\"\n      \
             resources:\n        - name: orders\n          write_disposition: append\n          \
             endpoint:\n            path: orders\n            data_selector: items\n            \
             paginator: {{type: offset, limit: {limit}, total_path: total}}\n            \
             incremental: {{{incremental}}}\n",
            mock.base_url()
        )
    };
    let mut yml = String::from("sources:\n");
    for start in ["closed", "open"] {
        for stop in ["open", "closed"] {
            yml += &source(
                &format!("range_{start}_{stop}"),
                &format!(
                    "cursor_path: updatedAt, initial_value: \"{initial}\", end_value: \"{end}\", \
                     range_start: {start}, range_end: {stop}"
                ),
                10,
            );
        }
    }
    yml += &source(
        "missing_included",
        "cursor_path: discountCode, on_cursor_value_missing: include",
        10,
    );
    yml += &source(
        "ordered",
        &format!(
            "cursor_path: updatedAt, initial_value: \"{initial}\", end_value: \"{end}\", \
             row_order: asc"
        ),
        5,
    );
    let p = Project::new(&yml);
    p.dango(&["sync"]).assert_ok();
    for (dataset, ids) in &dlt {
        let loaded: Vec<i64> = p
            .text(&format!(
                "select string_agg(id::varchar, ',' order by id) from raw_{dataset}.orders"
            ))
            .split(',')
            .map(|id| id.parse().expect("an id"))
            .collect();
        assert_eq!(&loaded, ids, "{dataset}: Dango's orders against dlt's");
    }
    // The ranges differ in whether the bounds load, and dlt agrees on each.
    assert_eq!(dlt["range_closed_open"], (10..20).collect::<Vec<i64>>());
    assert_eq!(dlt["range_open_closed"], (11..=20).collect::<Vec<i64>>());
    assert_eq!(dlt["missing_included"].len(), 120);
    // Ordered rows let both stop at the first page past the range, well short of all 24.
    assert_eq!(dlt["ordered"], (10..20).collect::<Vec<i64>>());
    assert_eq!(
        ordered_requests() - dlt_ordered_requests,
        dlt_ordered_requests,
        "Dango asked for as many pages as dlt"
    );
    assert!(dlt_ordered_requests < 24, "{dlt_ordered_requests} requests");
}

/// dlt's `lag`: each sync re-reads the two hours before its saved cursor. Real dlt and Dango
/// load the same API twice, the API growing in between: append loads the re-read orders again
/// (as dlt does), merge keeps one row per order, and both agree with dlt row for row.
#[test]
fn incremental_lag_matches_dlt() {
    let mock = mock_api().orders(60).start();
    let initial = dango::mock_api::timestamp(0);
    let work = tempfile::tempdir().unwrap();
    let dlt_run = || {
        let out = support::run_reference(
            "dlt_incremental_reference.py",
            [
                mock.base_url(),
                work.path().join("dlt.duckdb").to_str().unwrap().to_string(),
                work.path().join("pipelines").to_str().unwrap().to_string(),
                initial.clone(),
                String::new(),
                "lag".to_string(),
            ],
        );
        serde_json::from_slice::<std::collections::BTreeMap<String, Vec<i64>>>(&out)
            .expect("dlt's ids as JSON")
    };
    let source = |name: &str, disposition: &str| {
        format!(
            "  - name: {name}\n    type: rest_api\n    rest_api:\n      base_url: \"{}\"\n      \
             resources:\n        - name: orders\n          write_disposition: {disposition}\n          \
             primary_key: id\n          endpoint:\n            path: orders\n            \
             data_selector: items\n            \
             paginator: {{type: offset, limit: 10, total_path: total}}\n            \
             incremental: {{cursor_path: updatedAt, initial_value: \"{initial}\", lag: 7200, \
             start_param: updated_after}}\n",
            mock.base_url()
        )
    };
    let p = Project::new(&format!(
        "sources:\n{}{}",
        source("lag_append", "append"),
        source("lag_merge", "merge")
    ));
    let ids = |dataset: &str| -> Vec<i64> {
        p.text(&format!(
            "select string_agg(id::varchar, ',' order by id) from raw_{dataset}.orders"
        ))
        .split(',')
        .map(|id| id.parse().expect("an id"))
        .collect()
    };
    dlt_run();
    p.dango(&["sync"]).assert_ok();
    mock.set_orders(90);
    let dlt = dlt_run();
    p.dango(&["sync"]).assert_ok();
    for (dataset, expected) in &dlt {
        assert_eq!(
            &ids(dataset),
            expected,
            "{dataset}: Dango's orders against dlt's"
        );
    }
    // Orders are an hour apart: the second sync re-read orders 58 to 60.
    let mut twice: Vec<i64> = (1..=90).chain(58..=60).collect();
    twice.sort();
    assert_eq!(dlt["lag_append"], twice);
    assert_eq!(dlt["lag_merge"], (1..=90).collect::<Vec<i64>>());
    // The cursor never moves back: a sync with nothing new keeps it at the newest order.
    p.dango(&["sync"]).assert_ok();
    let state = p.dango(&["state", "lag_merge"]).stdout();
    assert!(
        state.contains(&format!("= {}", dango::mock_api::timestamp(90 + 24))),
        "{state}"
    );
}

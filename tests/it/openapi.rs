//! `dango source add --openapi` and `dango init --openapi`: a source made from the mock API's
//! own description (every paginator, each auth kind, a parent/child pair) syncs every
//! collection with the right counts; real descriptions (fixtures/openapi/) give configs that
//! validate; bad descriptions are refused with the place named and nothing written.

use std::path::{Path, PathBuf};

use crate::support::api::{MockAuth, mock_api};
use crate::support::{self, Project};

/// An empty project (`sources: []`) to add sources to.
fn empty_project() -> Project {
    Project::new("# my sources\nversion: \"1.0\"\nsources: []\n")
}

/// A fixture of `fixtures/openapi/`.
fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/openapi")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_source_from_the_mock_apis_description_syncs_every_collection() {
    let api = mock_api().bearer("t0ken").start();
    let project = empty_project();
    let description = format!("{}/openapi.json", api.base_url());
    let env = [("MOCK_TOKEN", "t0ken")];
    let run = project.dango_env(&["source", "add", "mock", "--openapi", &description], &env);
    run.assert_ok().assert_hides(&["t0ken"]);
    let out = run.stdout();
    for (resource, paging) in [
        ("users", "page number"),
        ("orders", "offset"),
        ("events", "cursor"),
        ("posts", "next URL"),
        ("products", "Link header"),
        ("tags", "one page"),
        ("customers", "cursor"),
        ("comments", "per posts"),
    ] {
        let line = out.lines().find(|l| l.trim_start().starts_with(resource));
        assert!(
            line.is_some_and(|l| l.contains(paging)),
            "{resource}: {paging}\n{out}"
        );
    }
    assert!(
        out.contains("GET /html") && out.contains("not JSON (text/html)"),
        "{out}"
    );
    assert!(
        out.contains("GET /gone") && out.contains("no success response"),
        "{out}"
    );
    assert!(out.contains("1 POST"), "{out}");
    let yml = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
    assert!(yml.contains("# my sources\n"), "{yml}");
    assert!(yml.contains("token: \"${MOCK_TOKEN}\""), "{yml}");
    assert!(
        yml.contains("start_param: updated_after") && yml.contains("cursor_path: updatedAt"),
        "{yml}"
    );
    assert!(
        yml.contains("probe: page 1 had 50 record(s), page 2 brought 50 new"),
        "{yml}"
    );
    // Stripe's style: the next page starts after the last record's id, until `has_more` is false.
    assert!(yml.contains("cursor_path: \"data[-1].id\""), "{yml}");
    assert!(yml.contains("has_more_path: has_more"), "{yml}");
    assert!(
        yml.contains("probe: page 1 had 10 record(s), page 2 brought 10 new"),
        "{yml}"
    );
    assert!(!yml.contains("t0ken"), "{yml}");
    let dotenv = std::fs::read_to_string(project.path().join(".env")).unwrap_or_default();
    assert!(dotenv.lines().any(|l| l == "MOCK_TOKEN="), "{dotenv}");

    project.dango_env(&["validate"], &env).assert_ok();
    let test = project.dango_env(&["source", "test", "mock", "--resource", "comments"], &env);
    test.assert_ok().assert_hides(&["t0ken"]);
    assert!(
        test.stdout().contains("/posts/1/comments"),
        "{}",
        test.stdout()
    );
    project.dango_env(&["sync"], &env).assert_ok();
    for (table, rows) in [
        ("users", 25),
        ("orders", 120),
        ("events", 30),
        ("posts", 30),
        ("products", 30),
        ("tags", 3),
        ("customers", 25),
        ("comments", 90),
    ] {
        assert_eq!(
            project.count(&format!("select count(*) from raw_mock.{table}")),
            rows,
            "{table}"
        );
    }
    // Each comment names its post, for joins.
    assert_eq!(
        project.count("select count(*) from raw_mock.comments where _posts_id = post_id"),
        90
    );
    // A second sync loads nothing twice: keys merge, full lists replace.
    project.dango_env(&["sync"], &env).assert_ok();
    assert_eq!(project.count("select count(*) from raw_mock.orders"), 120);
    assert_eq!(project.count("select count(*) from raw_mock.comments"), 90);

    // The name is taken: refused, the file untouched; --replace rewrites it in place.
    let again = project.dango_env(
        &[
            "source",
            "add",
            "mock",
            "--openapi",
            &description,
            "--no-probe",
        ],
        &env,
    );
    again.assert_failed();
    assert!(again.stderr().contains("--replace"), "{}", again.stderr());
    assert_eq!(
        std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap(),
        yml
    );
    let args = [
        "source",
        "add",
        "mock",
        "--openapi",
        &description,
        "--no-probe",
        "--replace",
        "--select",
        "/tags",
    ];
    project.dango_env(&args, &env).assert_ok();
    let replaced = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
    assert!(
        replaced.contains("not probed (--no-probe)") && !replaced.contains("name: users"),
        "{replaced}"
    );
    assert_eq!(replaced.matches("- name: mock").count(), 1, "{replaced}");
}

#[test]
fn every_auth_kind_of_a_description_is_written_and_sent() {
    let kinds = [
        (
            MockAuth::ApiKeyHeader("X-Api-Key".into(), "k3y".into()),
            vec![("MOCK_API_KEY", "k3y")],
            "location: header",
        ),
        (
            MockAuth::ApiKeyQuery("api_key".into(), "k3y".into()),
            vec![("MOCK_API_KEY", "k3y")],
            "location: query",
        ),
        (
            MockAuth::Basic("ann".into(), "s3cret".into()),
            vec![("MOCK_USERNAME", "ann"), ("MOCK_PASSWORD", "s3cret")],
            "type: http_basic",
        ),
        (
            MockAuth::OAuth2 {
                client_id: "cid".into(),
                client_secret: "s3cret".into(),
                revoke_after: 1000,
            },
            vec![("MOCK_CLIENT_ID", "cid"), ("MOCK_CLIENT_SECRET", "s3cret")],
            "type: oauth2_client_credentials",
        ),
    ];
    for (auth, env, written) in kinds {
        let api = mock_api().auth(auth.clone()).start();
        let project = empty_project();
        let description = format!("{}/openapi.json", api.base_url());
        let args = [
            "source",
            "add",
            "mock",
            "--openapi",
            &description,
            "--select",
            "/tags",
            "--probe",
        ];
        let run = project.dango_env(&args, &env);
        run.assert_ok();
        let yml = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
        assert!(yml.contains(written), "{auth:?}: {yml}");
        assert!(
            yml.contains("probe: page 1 had 3 record(s)"),
            "{auth:?}: {yml}"
        );
        for (_, secret) in &env {
            assert!(
                !yml.contains(&format!(": {secret}")) && !run.all().contains(&format!(" {secret}")),
                "{auth:?}"
            );
        }
        project.dango_env(&["sync"], &env).assert_ok();
        assert_eq!(
            project.count("select count(*) from raw_mock.tags"),
            3,
            "{auth:?}"
        );
    }
}

/// A description that is wrong about the API: records under another field, a key the records
/// lack, a paginated endpoint described as one page.
const WRONG: &str = r#"
openapi: 3.0.0
info: {title: Wrong, version: "1"}
paths:
  /users:
    get:
      parameters: [{name: page, in: query, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, properties: {items: {type: array, items: {type: object, properties: {id: {type: integer}}}}}}}}}
  /tags:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array, items: {type: object, properties: {tag_id: {type: string, format: uuid}, name: {type: string}}}}}}}
  /products:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array, items: {type: object, properties: {id: {type: integer}}}}}}}
"#;

#[test]
fn the_probe_corrects_what_the_description_gets_wrong() {
    let api = mock_api().start();
    let project = empty_project();
    project.write("wrong.yaml", WRONG);
    let file = project.path().join("wrong.yaml").display().to_string();
    let base = api.base_url();
    let args = [
        "source",
        "add",
        "mock",
        "--openapi",
        &file,
        "--base-url",
        &base,
        "--probe",
    ];
    project.dango(&args).assert_ok();
    let yml = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
    for want in [
        "probe: the records are at `data`, not at `items`",
        "data_selector: data",
        "probe: a record has no `tag_id`",
        "paginator: header_link",
        "the first response has a `Link: rel=\"next\"` header",
    ] {
        assert!(yml.contains(want), "no `{want}` in\n{yml}");
    }
    assert!(!yml.contains("primary_key: tag_id"), "{yml}");
    project.dango(&["sync"]).assert_ok();
    for (table, rows) in [("users", 25), ("tags", 3), ("products", 30)] {
        assert_eq!(
            project.count(&format!("select count(*) from raw_mock.{table}")),
            rows,
            "{table}"
        );
    }
}

#[test]
fn init_makes_a_project_from_a_description() {
    let api = mock_api().start();
    let dir = tempfile::tempdir().unwrap();
    let description = format!("{}/openapi.json", api.base_url());
    let args = [
        "init",
        "shop",
        "--openapi",
        &description,
        "--select",
        "/users",
        "/posts*",
    ];
    support::run_dango(dir.path(), &args).assert_ok();
    let root = dir.path().join("shop");
    let yml = std::fs::read_to_string(root.join(".dango/sources.yml")).unwrap();
    assert!(
        yml.contains("- name: dango_mock_api") && !yml.contains("jsonplaceholder"),
        "{yml}"
    );
    support::run_dango(&root, &["sync"]).assert_ok();
    let db = duckdb::Connection::open(root.join("data/warehouse.duckdb")).unwrap();
    let count = |t: &str| -> i64 {
        db.query_row(
            &format!("select count(*) from raw_dango_mock_api.{t}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(
        (count("users"), count("posts"), count("comments")),
        (25, 30, 90)
    );
}

/// The real descriptions shipped in fixtures/openapi/: each gives a source that validates.
#[test]
fn real_descriptions_give_sources_that_validate() {
    let cases: [(&str, &[&str], &[&str]); 6] = [
        (
            "petstore-2.0.json",
            &[],
            &["- name: pets", "data_selector: \"$\""],
        ),
        (
            "petstore-3.0.yaml",
            &[],
            &["- name: pets", "paginator: single_page"],
        ),
        (
            "petstore-3.1.yaml",
            &["--base-url", "https://petstore3.swagger.io/api/v31"],
            &["findByStatus"],
        ),
        (
            "petstore-separate/spec/swagger.yaml",
            &[],
            &["- name: pets", "primary_key: id"],
        ),
        (
            "stripe-2022-03-18.json",
            &[],
            &[
                "- name: customers",
                "cursor_param: starting_after",
                "has_more_path: has_more",
                "data_selector: data",
                "type: bearer",
                "the API also accepts basicAuth (http basic)",
            ],
        ),
        (
            "github-2020-08-30.yaml",
            &[],
            &[
                "- name: repositories",
                "paginator: header_link",
                "start_param: since",
            ],
        ),
    ];
    for (file, extra, expected) in cases {
        let project = empty_project();
        let description = fixture(file);
        let mut args = vec![
            "source",
            "add",
            "api",
            "--openapi",
            &description,
            "--no-probe",
        ];
        args.extend_from_slice(extra);
        let run = project.dango(&args);
        run.assert_ok();
        let yml = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
        for want in expected {
            assert!(yml.contains(want), "{file}: no `{want}` in\n{}", head(&yml));
        }
        let env: Vec<(String, String)> = secrets_of(&yml)
            .into_iter()
            .map(|v| (v, "x".to_string()))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        project.dango_env(&["validate"], &env).assert_ok();
    }
}

#[test]
fn bad_descriptions_are_refused_naming_the_place_and_nothing_is_written() {
    let project = empty_project();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let get_users = "paths:\n  /users:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Users'}\n";
    let cases = [
        (
            write("sources.yml", "version: \"1.0\"\nsources: []\n"),
            "is not an OpenAPI or Swagger description",
        ),
        (
            write(
                "broken.yaml",
                &format!("openapi: 3.0.0\nservers: [{{url: 'https://api.test'}}]\n{get_users}"),
            ),
            "#/components/schemas/Users",
        ),
        (
            write(
                "cycle.yaml",
                &format!(
                    "openapi: 3.0.0\nservers: [{{url: 'https://api.test'}}]\n{get_users}components:\n  schemas:\n    Users: {{$ref: '#/components/schemas/Again'}}\n    Again: {{$ref: '#/components/schemas/Users'}}\n"
                ),
            ),
            "cycle",
        ),
        (
            write(
                "no_servers.yaml",
                &format!(
                    "openapi: 3.0.0\n{get_users}components:\n  schemas:\n    Users: {{type: array}}\n"
                ),
            ),
            "--base-url",
        ),
        (
            write(
                "missing_file.yaml",
                "openapi: 3.0.0\npaths:\n  /x: {$ref: 'elsewhere.yaml#/x'}\n",
            ),
            "elsewhere.yaml",
        ),
    ];
    let before = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
    for (path, expected) in &cases {
        let path = path.display().to_string();
        let run = project.dango(&["source", "add", "api", "--openapi", &path, "--no-probe"]);
        run.assert_failed();
        let err = run.stderr();
        assert!(err.contains(expected), "{path}: {err}");
        assert!(
            err.contains(path.rsplit('/').next().unwrap()),
            "{path} not named: {err}"
        );
    }
    let unreachable = project.dango(&[
        "source",
        "add",
        "api",
        "--openapi",
        "http://127.0.0.1:9/openapi.json",
    ]);
    unreachable.assert_failed();
    assert!(
        unreachable
            .stderr()
            .contains("cannot fetch http://127.0.0.1:9/openapi.json"),
        "{}",
        unreachable.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap(),
        before
    );
    assert!(
        !project.path().join(".env").exists()
            || std::fs::read_to_string(project.path().join(".env"))
                .unwrap()
                .is_empty()
    );
}

/// The `${VAR}`s of a sources.yml.
fn secrets_of(yml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = yml;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let var = rest[start + 2..start + end].to_string();
        if !out.contains(&var) {
            out.push(var);
        }
        rest = &rest[start + end..];
    }
    out
}

/// The first lines of a long file, for a failure message.
fn head(text: &str) -> String {
    text.lines().take(80).collect::<Vec<_>>().join("\n")
}

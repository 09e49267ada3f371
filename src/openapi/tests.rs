//! The proposal from small descriptions: one paginator style, key, cursor and parent each,
//! and the written text loading as a source.

use std::path::Path;

use super::document::Place;
use super::paging::Paginator;
use super::proposal::ResourcePlan;
use super::*;

/// The proposal for `paths` (YAML under `paths:`) with `components` (YAML under
/// `components:`) of an OpenAPI 3.0 description.
fn propose_for(paths: &str, components: &str) -> Proposal {
    let text = format!(
        "openapi: 3.0.0\ninfo: {{title: Test API}}\nservers: [{{url: 'https://api.test/v1'}}]\npaths:\n{paths}\ncomponents:\n{components}\n"
    );
    let desc = Description::from_text(Place::File("api.yaml".into()), &text).unwrap();
    let api = Api::read(&desc, None).unwrap();
    let options = Options {
        source: "test".into(),
        select: Vec::new(),
    };
    propose(&desc, &api, &options).unwrap()
}

/// A GET of `path` with query `params` (YAML flow list) answering `schema` (YAML flow).
fn get(path: &str, params: &str, schema: &str) -> String {
    format!(
        "  {path}:\n    get:\n      parameters: {params}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {schema}\n"
    )
}

fn q(name: &str, kind: &str) -> String {
    format!("{{name: {name}, in: query, schema: {{type: {kind}}}}}")
}

fn resource<'p>(p: &'p Proposal, name: &str) -> &'p ResourcePlan {
    p.resources
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {:?}",
                p.resources.iter().map(|r| &r.name).collect::<Vec<_>>()
            )
        })
}

const ITEM: &str = "  schemas:\n    Item: {type: object, properties: {id: {type: string}, updated_at: {type: string, format: date-time}}}\n";
const LIST: &str = "{type: array, items: {$ref: '#/components/schemas/Item'}}";

#[test]
fn each_paging_style_is_recognised_from_parameters_fields_and_headers() {
    let wrapped = |extra: &str| format!("{{type: object, properties: {{data: {LIST}, {extra}}}}}");
    let paths = [
        get("/stripe", &format!("[{}, {}]", q("starting_after", "string"), q("limit", "integer")), &wrapped("has_more: {type: boolean}")),
        get("/hubspot", &format!("[{}]", q("after", "string")), &wrapped("paging: {type: object, properties: {next: {type: object, properties: {after: {type: string}}}}}")),
        get("/offsets", &format!("[{}, {}]", q("offset", "integer"), q("limit", "integer")), &wrapped("total: {type: integer}")),
        get("/pages", &format!("[{}, {}]", q("page", "integer"), q("per_page", "integer")), &wrapped("meta: {type: object, properties: {total_pages: {type: integer}}}")),
        get("/links", "[]", &wrapped("next: {type: string, format: uri}")),
        get("/plain", "[]", LIST),
    ]
    .concat();
    let p = propose_for(&paths, ITEM);
    assert_eq!(
        resource(&p, "stripe").paging.paginator,
        Paginator::Cursor {
            param: "starting_after".into(),
            path: "data[-1].id".into(),
            has_more: Some("has_more".into())
        }
    );
    assert!(
        matches!(&resource(&p, "hubspot").paging.paginator, Paginator::Cursor { path, .. } if path == "paging.next.after")
    );
    assert!(
        matches!(&resource(&p, "offsets").paging.paginator, Paginator::Offset { total_path: Some(t), .. } if t == "total")
    );
    assert!(
        matches!(&resource(&p, "pages").paging.paginator, Paginator::PageNumber { total_path: Some(t), .. } if t == "meta.total_pages")
    );
    assert!(
        matches!(&resource(&p, "links").paging.paginator, Paginator::NextUrl { path } if path == "next")
    );
    let plain = resource(&p, "plain");
    assert_eq!(plain.paging.paginator, Paginator::SinglePage);
    assert!(!plain.paging.sure);
    assert_eq!(plain.selector.value, None);
    assert_eq!(
        resource(&p, "stripe").selector.value.as_deref(),
        Some("data")
    );
}

#[test]
fn keys_cursors_parents_and_names_come_from_the_schemas_and_paths() {
    let since = "{name: updated_since, in: query, schema: {type: string, format: date-time}}";
    let paths = [
        get("/users", &format!("[{since}]"), LIST),
        get(
            "/users/{user_id}/orders",
            "[{name: user_id, in: path, required: true, schema: {type: string}}]",
            LIST,
        ),
        get("/admin/users", "[]", LIST),
        get(
            "/teams/{team}/members",
            "[{name: team, in: path, required: true, schema: {type: string}}]",
            LIST,
        ),
        get("/users/{id}", "[]", "{$ref: '#/components/schemas/Item'}"),
    ]
    .concat();
    let p = propose_for(&paths, ITEM);
    let users = resource(&p, "users");
    assert_eq!(users.key.as_ref().unwrap().value, "id");
    let cursor = users.cursor.as_ref().unwrap();
    assert_eq!(
        (cursor.value.param.as_str(), cursor.value.field.as_str()),
        ("updated_since", "updated_at")
    );
    assert_eq!(users.disposition.0, "merge");
    let orders = resource(&p, "orders");
    assert_eq!(orders.path, "/users/{resources.users.id}/orders");
    assert_eq!(orders.parent.as_ref().unwrap().0, "users");
    // A child of an incremental parent only sees changed parents' children: never replace.
    assert_eq!(orders.disposition.0, "merge");
    assert_eq!(resource(&p, "admin_users").disposition.0, "replace");
    let reasons: Vec<(&str, &str)> = p
        .skipped
        .iter()
        .map(|s| (s.endpoint.as_str(), s.reason.as_str()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(e, r)| *e == "GET /teams/{team}/members" && r.contains("`{team}`")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(e, r)| *e == "GET /users/{id}" && r.contains("one record")),
        "{reasons:?}"
    );
}

#[test]
fn the_written_source_loads_with_every_choice_commented() {
    let paths = [
        get(
            "/users",
            &format!("[{}, {}]", q("page", "integer"), q("per_page", "integer")),
            LIST,
        ),
        get(
            "/search",
            "[{name: q, in: query, required: true, schema: {type: string}}]",
            LIST,
        ),
    ]
    .concat();
    let p = propose_for(&paths, ITEM);
    let item = emit::source_item(&p, "api.yaml", 2);
    let text = format!("version: \"1.0\"\nsources:\n{item}");
    let file = crate::project::loader::parse_sources(Path::new("sources.yml"), &text);
    assert!(file.is_ok(), "{text}\n{:?}", file.err());
    assert!(
        text.contains("base_url: \"https://api.test/v1\"") && text.contains("# servers[0].url"),
        "{text}"
    );
    assert!(
        text.contains("q: \"${TEST_Q}\"") && text.contains("FILL IN"),
        "{text}"
    );
    assert!(text.contains("(unconfirmed)"), "{text}");
}

/// The cursor path written for Stripe-style lists is one the paginator's JSONPath reads.
#[test]
fn the_last_records_id_path_selects_the_last_id() {
    let page = serde_json::json!({"data": [{"id": "cus_1"}, {"id": "cus_2"}], "has_more": true});
    let found = crate::source::json_path::find(&page, "data[-1].id");
    assert_eq!(found, Some(&serde_json::json!("cus_2")));
    let top = serde_json::json!([{"id": 1}, {"id": 2}]);
    assert_eq!(
        crate::source::json_path::find(&top, "$[-1].id"),
        Some(&serde_json::json!(2))
    );
}

/// `servers[0]` with its variables' defaults; Swagger 2.0's scheme, host and base path.
#[test]
fn the_base_url_comes_from_servers_or_the_swagger_host() {
    let base = |text: &str| {
        let desc = Description::from_text(Place::File("api.yaml".into()), text).unwrap();
        Api::read(&desc, None)
            .map(|api| api.server.0)
            .map_err(|e| e.to_string())
    };
    let templated = "openapi: 3.1.0\nservers:\n  - url: 'https://{region}.api.test/{version}'\n    variables:\n      region: {default: eu}\n      version: {default: v2}\npaths: {}\n";
    assert_eq!(base(templated).unwrap(), "https://eu.api.test/v2");
    let swagger = "swagger: '2.0'\nhost: api.test\nbasePath: /v1\nschemes: [http]\npaths: {}\n";
    assert_eq!(base(swagger).unwrap(), "http://api.test/v1");
    let relative = base("openapi: 3.0.0\nservers: [{url: /v1}]\npaths: {}\n").unwrap_err();
    assert!(
        relative.contains("`/v1` is not an absolute URL") && relative.contains("--base-url"),
        "{relative}"
    );
}

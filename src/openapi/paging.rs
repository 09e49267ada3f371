//! Which paginator an operation needs, from what its description shows: a `Link` response
//! header, a cursor parameter with the response field that feeds it, a next-page URL in the
//! body, offset and limit parameters, or a page number.

use serde_json::Value;

use super::document::{Description, Node};
use super::json_schema::{self, find_field, is};
use super::model::{Operation, Param};
use super::records::Records;

/// Query parameters that take a cursor.
const CURSOR_PARAMS: [&str; 16] = [
    "cursor",
    "after",
    "starting_after",
    "page_token",
    "pagetoken",
    "next_token",
    "nexttoken",
    "continuation",
    "continuation_token",
    "continuationtoken",
    "marker",
    "start_cursor",
    "pagination_token",
    "paginationtoken",
    "next_cursor",
    "page_after",
];
/// Response fields that hold the next cursor.
const CURSOR_FIELDS: [&str; 13] = [
    "next_cursor",
    "nextcursor",
    "cursor",
    "next_page_token",
    "nextpagetoken",
    "next_token",
    "nexttoken",
    "continuation_token",
    "continuationtoken",
    "next_marker",
    "nextmarker",
    "end_cursor",
    "endcursor",
];
/// Response fields that hold the next page's URL.
const NEXT_URL_FIELDS: [&str; 9] = [
    "next",
    "next_url",
    "nexturl",
    "next_page_url",
    "nextpageurl",
    "next_link",
    "nextlink",
    "next_href",
    "@odata.nextlink",
];
/// Response booleans that say whether more pages follow.
const HAS_MORE_FIELDS: [&str; 6] = [
    "has_more",
    "hasmore",
    "has_next",
    "hasnext",
    "more",
    "has_next_page",
];
/// Query parameters that take an offset.
const OFFSET_PARAMS: [&str; 4] = ["offset", "skip", "start", "$skip"];
/// Query parameters that take a page size.
const SIZE_PARAMS: [&str; 11] = [
    "limit",
    "per_page",
    "perpage",
    "page_size",
    "pagesize",
    "size",
    "count",
    "top",
    "$top",
    "max_results",
    "maxresults",
];
/// Query parameters that take a page number.
const PAGE_PARAMS: [&str; 5] = ["page", "page_number", "pagenumber", "page_no", "pageno"];
/// Response fields with the number of records.
const TOTAL_FIELDS: [&str; 8] = [
    "total",
    "total_count",
    "totalcount",
    "total_results",
    "totalresults",
    "total_items",
    "totalitems",
    "count",
];
/// Response fields with the number of pages.
const PAGES_FIELDS: [&str; 7] = [
    "total_pages",
    "totalpages",
    "pages",
    "page_count",
    "pagecount",
    "last_page",
    "lastpage",
];

/// A paginator in dlt's `rest_api` terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Paginator {
    /// Everything in one response.
    SinglePage,
    /// `Link: <...>; rel="next"`.
    HeaderLink,
    /// The next page's URL in the body.
    NextUrl {
        /// Where.
        path: String,
    },
    /// A cursor from the body, sent back as a parameter.
    Cursor {
        /// The parameter.
        param: String,
        /// Where the cursor is.
        path: String,
        /// A boolean that is false on the last page.
        has_more: Option<String>,
    },
    /// Offset and limit.
    Offset {
        /// The offset parameter.
        param: String,
        /// The limit parameter.
        limit_param: String,
        /// Records per page.
        limit: u64,
        /// Where the total is.
        total_path: Option<String>,
    },
    /// A page number.
    PageNumber {
        /// The page parameter.
        param: String,
        /// The first page's number.
        start: u64,
        /// Where the number of pages is.
        total_path: Option<String>,
    },
}

/// The paginator chosen, why, and a page size parameter to send with it.
#[derive(Debug, Clone)]
pub struct Paging {
    /// The paginator.
    pub paginator: Paginator,
    /// Why: the parameters, fields or headers that decided it.
    pub why: String,
    /// Whether the description leaves no doubt.
    pub sure: bool,
    /// A page size parameter and its value, with why that value.
    pub page_size: Option<(String, u64, String)>,
    /// The query parameters the paginator sets, which are not the user's to fill.
    pub params_used: Vec<String>,
}

/// The paginator of `op`, whose records are `records` in a response of `schema`.
pub fn detect<'a>(
    desc: &'a Description,
    op: &Operation<'a>,
    schema: Option<Node<'a>>,
    records: &Records<'a>,
) -> Paging {
    let query: Vec<&Param<'a>> = op.params.iter().filter(|p| p.location == "query").collect();
    let find_param = |names: &[&str]| -> Option<&Param<'a>> {
        names
            .iter()
            .find_map(|n| query.iter().copied().find(|p| lower(&p.name) == *n))
    };
    let body = schema.filter(|s| is(desc, *s, "object"));
    let field = |names: &[&str], want: &dyn Fn(Node<'a>) -> bool| -> Option<String> {
        let body = body?;
        find_field(
            desc,
            body,
            &|name, node| names.contains(&lower(name).as_str()) && want(node),
            3,
        )
        .map(|(path, _)| path)
    };
    let size = find_param(&SIZE_PARAMS).map(|p| page_size(desc, p));
    let paging = |paginator, why: String, sure, used: Vec<String>| Paging {
        paginator,
        why,
        sure,
        page_size: size.clone(),
        params_used: used,
    };
    let scalar = |n: Node<'a>| !is(desc, n, "object") && !is(desc, n, "array");
    let boolean = |n: Node<'a>| is(desc, n, "boolean");
    let number = |n: Node<'a>| is(desc, n, "integer") || is(desc, n, "number");
    let has_more = field(&HAS_MORE_FIELDS, &boolean);
    let size_name = size.as_ref().map(|(n, _, _)| n.clone());
    let with_size = |mut used: Vec<String>| {
        used.extend(size_name.clone());
        used
    };

    if op
        .response_headers()
        .iter()
        .any(|h| h.eq_ignore_ascii_case("link"))
    {
        return paging(
            Paginator::HeaderLink,
            "the response declares a `Link` header".into(),
            true,
            with_size(vec![]),
        );
    }
    if let Some(param) = find_param(&CURSOR_PARAMS) {
        let own = lower(&param.name);
        let cursor = field(&[own.as_str()], &scalar).or_else(|| field(&CURSOR_FIELDS, &scalar));
        if let Some(path) = cursor {
            let why = format!("query `{}` takes the response's `{path}`", param.name);
            let paginator = Paginator::Cursor {
                param: param.name.clone(),
                path,
                has_more,
            };
            return paging(paginator, why, true, with_size(vec![param.name.clone()]));
        }
        // Stripe's style: the cursor is the last record's id, `has_more` says when to stop.
        let item_id = records
            .item
            .and_then(|item| json_schema::property(desc, item, "id"));
        if own == "starting_after" && item_id.is_some() {
            let list = records.selector.clone().unwrap_or_else(|| "$".into());
            let path = format!("{list}[-1].id");
            let why = format!(
                "query `{}` takes the last record's `id`{}",
                param.name,
                has_more
                    .as_ref()
                    .map(|h| format!(", `{h}` says whether more follow"))
                    .unwrap_or_default()
            );
            let paginator = Paginator::Cursor {
                param: param.name.clone(),
                path,
                has_more,
            };
            return paging(paginator, why, true, with_size(vec![param.name.clone()]));
        }
    }
    // A page token the response names after its parameter: Stripe's search `page` and
    // `next_page`.
    for p in query
        .iter()
        .filter(|p| p.schema.is_some_and(|s| is(desc, s, "string")))
    {
        let next = format!("next_{}", lower(&p.name));
        if let Some(path) = field(&[next.as_str()], &scalar) {
            let why = format!("query `{}` takes the response's `{path}`", p.name);
            let paginator = Paginator::Cursor {
                param: p.name.clone(),
                path,
                has_more: has_more.clone(),
            };
            return paging(paginator, why, true, with_size(vec![p.name.clone()]));
        }
    }
    let is_url = |n: Node<'a>| {
        is(desc, n, "string") || json_schema::format(desc, n).is_some_and(|f| f.starts_with("uri"))
    };
    if let Some(path) = field(&NEXT_URL_FIELDS, &is_url) {
        let why = format!("the response's `{path}` holds the next page's URL");
        return paging(Paginator::NextUrl { path }, why, true, with_size(vec![]));
    }
    if let (Some(offset), Some((limit_param, limit, _))) =
        (find_param(&OFFSET_PARAMS), size.clone())
    {
        let total_path = field(&TOTAL_FIELDS, &number);
        let why = format!(
            "query `{}` and `{limit_param}`{}",
            offset.name,
            total_path
                .as_ref()
                .map(|t| format!(", the response's `{t}` is the total"))
                .unwrap_or_else(|| ", no total in the response: stops at a short page".into())
        );
        let paginator = Paginator::Offset {
            param: offset.name.clone(),
            limit_param: limit_param.clone(),
            limit,
            total_path,
        };
        let mut p = paging(paginator, why, true, vec![offset.name.clone(), limit_param]);
        // The limit travels in the paginator.
        p.page_size = None;
        return p;
    }
    if let Some(page) = find_param(&PAGE_PARAMS) {
        let total_path = field(&PAGES_FIELDS, &number);
        let start = page
            .schema
            .and_then(|s| desc.follow(s))
            .and_then(|s| s.value.get("minimum").or_else(|| s.value.get("default")))
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let why = format!(
            "query `{}`{}",
            page.name,
            total_path
                .as_ref()
                .map(|t| format!(", the response's `{t}` is the number of pages"))
                .unwrap_or_else(|| ", no page count in the response: stops at an empty page".into())
        );
        let paginator = Paginator::PageNumber {
            param: page.name.clone(),
            start,
            total_path,
        };
        return paging(paginator, why, true, with_size(vec![page.name.clone()]));
    }
    let mut single = paging(
        Paginator::SinglePage,
        "no paging parameter, cursor field or `Link` header in the description".into(),
        false,
        with_size(vec![]),
    );
    // One page of at most this many: what lies past it would not load, and nothing says so.
    if let Some((_, _, why)) = &mut single.page_size {
        why.push_str("; with one page, records past it are not loaded (unconfirmed)");
    }
    single
}

/// The page size to ask for: the parameter's maximum (up to 1,000), else its default, else 100.
fn page_size(desc: &Description, p: &Param<'_>) -> (String, u64, String) {
    let schema = p.schema.and_then(|s| desc.follow(s));
    let get = |k: &str| schema.and_then(|s| s.value.get(k)).and_then(Value::as_u64);
    let (size, why) = match (get("maximum"), get("default")) {
        (Some(max), _) if (1..=1000).contains(&max) => (max, "its maximum"),
        (_, Some(default)) if default > 0 => (default, "its default"),
        _ => (100, "the description gives no maximum"),
    };
    (p.name.clone(), size, format!("page size: {why}"))
}

/// `name` lower-cased, for matching names however an API cases them.
fn lower(name: &str) -> String {
    name.to_ascii_lowercase()
}

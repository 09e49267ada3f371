//! Dependent resources' `{resources.<parent>.<field>}` references: each names a resource of the
//! same source, a resource has at most one parent, and no resources depend on each other in a
//! circle (none of them could run first).

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use serde_json::Value;

use super::errors::{FieldSeg, Problem, did_you_mean};
use super::loader::ParsedResource;
use crate::source::rest::dependent::parent_refs;

/// Problems of the source's references between resources, at paths under its `resources:`.
pub fn dependency_problems(resources: &[ParsedResource]) -> Vec<Problem> {
    let parents: Vec<BTreeSet<String>> = resources
        .iter()
        .map(|r| {
            let ep = r.config.effective_endpoint();
            parent_refs(&ep).into_iter().map(|p| p.resource).collect()
        })
        .collect();
    // A set, not a search of the list per reference: a source may have thousands of resources.
    let names: HashSet<&str> = resources.iter().map(|r| r.config.name.as_str()).collect();
    let mut out = Vec::new();
    for (res, parents) in resources.iter().zip(&parents) {
        let at = |parent: &str| {
            let mut path = vec![FieldSeg::Index(res.index)];
            path.extend(reference_at(&res.raw, parent).unwrap_or_default());
            path
        };
        if parents.len() > 1 {
            let list = parents.iter().cloned().collect::<Vec<_>>().join(", ");
            let first = parents
                .iter()
                .next()
                .map(String::as_str)
                .unwrap_or_default();
            out.push(Problem {
                path: at(first),
                message: format!(
                    "depends on several resources ({list}); only one parent is allowed"
                ),
                hint: Some("split it into one resource per parent".into()),
            });
        }
        for parent in parents {
            if parent == &res.config.name {
                out.push(Problem {
                    path: at(parent),
                    message: "refers to itself in `{resources....}`".into(),
                    hint: Some("a resource can only use the records of another resource".into()),
                });
            } else if !names.contains(parent.as_str()) {
                let names = resources.iter().map(|r| r.config.name.as_str());
                out.push(Problem {
                    path: at(parent),
                    message: format!(
                        "refers to resource `{parent}`, which this source does not have"
                    ),
                    hint: did_you_mean(parent, names),
                });
            }
        }
    }
    out.extend(circles(resources, &parents));
    out.extend(deletes_under_incremental(resources, &parents));
    out
}

/// A resource that detects deletes by absence below an incremental parent: it runs only for
/// the parent records that changed, so the children of every other one would be absent.
fn deletes_under_incremental(
    resources: &[ParsedResource],
    parents: &[BTreeSet<String>],
) -> Vec<Problem> {
    let by_name: BTreeMap<&str, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.config.name.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for (i, res) in resources.iter().enumerate() {
        if res.config.deletes.is_none() {
            continue;
        }
        // Up the chain of parents; `seen` stops at a circle, reported on its own.
        let (mut at, mut seen) = (i, HashSet::from([i]));
        while let Some(&parent) = parents[at]
            .iter()
            .next()
            .and_then(|p| by_name.get(p.as_str()))
        {
            if !seen.insert(parent) {
                break;
            }
            let ancestor = &resources[parent].config;
            if ancestor.effective_endpoint().incremental.is_some() {
                out.push(Problem {
                    path: vec![FieldSeg::Index(res.index), FieldSeg::Key("deletes".into())],
                    message: format!(
                        "cannot detect deletes below `{}`, which loads incrementally: only the \
                         changed parents' records come, so every other one's would be absent",
                        ancestor.name
                    ),
                    hint: Some("remove `deletes`, or the parent's `incremental`".into()),
                });
                break;
            }
            at = parent;
        }
    }
    out
}

/// One problem per circle of resources, at the reference of its first resource in the file.
fn circles(resources: &[ParsedResource], parents: &[BTreeSet<String>]) -> Vec<Problem> {
    let mut position = BTreeMap::new();
    for (i, r) in resources.iter().enumerate() {
        position.entry(r.config.name.as_str()).or_insert(i);
    }
    // Edges from a resource to the (other, existing) resources it depends on.
    let edges: Vec<Vec<usize>> = resources
        .iter()
        .zip(parents)
        .map(|(r, ps)| {
            ps.iter()
                .filter(|p| **p != r.config.name)
                .filter_map(|p| position.get(p.as_str()).copied())
                .collect()
        })
        .collect();
    let tangled = tangled(&edges);
    let mut reported = BTreeSet::new();
    let mut out = Vec::new();
    for start in 0..resources.len() {
        if !tangled[start] || reported.contains(&start) {
            continue;
        }
        let Some(circle) = shortest_circle(&edges, start) else {
            continue;
        };
        reported.extend(circle.iter().copied());
        let names: Vec<String> = circle
            .iter()
            .chain(std::iter::once(&start))
            .map(|&i| format!("`{}`", resources[i].config.name))
            .collect();
        let res = &resources[start];
        let first_parent = &resources[circle[1 % circle.len()]].config.name;
        let mut path = vec![FieldSeg::Index(res.index)];
        path.extend(reference_at(&res.raw, first_parent).unwrap_or_default());
        out.push(Problem {
            path,
            message: format!(
                "resources {} depend on each other in a circle, so none of them can run first",
                names.join(" → ")
            ),
            hint: Some("remove one of the `{resources.<name>.<field>}` references".into()),
        });
    }
    out
}

/// Which resources may lie on a circle: those left once every resource that depends on none of
/// the others left, and then every one that none of the others left depends on, is taken away.
/// Every other resource would search for a circle through it in vain, and each search can walk
/// the whole source: a valid source of thousands of chained resources would take quadratic
/// time. This takes time linear in resources and references.
fn tangled(edges: &[Vec<usize>]) -> Vec<bool> {
    let mut dependents = vec![Vec::new(); edges.len()];
    for (child, parents) in edges.iter().enumerate() {
        for &parent in parents {
            dependents[parent].push(child);
        }
    }
    let mut left = vec![true; edges.len()];
    peel(&mut left, edges, &dependents);
    peel(&mut left, &dependents, edges);
    left
}

/// Takes away from `left`, until none is left, each node without an edge in `out` to a node
/// left (Kahn's algorithm); `back` holds the same edges, reversed.
fn peel(left: &mut [bool], out: &[Vec<usize>], back: &[Vec<usize>]) {
    let mut edges_left: Vec<usize> = out
        .iter()
        .map(|targets| targets.iter().filter(|&&t| left[t]).count())
        .collect();
    let mut ready: Vec<usize> = (0..out.len())
        .filter(|&i| left[i] && edges_left[i] == 0)
        .collect();
    while let Some(node) = ready.pop() {
        left[node] = false;
        for &from in &back[node] {
            if left[from] {
                edges_left[from] -= 1;
                if edges_left[from] == 0 {
                    ready.push(from);
                }
            }
        }
    }
}

/// The resources of the shortest circle through `start`, beginning with it, if there is one.
fn shortest_circle(edges: &[Vec<usize>], start: usize) -> Option<Vec<usize>> {
    let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in &edges[node] {
            if next == start {
                let mut circle = vec![node];
                while let Some(&prev) = came_from.get(circle.last()?) {
                    circle.push(prev);
                }
                circle.reverse();
                return Some(circle);
            }
            if next != start && !came_from.contains_key(&next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Path of the first string in `raw` that refers to `parent`'s records.
fn reference_at(raw: &Value, parent: &str) -> Option<Vec<FieldSeg>> {
    let needle = format!("{{resources.{parent}.");
    match raw {
        Value::String(s) => s.contains(&needle).then(Vec::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let mut path = reference_at(v, parent)?;
            path.insert(0, FieldSeg::Index(i));
            Some(path)
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let mut path = reference_at(v, parent)?;
            path.insert(0, FieldSeg::Key(k.clone()));
            Some(path)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::errors::render_path;
    use serde_json::json;

    fn child(name: &str, parent: &str) -> Value {
        json!({"name": name, "endpoint": {"path": format!("x/{{resources.{parent}.id}}")}})
    }

    #[test]
    fn a_circle_is_reported_once_at_its_first_reference() {
        let resources = ParsedResource::all_of(vec![
            json!({"name": "root"}),
            child("a", "c"),
            child("b", "a"),
            child("c", "b"),
            child("d", "a"),
        ]);
        let found = dependency_problems(&resources);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(render_path(&found[0].path), "[1].endpoint.path");
        assert!(
            found[0].message.contains("`a` → `c` → `b` → `a`"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn only_resources_between_circles_are_searched() {
        // Chains hang above and below the circle b → c → d → b, and the circle e ⇄ f depends
        // on it: only the circles and what joins them are left, however long the chains.
        let edges = vec![
            vec![],     // a
            vec![3, 0], // b: on d, a
            vec![1],    // c: on b
            vec![2],    // d: on c
            vec![5, 3], // e: on f, d
            vec![4],    // f: on e
            vec![4],    // g: on e
        ];
        let left = tangled(&edges);
        let left: Vec<usize> = (0..edges.len()).filter(|&i| left[i]).collect();
        assert_eq!(left, [1, 2, 3, 4, 5]);
        let chain: Vec<Vec<usize>> = (0..10_000_usize)
            .map(|i| i.checked_sub(1).into_iter().collect())
            .collect();
        assert!(!tangled(&chain).contains(&true));
    }

    #[test]
    fn two_resources_that_need_each_other_are_a_circle() {
        let resources = ParsedResource::all_of(vec![child("a", "b"), child("b", "a")]);
        let found = dependency_problems(&resources);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("`a` → `b` → `a`"));
    }

    #[test]
    fn unknown_parents_point_at_the_reference() {
        let resources = ParsedResource::all_of(vec![
            json!({"name": "users"}),
            json!({"name": "posts", "params": {"user": "{resources.user.id}"}}),
        ]);
        let found = dependency_problems(&resources);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(render_path(&found[0].path), "[1].params.user");
        assert_eq!(found[0].hint.as_deref(), Some("did you mean `users`?"));
    }
}

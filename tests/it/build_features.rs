//! The binary and the tests are compiled from the same crates with the same features. Cargo
//! turns on a dev-dependency's features in the crates it shares with the binary only for `cargo
//! test`; had they differed, the tests would exercise a build users never run (serde_json's
//! float parsing once did), and a first `cargo test` would compile arrow and DataFusion again.

use std::collections::BTreeMap;
use std::process::Command;

/// Each package of the graph `cargo tree` prints with `edges`, with its features.
fn features(edges: &str) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["--manifest-path", manifest, "--edges", edges])
        .args(["--format", "{p}|{f}"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree --edges {edges}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (package, features) = line.trim_end_matches(" (*)").split_once('|')?;
            Some((package.to_owned(), features.to_owned()))
        })
        .collect()
}

#[test]
fn binary_and_tests_share_every_crate_and_feature() {
    let binary = features("normal,build");
    let tests = features("normal,build,dev");
    assert!(binary.len() > 100, "too few packages: {binary:?}");
    let differing: Vec<String> = binary
        .iter()
        .filter(|(package, features)| tests.get(*package) != Some(*features))
        .map(|(package, features)| {
            let in_tests = tests.get(package).map_or("(absent)", String::as_str);
            format!("{package}: binary [{features}], tests [{in_tests}]")
        })
        .collect();
    assert!(
        differing.is_empty(),
        "add the tests' features to Cargo.toml's unifying dependencies:\n{}",
        differing.join("\n")
    );
}

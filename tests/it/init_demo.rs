//! `dango init` and `dango demo` through the real binary.

use crate::support;

#[test]
fn init_scaffolds_the_tutorial_layout_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    support::run_dango(dir.path(), &["init", "my-project"]).assert_ok();
    let root = dir.path().join("my-project");
    for file in [
        ".dango/sources.yml",
        ".dlt/secrets.toml",
        ".env",
        ".gitignore",
        "custom_sources/__init__.py",
    ] {
        assert!(root.join(file).is_file(), "{file} missing");
    }
    assert!(root.join("data").is_dir());
    let ignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l == ".env") && ignore.lines().any(|l| l == ".dlt/secrets.toml")
    );
    // The scaffolded example is valid as it stands.
    support::run_dango(&root, &["validate"]).assert_ok();

    let again = support::run_dango(dir.path(), &["init", "my-project"]);
    again.assert_failed();
    assert!(again.stderr().contains("--force"), "{}", again.stderr());
    support::run_dango(dir.path(), &["init", "my-project", "--force"]).assert_ok();
}

#[test]
fn demo_runs_end_to_end_and_shows_what_landed() {
    let dir = tempfile::tempdir().unwrap();
    let run = support::run_dango(dir.path(), &["demo", "--dir", "demo"]);
    run.assert_ok();
    let out = run.stdout();
    assert!(out.contains("raw_my_api.orders: 40 rows"), "{out}");
    assert!(out.contains("raw_my_api.users: 25 rows"), "{out}");
    assert!(out.contains("raw_my_api.orders__line_items"), "{out}");
    assert!(dir.path().join("demo/data/warehouse.duckdb").is_file());
    // The next step needs nothing installed: `dango query` reads the warehouse.
    assert!(out.contains("Explore it: dango query --project"), "{out}");
}

/// Each shell's completion script, generated from the parser's own definitions: it knows every
/// command and flag, and bash reads its script without a syntax error.
#[test]
fn completions_cover_every_command_in_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _dango"),
        ("zsh", "#compdef dango"),
        ("fish", "complete -c dango"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = support::run_dango(dir.path(), &["completions", shell]);
        run.assert_ok();
        let script = run.stdout();
        assert!(script.contains(marker), "{shell}: {script}");
        for word in [
            "sync", "window", "backfill", "validate", "history", "project",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
        if shell == "bash" {
            let file = dir.path().join("dango.bash");
            std::fs::write(&file, &script).unwrap();
            let checked = std::process::Command::new("bash")
                .arg("-n")
                .arg(&file)
                .output()
                .unwrap();
            assert!(checked.status.success(), "{checked:?}");
        }
    }
    let bad = support::run_dango(dir.path(), &["completions", "tcsh"]);
    bad.assert_failed();
    assert!(bad.stderr().contains("possible values"), "{}", bad.stderr());
}

//! Which Python runs a source: `python:` in its `dlt_native` block, else `DANGO_PYTHON`, else the
//! project's `.venv`, else the active virtual environment (`VIRTUAL_ENV`), else `python3` on
//! `PATH`. The first that is set (or exists) is used, so a wrong setting is reported, not skipped.

use std::path::{Path, PathBuf};

/// The interpreter chosen for a source, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The executable.
    pub path: PathBuf,
    /// Which rule chose it (`python:`, `DANGO_PYTHON`, `.venv`, `VIRTUAL_ENV`, `PATH`).
    pub chosen_by: &'static str,
}

/// No interpreter could be found; lists what was tried.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "no Python interpreter found (tried {tried}); install Python 3 with dlt, or set `python:` in the \
     source's `dlt_native` block (or DANGO_PYTHON) to its path"
)]
pub struct NoPython {
    /// What was tried, in order.
    pub tried: String,
}

/// The interpreter for a source whose `dlt_native.python` is `configured`, in `project_root`.
pub fn find(configured: Option<&str>, project_root: &Path) -> Result<Interpreter, NoPython> {
    let mut tried = Vec::new();
    let explicit = [
        ("python:", configured.map(str::to_string)),
        ("DANGO_PYTHON", std::env::var("DANGO_PYTHON").ok()),
    ];
    for (rule, value) in explicit {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let path = resolve(&value, project_root);
        return match path {
            Some(path) => Ok(Interpreter {
                path,
                chosen_by: rule,
            }),
            None => Err(NoPython {
                tried: format!("{rule} {value}, which does not exist"),
            }),
        };
    }
    let venv = project_root.join(".venv").join("bin").join("python");
    tried.push(venv.display().to_string());
    if venv.is_file() {
        return Ok(Interpreter {
            path: venv,
            chosen_by: ".venv",
        });
    }
    if let Ok(active) = std::env::var("VIRTUAL_ENV") {
        let path = Path::new(&active).join("bin").join("python");
        tried.push(path.display().to_string());
        if path.is_file() {
            return Ok(Interpreter {
                path,
                chosen_by: "VIRTUAL_ENV",
            });
        }
    }
    tried.push("python3 on PATH".into());
    match on_path("python3") {
        Some(path) => Ok(Interpreter {
            path,
            chosen_by: "PATH",
        }),
        None => Err(NoPython {
            tried: tried.join(", "),
        }),
    }
}

/// `value` as an executable: a path (relative to the project) if it has a `/`, else a name
/// looked up on `PATH`.
fn resolve(value: &str, project_root: &Path) -> Option<PathBuf> {
    if value.contains('/') {
        let path = project_root.join(value);
        path.is_file().then_some(path)
    } else {
        on_path(value)
    }
}

/// The first file named `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_interpreter_that_does_not_exist_is_reported_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(Some("venv/bin/python"), dir.path()).unwrap_err();
        assert!(err.to_string().contains("python: venv/bin/python"), "{err}");
    }

    #[test]
    fn the_project_venv_comes_before_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join(".venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("python"), "").unwrap();
        if std::env::var("DANGO_PYTHON").is_err() {
            let found = find(None, dir.path()).unwrap();
            assert_eq!(found.chosen_by, ".venv");
            assert_eq!(found.path, bin.join("python"));
        }
    }
}

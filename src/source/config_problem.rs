//! What a config's validation finds: a [`Problem`] at a [`FieldSeg`] path relative to the value
//! checked. Each config type validates itself beside its struct (a paginator, an auth, a
//! resource) and returns these; `project::loader` places them under the path it read the value
//! from and finds their line. They live here, not in `project/`, so that `source/` can report
//! them without depending on the project.

/// One step of a path into the config document: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldSeg {
    /// A mapping key, e.g. `rest_api`.
    Key(String),
    /// A list position, e.g. the `1` of `resources[1]`.
    Index(usize),
}

/// A path of mapping keys: `["rest_api", "retry"]` → `rest_api.retry`.
pub fn keys(path: &[&str]) -> Vec<FieldSeg> {
    path.iter()
        .map(|k| FieldSeg::Key((*k).to_string()))
        .collect()
}

/// Renders a path the way users write it: `rest_api.resources[1].pagination`.
pub fn render_path(path: &[FieldSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            FieldSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            FieldSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A problem a validation rule found, at a path relative to what the rule was given (a source,
/// a resource, a paginator); the loader places it in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, relative to the checked item, e.g. `[retry, timeout_seconds]`.
    pub path: Vec<FieldSeg>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem at `path` (mapping keys only).
    pub fn at(path: &[&str], message: impl Into<String>) -> Self {
        Self {
            path: keys(path),
            message: message.into(),
            hint: None,
        }
    }

    /// The same problem, with what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same problem, placed under `prefix`.
    pub fn under(mut self, prefix: &[FieldSeg]) -> Self {
        self.path.splice(0..0, prefix.iter().cloned());
        self
    }
}

/// `problems`, each placed under `prefix`.
pub fn all_under(problems: Vec<Problem>, prefix: &[FieldSeg]) -> impl Iterator<Item = Problem> {
    problems.into_iter().map(move |p| p.under(prefix))
}

/// Whether a written name or parameter is empty once its spaces are dropped.
pub fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_yaml_users_write_them() {
        let p = [
            FieldSeg::Key("rest_api".into()),
            FieldSeg::Key("resources".into()),
            FieldSeg::Index(1),
            FieldSeg::Key("pagination".into()),
        ];
        assert_eq!(render_path(&p), "rest_api.resources[1].pagination");
    }
}

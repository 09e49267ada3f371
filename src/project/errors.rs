//! Configuration problems, collected so the user sees every one at once, each naming the file,
//! the source, the field and (where it can be found) the line.

use std::fmt;
use std::path::PathBuf;

pub use crate::source::config_problem::{FieldSeg, Problem, render_path};

/// A single problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, when it could be located.
    pub line: Option<usize>,
    /// Name of the source the problem belongs to, if any.
    pub source: Option<String>,
    /// Path of the offending field inside the file, e.g. `sources[0].rest_api.base_url`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it, e.g. a did-you-mean.
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(source) = &self.source {
            write!(f, "source `{source}`: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in a project's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} configuration problem{} found:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

/// Suggests the closest of `candidates` to a misspelled `word`, if one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            did_you_mean("enabeld", ["name", "enabled", "type"]).as_deref(),
            Some("did you mean `enabled`?")
        );
        assert_eq!(did_you_mean("zzz", ["name", "enabled"]), None);
    }
}

//! `${VAR}` substitution inside config strings, from the project's [`Credentials`].

use serde_json::Value;

use super::credentials::Credentials;
use super::errors::FieldSeg;
use crate::source::SecretOrigin;

/// A `${VAR}` that no credential store defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    /// Where in the source's config the reference is.
    pub path: Vec<FieldSeg>,
    /// The variable's name.
    pub name: String,
}

/// A `${VAR}` that was substituted: where in the config, and where its value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedVariable {
    /// Where in the source's config the reference is.
    pub path: Vec<FieldSeg>,
    /// The variable and its store.
    pub origin: SecretOrigin,
}

/// What substituting the `${VAR}`s of a config found.
#[derive(Debug, Default)]
pub struct Interpolation {
    /// The variables no store defines.
    pub unset: Vec<UnsetVariable>,
    /// The variables substituted, in strings that had none unset.
    pub used: Vec<UsedVariable>,
}

/// Replaces every `${VAR}` in the strings of `value`; returns the variables that are not set.
/// Strings with unset variables are left untouched, so nothing partial is ever sent.
pub fn interpolate(value: &mut Value, source: &str, creds: &Credentials) -> Vec<UnsetVariable> {
    interpolate_traced(value, source, creds).unset
}

/// Like [`interpolate`], also saying where each substituted variable was found.
pub fn interpolate_traced(value: &mut Value, source: &str, creds: &Credentials) -> Interpolation {
    let mut out = Interpolation::default();
    walk(value, &mut Vec::new(), &mut |path, text| {
        let mut origins = Vec::new();
        let substituted = substitute(text, |name| {
            let secret = creds.secret(source, name)?;
            origins.push(secret.origin);
            Some(secret.value)
        });
        match substituted {
            Ok(new) => {
                out.used
                    .extend(origins.into_iter().map(|origin| UsedVariable {
                        path: path.to_vec(),
                        origin,
                    }));
                Some(new)
            }
            Err(names) => {
                out.unset
                    .extend(names.into_iter().map(|name| UnsetVariable {
                        path: path.to_vec(),
                        name,
                    }));
                None
            }
        }
    });
    out
}

fn walk(
    value: &mut Value,
    path: &mut Vec<FieldSeg>,
    f: &mut impl FnMut(&[FieldSeg], &str) -> Option<String>,
) {
    match value {
        Value::String(s) if s.contains("${") => {
            if let Some(new) = f(path, s) {
                *s = new;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(FieldSeg::Index(i));
                walk(item, path, f);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                path.push(FieldSeg::Key(k.clone()));
                walk(v, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `text` with each `${NAME}` replaced by `lookup(NAME)`; the unset names if any is missing.
/// `$${` escapes a literal `${`.
pub fn substitute(
    text: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        if rest[..pos].ends_with('$') {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            // An unterminated `${` is literal text, not a reference.
            out.push_str(&rest[pos..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => missing.push(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "abc".to_string())
    }

    #[test]
    fn replaces_inside_strings() {
        assert_eq!(substitute("Bearer ${TOKEN}", lookup).unwrap(), "Bearer abc");
        assert_eq!(substitute("${TOKEN}-${TOKEN}", lookup).unwrap(), "abc-abc");
        assert_eq!(substitute("no refs", lookup).unwrap(), "no refs");
    }

    #[test]
    fn unset_variables_are_all_named() {
        assert_eq!(
            substitute("${A} ${TOKEN} ${B}", lookup).unwrap_err(),
            vec!["A".to_string(), "B".to_string()]
        );
    }

    #[test]
    fn substituted_variables_are_traced_to_their_store() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "TOKEN=abc\n").unwrap();
        let creds = Credentials::from_parts(Default::default(), dir.path()).unwrap();
        let mut v = serde_json::json!({
            "headers": {"Authorization": "Bearer ${TOKEN}"},
            "base_url": "${UNSET}/${TOKEN}",
        });
        let found = interpolate_traced(&mut v, "shop", &creds);
        assert_eq!(found.used.len(), 1, "{:?}", found.used);
        let path = super::super::errors::render_path(&found.used[0].path);
        assert_eq!(path, "headers.Authorization");
        assert_eq!(found.used[0].origin.to_string(), "TOKEN (from .env)");
        assert_eq!(found.unset.len(), 1);
        assert_eq!(found.unset[0].name, "UNSET");
        assert_eq!(v["headers"]["Authorization"], "Bearer abc");
    }

    #[test]
    fn escapes_and_unterminated_refs_stay_literal() {
        assert_eq!(substitute("$${TOKEN}", lookup).unwrap(), "${TOKEN}");
        assert_eq!(substitute("a ${TOKEN", lookup).unwrap(), "a ${TOKEN");
    }
}

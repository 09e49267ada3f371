//! Where secrets come from, in dlt's order: the process environment, then the project's `.env`,
//! then `.dlt/secrets.toml`. Every value handed out is remembered by a [`Redactor`] so it can be
//! scrubbed from anything Dango prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Problems reading a credentials file.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// `.env` exists but is not `KEY=value` lines.
    #[error(
        "{path}: cannot read it as KEY=value lines ({reason}); fix or remove the line it names"
    )]
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// The parser's message (never a value).
        reason: String,
    },
    /// `.dlt/secrets.toml` exists but is not valid TOML.
    #[error("{path}: not valid TOML ({reason})")]
    SecretsToml {
        /// The `secrets.toml` file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
}

/// The credential stores of one project, looked up by variable name.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    env: BTreeMap<String, String>,
    dotenv: BTreeMap<String, String>,
    secrets: toml::Table,
    redactor: Redactor,
}

impl Credentials {
    /// Reads the environment, `<project>/.env` and `<project>/.dlt/secrets.toml` (files optional).
    pub fn load(project_root: &Path) -> Result<Self, CredentialsError> {
        Self::from_parts(std::env::vars().collect(), project_root)
    }

    /// Like [`Credentials::load`], with the environment given explicitly.
    pub fn from_parts(
        env: BTreeMap<String, String>,
        project_root: &Path,
    ) -> Result<Self, CredentialsError> {
        let dotenv_path = project_root.join(".env");
        let mut dotenv = BTreeMap::new();
        if dotenv_path.exists() {
            let iter =
                dotenvy::from_path_iter(&dotenv_path).map_err(|e| CredentialsError::DotEnv {
                    path: dotenv_path.clone(),
                    reason: e.to_string(),
                })?;
            for item in iter {
                let (k, v) = item.map_err(|e| CredentialsError::DotEnv {
                    path: dotenv_path.clone(),
                    reason: describe_dotenv_error(&e),
                })?;
                dotenv.insert(k, v);
            }
        }
        let secrets_path = project_root.join(".dlt").join("secrets.toml");
        let secrets = match std::fs::read_to_string(&secrets_path) {
            Ok(text) => text
                .parse::<toml::Table>()
                .map_err(|e| CredentialsError::SecretsToml {
                    path: secrets_path.clone(),
                    // TOML errors quote the offending line, which may hold a secret.
                    reason: e.message().to_string(),
                })?,
            Err(_) => toml::Table::new(),
        };
        Ok(Self {
            env,
            dotenv,
            secrets,
            redactor: Redactor::default(),
        })
    }

    /// The value of `${name}` for source `source`: environment, `.env`, then `secrets.toml`
    /// (top-level `name`, then `[sources.<source>] name` in lower case). Remembered for redaction.
    pub fn lookup(&self, source: &str, name: &str) -> Option<String> {
        let found = self
            .env
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .cloned()
            .or_else(|| self.secrets_toml_value(source, name));
        if let Some(value) = &found {
            self.redactor.add(value);
        }
        found
    }

    /// A secret dlt would inject into source `source`'s `field` argument: environment or `.env`
    /// `SOURCES__<SOURCE>__<FIELD>`, else `field` under `[sources.<source>]` in secrets.toml.
    /// Remembered for redaction.
    pub fn lookup_field(&self, source: &str, field: &str) -> Option<String> {
        let env_name = format!(
            "SOURCES__{}__{}",
            source.to_uppercase(),
            field.to_uppercase()
        );
        let found = self
            .env
            .get(&env_name)
            .or_else(|| self.dotenv.get(&env_name))
            .cloned()
            .or_else(|| {
                let section = self.secrets.get("sources")?.get(source)?;
                section.get(field)?.as_str().map(str::to_string)
            });
        if let Some(value) = &found {
            self.redactor.add(value);
        }
        found
    }

    fn secrets_toml_value(&self, source: &str, name: &str) -> Option<String> {
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Float(f) => Some(f.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        if let Some(v) = self.secrets.get(name).and_then(scalar) {
            return Some(v);
        }
        let section = self.secrets.get("sources")?.get(source)?;
        section
            .get(name)
            .or_else(|| section.get(name.to_lowercase()))
            .and_then(scalar)
    }

    /// The redactor that knows every value handed out so far.
    pub fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }
}

fn describe_dotenv_error(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(_, index) => format!("syntax error at character {index}"),
        dotenvy::Error::Io(io) => io.to_string(),
        _ => "unreadable".to_string(),
    }
}

/// Replaces known secret values with `***` in text that is about to be shown or logged: each
/// secret in every form Dango sends it or an API may echo it back in (raw, URL-encoded,
/// JSON-escaped, and the base64 of `user:password` of HTTP basic auth).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Values shorter than this are not redacted: they would mangle ordinary text.
    const MIN_LEN: usize = 3;

    /// Remembers `secret`, in all its forms, so it is scrubbed from now on.
    pub fn add(&self, secret: &str) {
        if secret.len() < Self::MIN_LEN {
            return;
        }
        self.add_forms(secret_forms(secret));
    }

    /// Remembers the credentials of HTTP basic auth: the password, and the base64 of
    /// `user:password` that goes on the wire.
    pub fn add_basic(&self, user: &str, password: &str) {
        self.add(password);
        if password.len() >= Self::MIN_LEN {
            self.add_forms(basic_forms(user, password));
        }
    }

    fn add_forms(&self, forms: Vec<String>) {
        if let Ok(mut secrets) = self.secrets.write() {
            for form in forms {
                if !secrets.contains(&form) {
                    secrets.push(form);
                }
            }
            // Longest first, so a secret containing another is replaced whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Ok(secrets) = self.secrets.read() {
            for s in secrets.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "***");
                }
            }
        }
        out
    }
}

/// `secret` as it is, and as it reads once put in a URL (as a query value, a path segment, a
/// password; `%XX` in either case), or in a JSON string.
fn secret_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    forms.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    let every_byte = percent_encode_all(secret);
    forms.push(lowercase_hex(&every_byte));
    forms.push(every_byte);
    if let Ok(mut url) = url::Url::parse("http://host/") {
        if url.set_password(Some(secret)).is_ok()
            && let Some(password) = url.password()
        {
            forms.push(password.to_string());
        }
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().push(secret);
        }
        forms.push(url.path().trim_start_matches('/').to_string());
    }
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json.trim_matches('"').to_string());
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The base64 of `user:password`, in the alphabets and paddings an API may echo it in.
fn basic_forms(user: &str, password: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let pair = format!("{user}:{password}");
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .map(|engine| engine.encode(&pair))
        .collect()
}

/// Every byte of `s` but ASCII letters, digits and `-._~` as `%XX`.
fn percent_encode_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` escapes with lower-case hex digits, as some servers echo them.
fn lowercase_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn environment_wins_over_dotenv_which_wins_over_secrets_toml() {
        let dir = project(&[
            (".env", "TOKEN=from-dotenv\nONLY_DOTENV=d\n"),
            (
                ".dlt/secrets.toml",
                "TOKEN = \"from-toml\"\n[sources.my_api]\napi_key = \"k-toml\"\n",
            ),
        ]);
        let env = BTreeMap::from([("TOKEN".to_string(), "from-env".to_string())]);
        let creds = Credentials::from_parts(env, dir.path()).unwrap();
        assert_eq!(creds.lookup("my_api", "TOKEN").as_deref(), Some("from-env"));
        assert_eq!(creds.lookup("my_api", "ONLY_DOTENV").as_deref(), Some("d"));
        assert_eq!(creds.lookup("my_api", "API_KEY").as_deref(), Some("k-toml"));
        assert_eq!(creds.lookup("other", "API_KEY"), None);
    }

    #[test]
    fn looked_up_values_are_redacted() {
        let dir = project(&[(".env", "TOKEN=s3cr3t-value\n")]);
        let creds = Credentials::from_parts(BTreeMap::new(), dir.path()).unwrap();
        creds.lookup("x", "TOKEN");
        let r = creds.redactor();
        assert_eq!(r.redact("Bearer s3cr3t-value!"), "Bearer ***!");
    }

    #[test]
    fn secrets_are_redacted_in_every_form_they_are_sent_in() {
        use base64::Engine;
        let r = Redactor::default();
        let secret = "p\u{e4}ss w/rd+&=\"x";
        r.add(secret);
        r.add_basic("alice", secret);
        let mut url = url::Url::parse("http://alice@api.test/a").unwrap();
        url.set_password(Some(secret)).unwrap();
        url.path_segments_mut().unwrap().push(secret);
        url.query_pairs_mut().append_pair("api_key", secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"));
        let json = serde_json::to_string(secret).unwrap();
        let text = format!(
            "{url} {secret} {b64} {json} {} {}",
            percent_encode_all(secret),
            lowercase_hex(&percent_encode_all(secret))
        );
        let shown = r.redact(&text);
        assert!(!shown.contains("ss w") && !shown.contains("ss%20w") && !shown.contains("ss+w"));
        assert!(!shown.contains(&b64) && !shown.contains(b64.trim_end_matches('=')));
        assert!(
            !shown.contains("%C3%A4") && !shown.contains("%c3%a4"),
            "{shown}"
        );
        assert!(
            shown.contains("alice") && shown.contains("api.test"),
            "{shown}"
        );
        assert_eq!(r.redact("nothing secret"), "nothing secret");
    }

    #[test]
    fn broken_secrets_toml_names_the_file() {
        let dir = project(&[(".dlt/secrets.toml", "api_key = \"unterminated\n")]);
        let err = Credentials::from_parts(BTreeMap::new(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("secrets.toml"), "{err}");
    }
}

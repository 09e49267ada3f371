//! Where secrets come from, in dlt's order: the process environment, then the project's `.env`,
//! then `.dlt/secrets.toml`. Every value handed out is remembered by a [`Redactor`] so it can be
//! scrubbed from anything Dango prints.

use crate::redact::Redactor;
use crate::source::{SecretOrigin, SecretStore};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// A value found in a credential store, with where it was found.
#[derive(Clone)]
pub struct Secret {
    /// The value (never shown).
    pub value: String,
    /// The variable and the store it came from.
    pub origin: SecretOrigin,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("value", &"***")
            .field("origin", &self.origin)
            .finish()
    }
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
    /// The variables of the project's `.env`, for a process Dango starts (which gets each one
    /// the environment does not set).
    pub fn dotenv(&self) -> Vec<(String, String)> {
        self.dotenv
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

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
        self.secret(source, name).map(|s| s.value)
    }

    /// Like [`Credentials::lookup`], with where the value was found, for naming a credential
    /// the API rejects.
    pub fn secret(&self, source: &str, name: &str) -> Option<Secret> {
        let found = self
            .in_env_or_dotenv(name)
            .or_else(|| self.secrets_toml_value(source, name));
        self.remember(found)
    }

    /// A secret dlt would inject into source `source`'s `field` argument: environment or `.env`
    /// `SOURCES__<SOURCE>__<FIELD>`, else `field` under `[sources.<source>]` in secrets.toml.
    /// Remembered for redaction.
    pub fn lookup_field(&self, source: &str, field: &str) -> Option<String> {
        self.field_secret(source, field).map(|s| s.value)
    }

    /// Like [`Credentials::lookup_field`], with where the value was found.
    pub fn field_secret(&self, source: &str, field: &str) -> Option<Secret> {
        let env_name = format!(
            "SOURCES__{}__{}",
            source.to_uppercase(),
            field.to_uppercase()
        );
        let found = self.in_env_or_dotenv(&env_name).or_else(|| {
            let section = self.secrets.get("sources")?.get(source)?;
            let value = section.get(field)?.as_str()?.to_string();
            let key = format!("[sources.{source}] {field}");
            Some(Secret {
                value,
                origin: SecretOrigin {
                    variable: key.clone(),
                    store: SecretStore::SecretsToml { key },
                },
            })
        });
        self.remember(found)
    }

    /// `name` from the environment, else from `.env`.
    fn in_env_or_dotenv(&self, name: &str) -> Option<Secret> {
        let (value, store) = match self.env.get(name) {
            Some(v) => (v, SecretStore::Environment),
            // `KEY=` with nothing is a line waiting to be filled in (`dango source add` writes
            // them), not an empty secret: the lookup goes on to secrets.toml, and unset is unset.
            None => (
                self.dotenv.get(name).filter(|v| !v.is_empty())?,
                SecretStore::DotEnv,
            ),
        };
        Some(Secret {
            value: value.clone(),
            origin: SecretOrigin {
                variable: name.to_string(),
                store,
            },
        })
    }

    fn remember(&self, found: Option<Secret>) -> Option<Secret> {
        if let Some(secret) = &found {
            self.redactor.add(&secret.value);
        }
        found
    }

    fn secrets_toml_value(&self, source: &str, name: &str) -> Option<Secret> {
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Float(f) => Some(f.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        let found = |value: String, key: String| Secret {
            value,
            origin: SecretOrigin {
                variable: name.to_string(),
                store: SecretStore::SecretsToml { key },
            },
        };
        if let Some(v) = self.secrets.get(name).and_then(scalar) {
            return Some(found(v, name.to_string()));
        }
        let section = self.secrets.get("sources")?.get(source)?;
        let lower = name.to_lowercase();
        let (key, value) = match section.get(name).and_then(scalar) {
            Some(v) => (name, v),
            None => (lower.as_str(), section.get(&lower).and_then(scalar)?),
        };
        Some(found(value, format!("[sources.{source}] {key}")))
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
    fn each_secret_says_where_it_was_found() {
        let dir = project(&[
            (
                ".env",
                "DOTENV_TOKEN=dotenv-value-9\nSOURCES__SHOP__PASSWORD=p\n",
            ),
            (
                ".dlt/secrets.toml",
                "TOP = \"t\"\n[sources.shop]\napi_key = \"k\"\ntoken = \"x\"\n",
            ),
        ]);
        let env = BTreeMap::from([("ENV_TOKEN".to_string(), "e".to_string())]);
        let creds = Credentials::from_parts(env, dir.path()).unwrap();
        let shown = |s: Option<Secret>| s.map(|s| s.origin.to_string()).unwrap_or_default();
        let cases = [
            (
                creds.secret("shop", "ENV_TOKEN"),
                "ENV_TOKEN (from the environment)",
            ),
            (
                creds.secret("shop", "DOTENV_TOKEN"),
                "DOTENV_TOKEN (from .env)",
            ),
            (creds.secret("shop", "TOP"), "TOP (from .dlt/secrets.toml)"),
            (
                creds.secret("shop", "API_KEY"),
                "API_KEY (from .dlt/secrets.toml, [sources.shop] api_key)",
            ),
            (
                creds.field_secret("shop", "token"),
                "[sources.shop] token (from .dlt/secrets.toml)",
            ),
            (
                creds.field_secret("shop", "password"),
                "SOURCES__SHOP__PASSWORD (from .env)",
            ),
        ];
        for (found, origin) in cases {
            assert_eq!(shown(found), origin);
        }
        let secret = creds.secret("shop", "DOTENV_TOKEN").unwrap();
        assert!(
            !format!("{secret:?}").contains("dotenv-value-9"),
            "{secret:?}"
        );
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
    fn broken_secrets_toml_names_the_file() {
        let dir = project(&[(".dlt/secrets.toml", "api_key = \"unterminated\n")]);
        let err = Credentials::from_parts(BTreeMap::new(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("secrets.toml"), "{err}");
    }
}

//! Where a secret a source sends came from: the variable and the store that defined it, so a
//! credential the API rejects can be named (`MY_API_TOKEN (from .env)`) without its value.

use std::fmt;

/// The store a secret was found in, in dlt's lookup order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretStore {
    /// The process environment.
    Environment,
    /// The project's `.env` file.
    DotEnv,
    /// `.dlt/secrets.toml`, at `key` (`[sources.my_api] api_key`, or a top-level `TOKEN`).
    SecretsToml {
        /// The key path, as a user finds it in the file.
        key: String,
    },
}

/// A variable a source's credentials were read from, and where it was found; never its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretOrigin {
    /// The name looked up: `MY_API_TOKEN` of `${MY_API_TOKEN}`, `SOURCES__MY_API__TOKEN`, or
    /// the secrets.toml key dlt would fill an `auth` field from.
    pub variable: String,
    /// Where it was found.
    pub store: SecretStore,
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.store {
            SecretStore::Environment => write!(f, "{} (from the environment)", self.variable),
            SecretStore::DotEnv => write!(f, "{} (from .env)", self.variable),
            SecretStore::SecretsToml { key } if *key == self.variable => {
                write!(f, "{key} (from .dlt/secrets.toml)")
            }
            SecretStore::SecretsToml { key } => {
                write!(f, "{} (from .dlt/secrets.toml, {key})", self.variable)
            }
        }
    }
}

/// `origins` for a message, each once, in order: `A (from .env), B (from the environment)`.
pub fn describe_origins(origins: &[SecretOrigin]) -> String {
    let mut shown: Vec<String> = Vec::new();
    for origin in origins {
        let text = origin.to_string();
        if !shown.contains(&text) {
            shown.push(text);
        }
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(variable: &str, store: SecretStore) -> SecretOrigin {
        SecretOrigin {
            variable: variable.into(),
            store,
        }
    }

    #[test]
    fn each_store_is_named_with_the_variable() {
        assert_eq!(
            origin("MY_API_TOKEN", SecretStore::DotEnv).to_string(),
            "MY_API_TOKEN (from .env)"
        );
        assert_eq!(
            origin("TOKEN", SecretStore::Environment).to_string(),
            "TOKEN (from the environment)"
        );
        let key = "[sources.my_api] api_key".to_string();
        assert_eq!(
            origin("API_KEY", SecretStore::SecretsToml { key: key.clone() }).to_string(),
            "API_KEY (from .dlt/secrets.toml, [sources.my_api] api_key)"
        );
        assert_eq!(
            origin(&key, SecretStore::SecretsToml { key: key.clone() }).to_string(),
            "[sources.my_api] api_key (from .dlt/secrets.toml)"
        );
    }

    #[test]
    fn a_variable_used_twice_is_listed_once() {
        let a = origin("A", SecretStore::DotEnv);
        let b = origin("B", SecretStore::Environment);
        assert_eq!(
            describe_origins(&[a.clone(), b, a]),
            "A (from .env), B (from the environment)"
        );
    }
}

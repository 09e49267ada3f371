//! The `auth:` of a generated source: the security scheme the API asks for, with its secrets
//! as `${VAR}` references the user fills in `.env`.

use super::model::{Api, SchemeKind, SecurityScheme};

/// The auth a source gets.
#[derive(Debug, Clone)]
pub struct AuthChoice {
    /// The `auth:` mapping's entries, in order (values are written as strings).
    pub fields: Vec<(&'static str, String)>,
    /// The environment variables its secrets come from.
    pub env: Vec<String>,
    /// Why this scheme, and the alternatives the description also offers.
    pub why: String,
}

/// The auth for `api`'s operations `used` (their `security` or the API's), with secrets in
/// variables named after `source`; `None` if the API asks for none. An API key in a cookie
/// is an error naming the scheme.
pub fn choose(
    api: &Api<'_>,
    used: &[Option<&Vec<Vec<String>>>],
    source: &str,
) -> Result<Option<AuthChoice>, String> {
    // The alternatives offered, by how many operations accept each.
    let mut offered: Vec<(String, usize)> = Vec::new();
    for security in used {
        let alternatives = (*security).unwrap_or(&api.security);
        for alt in alternatives {
            for name in alt {
                match offered
                    .iter_mut()
                    .find(|(n, _)| n.as_str() == name.as_str())
                {
                    Some((_, count)) => *count += 1,
                    None => offered.push((name.clone(), 1)),
                }
            }
        }
    }
    if offered.is_empty() {
        return Ok(None);
    }
    let schemes: Vec<&SecurityScheme> = offered
        .iter()
        .filter_map(|(name, _)| api.schemes.iter().find(|s| &s.name == name))
        .collect();
    let Some(best) = schemes.iter().min_by_key(|s| rank(&s.kind)).copied() else {
        let names: Vec<&str> = offered.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "the operations ask for security scheme(s) {} that the description does not define",
            names.join(", ")
        ));
    };
    let prefix = source.to_ascii_uppercase();
    let var = |suffix: &str| format!("{prefix}_{suffix}");
    let (fields, env) = match &best.kind {
        SchemeKind::Bearer => (
            vec![
                ("type", "bearer".into()),
                ("token", format!("${{{}}}", var("TOKEN"))),
            ],
            vec![var("TOKEN")],
        ),
        SchemeKind::Basic => (
            vec![
                ("type", "http_basic".into()),
                ("username", format!("${{{}}}", var("USERNAME"))),
                ("password", format!("${{{}}}", var("PASSWORD"))),
            ],
            vec![var("USERNAME"), var("PASSWORD")],
        ),
        SchemeKind::ApiKey { name, location } if location != "cookie" => (
            vec![
                ("type", "api_key".into()),
                ("name", name.clone()),
                ("api_key", format!("${{{}}}", var("API_KEY"))),
                ("location", location.clone()),
            ],
            vec![var("API_KEY")],
        ),
        SchemeKind::ClientCredentials { token_url, .. } => (
            vec![
                ("type", "oauth2_client_credentials".into()),
                // A relative token URL is relative to the server (OpenAPI 3.1).
                (
                    "access_token_url",
                    url::Url::parse(&api.server.0)
                        .and_then(|base| base.join(token_url))
                        .map(String::from)
                        .unwrap_or_else(|_| token_url.clone()),
                ),
                ("client_id", format!("${{{}}}", var("CLIENT_ID"))),
                ("client_secret", format!("${{{}}}", var("CLIENT_SECRET"))),
            ],
            vec![var("CLIENT_ID"), var("CLIENT_SECRET")],
        ),
        SchemeKind::ApiKey { name, .. } => {
            return Err(format!(
                "security scheme `{}` sends an API key in the cookie `{name}`, which Dango cannot send: \
                 choose the endpoints with --select, or add the source by hand",
                best.name
            ));
        }
        // No auth of Dango can run this flow; a token got by hand works as a bearer token.
        SchemeKind::Other(_) => (
            vec![
                ("type", "bearer".into()),
                ("token", format!("${{{}}}", var("TOKEN"))),
            ],
            vec![var("TOKEN")],
        ),
    };
    let others: Vec<String> = schemes
        .iter()
        .filter(|s| s.name != best.name)
        .map(|s| format!("{} ({})", s.name, describe(&s.kind)))
        .collect();
    let by_hand = match &best.kind {
        SchemeKind::Other(_) => ", which Dango cannot run: get a token by hand (unconfirmed)",
        _ => "",
    };
    let why = format!(
        "securitySchemes.{} ({}){by_hand}{}",
        best.name,
        describe(&best.kind),
        if others.is_empty() {
            String::new()
        } else {
            format!("; the API also accepts {}", others.join(", "))
        }
    );
    Ok(Some(AuthChoice { fields, env, why }))
}

/// Preference among schemes an API offers as alternatives: the simplest to set up first.
fn rank(kind: &SchemeKind) -> u8 {
    match kind {
        SchemeKind::Bearer => 0,
        SchemeKind::ApiKey { location, .. } if location == "header" => 1,
        SchemeKind::ApiKey { location, .. } if location == "query" => 2,
        SchemeKind::ClientCredentials { .. } => 3,
        SchemeKind::Basic => 4,
        SchemeKind::ApiKey { .. } => 8,
        SchemeKind::Other(_) => 9,
    }
}

/// A scheme in a few words.
fn describe(kind: &SchemeKind) -> String {
    match kind {
        SchemeKind::Bearer => "http bearer".into(),
        SchemeKind::Basic => "http basic".into(),
        SchemeKind::ApiKey { name, location } => format!("API key `{name}` in the {location}"),
        SchemeKind::ClientCredentials { scopes, .. } if scopes.is_empty() => {
            "OAuth2 client credentials".into()
        }
        SchemeKind::ClientCredentials { scopes, .. } => {
            format!("OAuth2 client credentials; scopes: {}", scopes.join(" "))
        }
        SchemeKind::Other(what) => what.clone(),
    }
}

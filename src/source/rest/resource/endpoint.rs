//! The endpoint's URL: joined to the base as dlt joins them, its userinfo password a secret.

use url::Url;

use crate::redact::Redactor;

/// Registers the password of `url`'s userinfo (`https://user:password@host`), which is sent
/// as HTTP basic auth, as a secret, whether or not it came from a `${VAR}`.
pub(super) fn register_userinfo(url: &str, redactor: &Redactor) {
    let Ok(url) = Url::parse(url) else { return };
    let Some(password) = url.password() else {
        return;
    };
    // reqwest sends the decoded user and password.
    redactor.add_basic(&percent_decode(url.username()), &percent_decode(password));
}

/// `s` with its `%XX` escapes decoded.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `base` + `endpoint` as dlt joins them: the endpoint is relative to the base's path, unless
/// it is an absolute URL.
pub fn endpoint_url(base: &str, endpoint: &str) -> Result<Url, String> {
    if let Ok(absolute) = Url::parse(endpoint) {
        return Ok(absolute);
    }
    let base = if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    };
    let base = Url::parse(&base).map_err(|e| e.to_string())?;
    if base.cannot_be_a_base() {
        return Err("the base URL cannot have paths appended".into());
    }
    base.join(endpoint.trim_start_matches('/'))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_a_secret_in_all_its_forms() {
        use base64::Engine;
        let r = Redactor::default();
        register_userinfo("http://alice:p%20ss%2Fw@api.test/v1", &r);
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:p ss/w");
        let shown = r.redact(&format!(
            "Basic {b64} http://alice:p%20ss%2Fw@api.test p ss/w"
        ));
        assert_eq!(shown, "Basic *** http://alice:***@api.test ***");
        assert_eq!(percent_decode("a%2x%41%"), "a%2xA%");
    }

    #[test]
    fn endpoints_keep_the_base_path() {
        let u = endpoint_url("https://api.example.com/v1", "/users").unwrap();
        assert_eq!(u.as_str(), "https://api.example.com/v1/users");
        let u = endpoint_url("https://api.example.com/v1/", "users").unwrap();
        assert_eq!(u.as_str(), "https://api.example.com/v1/users");
        let u = endpoint_url("https://a.test", "https://b.test/x").unwrap();
        assert_eq!(u.as_str(), "https://b.test/x");
        assert!(endpoint_url("not a url", "/x").is_err());
    }
}

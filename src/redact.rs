//! Keeping secrets out of what Dango shows: every credential a source sends is remembered, and
//! scrubbed from errors, logs and progress output in every form it may come back in.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

/// Replaces known secret values with `***` in text that is about to be shown or logged: each
/// secret in every form Dango sends it or an API may echo it back in (raw, URL-encoded,
/// JSON-escaped, and the base64 of `user:password` of HTTP basic auth), whatever its length.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Secrets>>,
}

/// The forms to scrub: long ones wherever they occur, short ones where they stand alone.
#[derive(Debug, Default)]
struct Secrets {
    known: HashSet<String>,
    anywhere: Vec<String>,
    tokens: Vec<String>,
    /// One automaton over every long form, built when first needed after an `add`: a project
    /// of thousands of sources has thousands of secrets, and every message goes through here.
    matcher: Option<AhoCorasick>,
}

impl Secrets {
    /// Builds the automaton over the long forms if a form was added since.
    fn build(&mut self) {
        if self.matcher.is_none() && !self.anywhere.is_empty() {
            // Leftmost-longest: a secret containing another is replaced whole.
            self.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&self.anywhere)
                .ok();
        }
    }
}

impl Redactor {
    /// Forms shorter than this are scrubbed only where they stand alone (between characters
    /// that are not letters or digits): a two-letter password inside every word it spells
    /// would mangle the message without hiding anything more.
    const MIN_LEN: usize = 3;

    /// Remembers `secret`, in all its forms, so it is scrubbed from now on.
    pub fn add(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        self.add_forms(secret_forms(secret));
    }

    /// Remembers the credentials of HTTP basic auth: the password, and the base64 of
    /// `user:password` that goes on the wire.
    pub fn add_basic(&self, user: &str, password: &str) {
        self.add(password);
        if !password.is_empty() {
            self.add_forms(basic_forms(user, password));
        }
    }

    fn add_forms(&self, forms: Vec<String>) {
        if let Ok(mut secrets) = self.secrets.write() {
            for form in forms.into_iter().filter(|f| !f.is_empty()) {
                if !secrets.known.insert(form.clone()) {
                    continue;
                }
                match form.chars().count() < Self::MIN_LEN {
                    true => {
                        secrets.tokens.push(form);
                        // Longest first, so a token containing another is replaced whole.
                        secrets.tokens.sort_by_key(|s| std::cmp::Reverse(s.len()));
                    }
                    false => {
                        secrets.anywhere.push(form);
                        secrets.matcher = None;
                    }
                }
            }
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let built = self
            .secrets
            .read()
            .is_ok_and(|s| s.matcher.is_some() || s.anywhere.is_empty());
        if !built && let Ok(mut secrets) = self.secrets.write() {
            secrets.build();
        }
        let Ok(secrets) = self.secrets.read() else {
            return text.to_string();
        };
        let mut out = match &secrets.matcher {
            Some(matcher) => {
                let mut out = String::with_capacity(text.len());
                matcher.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str("***");
                    true
                });
                out
            }
            None => text.to_string(),
        };
        for s in secrets.tokens.iter() {
            if out.contains(s.as_str()) {
                out = replace_token(&out, s);
            }
        }
        out
    }
}

/// `text` with each occurrence of `token` that no letter or digit touches replaced by `***`.
fn replace_token(text: &str, token: &str) -> String {
    let alone = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(token) {
        let (before, after) = (&rest[..at], &rest[at + token.len()..]);
        out.push_str(before);
        match alone(out.chars().next_back()) && alone(after.chars().next()) {
            true => out.push_str("***"),
            false => out.push_str(token),
        }
        rest = after;
    }
    out.push_str(rest);
    out
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
    fn short_secrets_are_redacted_where_they_stand_alone() {
        use base64::Engine;
        let r = Redactor::default();
        r.add_basic("bob", "pw");
        r.add("x");
        let b64 = base64::engine::general_purpose::STANDARD.encode("bob:pw");
        let shown = r.redact(&format!("Basic {b64} password=pw key x; pwned x-ray"));
        assert_eq!(shown, "Basic *** password=*** key ***; pwned ***-ray");
        assert_eq!(r.redact("pw"), "***");
        assert_eq!(r.redact("xylophone"), "xylophone");
    }
}

//! The `Digest` auth-param list (RFC 3261 §25.1, RFC 7616 §3.3/§3.4):
//! `Digest name=token, name="quoted \"string\", with commas", ...`.
//!
//! Quoted strings may hold commas, `=` and backslash escapes, which is why a naive
//! `split(',')` breaks on real headers. Names compare case-insensitively; values are
//! kept exactly, with quoted-pair escapes removed.

use super::AuthError;

/// One `name=value` pair; `name` is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: String,
    pub value: String,
}

/// The pairs of a `Digest` challenge or credentials value, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Params(Vec<Param>);

/// More than any real header carries; a bound on what a hostile one can make us keep.
const MAX_PARAMS: usize = 32;

impl Params {
    /// Parse `Digest <params>`; another scheme (`Basic`, `Bearer`) is [`AuthError::NotDigest`].
    pub fn parse_digest(value: &str) -> Result<Self, AuthError> {
        let value = value.trim_start_matches(is_lws);
        let scheme_end = value.find(is_lws).unwrap_or(value.len());
        let (scheme, rest) = value.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::NotDigest);
        }
        let mut params = Vec::new();
        let mut rest = rest;
        loop {
            rest = rest.trim_start_matches(|c| is_lws(c) || c == ',');
            if rest.is_empty() {
                break;
            }
            let name_end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
            if name_end == 0 {
                return Err(AuthError::Malformed("expected a parameter name"));
            }
            let name = rest[..name_end].to_ascii_lowercase();
            rest = rest[name_end..].trim_start_matches(is_lws);
            rest = rest
                .strip_prefix('=')
                .ok_or(AuthError::Malformed("expected '=' after a parameter name"))?
                .trim_start_matches(is_lws);
            let (value, after) = if let Some(quoted) = rest.strip_prefix('"') {
                unquote(quoted)?
            } else {
                let end = rest
                    .find(|c: char| is_lws(c) || c == ',' || c == '"')
                    .unwrap_or(rest.len());
                if end == 0 {
                    return Err(AuthError::Malformed("empty parameter value"));
                }
                (rest[..end].to_owned(), &rest[end..])
            };
            rest = after.trim_start_matches(is_lws);
            if !rest.is_empty() && !rest.starts_with(',') {
                return Err(AuthError::Malformed("expected ',' between parameters"));
            }
            if params.iter().any(|p: &Param| p.name == name) {
                return Err(AuthError::DuplicateParameter(name));
            }
            if params.len() == MAX_PARAMS {
                return Err(AuthError::Malformed("too many parameters"));
            }
            params.push(Param { name, value });
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, AuthError> {
        self.get(name).ok_or(AuthError::MissingParameter(name))
    }
}

/// Read a quoted string's body (after the opening quote) up to the closing quote,
/// resolving `\x` to `x` (RFC 3261 §25.1 quoted-pair). Returns the value and the rest.
fn unquote(s: &str) -> Result<(String, &str), AuthError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err(AuthError::Malformed("unterminated quoted string"))
}

/// RFC 3261 §25.1 token characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Write `value` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_keep_commas_equals_and_escapes() {
        let p = Params::parse_digest(
            r#"Digest realm="a, b=c", nonce="x\"y\\z" ,algorithm=MD5,qop="auth,auth-int""#,
        )
        .unwrap();
        assert_eq!(p.get("realm"), Some("a, b=c"));
        assert_eq!(p.get("nonce"), Some(r#"x"y\z"#));
        assert_eq!(p.get("algorithm"), Some("MD5"));
        assert_eq!(p.get("qop"), Some("auth,auth-int"));
    }

    #[test]
    fn names_are_case_insensitive_and_spacing_is_free() {
        let p = Params::parse_digest("digest  REALM = \"r\" ,\r\n NC=00000001,,").unwrap();
        assert_eq!(p.get("realm"), Some("r"));
        assert_eq!(p.get("nc"), Some("00000001"));
    }

    #[test]
    fn quote_round_trips_through_parse() {
        let nasty = r#"he said "hi", \o/"#;
        let header = format!("Digest realm={}", quote(nasty));
        assert_eq!(
            Params::parse_digest(&header).unwrap().get("realm"),
            Some(nasty)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "Basic dXNlcjpwYXNz",
            "Digestrealm=\"x\"",
            "Digest realm",
            "Digest realm=",
            "Digest realm=\"unterminated",
            "Digest realm=\"x\\",
            "Digest realm=\"x\" nonce=\"y\"",
            "Digest =x",
            "Digest realm=x, realm=y",
            "Digest realm=\"x\"junk",
            "Digest é=1",
        ] {
            assert!(Params::parse_digest(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn too_many_parameters_are_refused() {
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=v")).collect();
        let header = format!("Digest {}", many.join(","));
        assert_eq!(
            Params::parse_digest(&header),
            Err(AuthError::Malformed("too many parameters"))
        );
    }
}

//! The credentials (`Authorization` / `Proxy-Authorization`, RFC 3261 §22.2,
//! RFC 7616 §3.4).

use std::fmt;

use super::digest::Algorithm;
use super::params::{quote, Params};
use super::AuthError;

/// Quality of protection (RFC 7616 §3.3). Only `auth` is supported: `auth-int` would
/// need the body hashed into every request, which no SIP peer of ours asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Qop {
    /// `qop=auth`: the response covers the method and digest-uri, with `nc` and `cnonce`.
    Auth,
}

/// One `Digest` credentials value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user the credentials are for.
    pub username: String,
    /// The realm of the challenge being answered.
    pub realm: String,
    /// The nonce of the challenge being answered.
    pub nonce: String,
    /// The digest-uri: the Request-URI of the request (RFC 3261 §22.4).
    pub uri: String,
    /// The request-digest as hex.
    pub response: String,
    /// As received; `None` means MD5 (RFC 2617 §3.2.1).
    pub algorithm: Option<Algorithm>,
    /// The client's nonce, required with `qop` and by the `-sess` algorithms.
    pub cnonce: Option<String>,
    /// The challenge's `opaque`, echoed.
    pub opaque: Option<String>,
    /// The protection chosen from the challenge's offer; `None` is the RFC 2069 form.
    pub qop: Option<Qop>,
    /// The nonce count, sent as 8 hex digits.
    pub nc: Option<u32>,
}

impl Credentials {
    /// Parse a credentials header value. Some clients quote `algorithm`, `qop` and `nc`
    /// although the grammar says token; both forms are read.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let p = Params::parse_digest(value)?;
        let algorithm = p.get("algorithm").map(Algorithm::parse).transpose()?;
        let qop = match p.get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
            Some(q) => return Err(AuthError::UnsupportedQop(q.to_owned())),
        };
        let nc = p
            .get("nc")
            .map(|n| {
                let hex = !n.is_empty() && n.len() <= 8 && n.bytes().all(|b| b.is_ascii_hexdigit());
                hex.then(|| u32::from_str_radix(n, 16).ok())
                    .flatten()
                    .ok_or(AuthError::Malformed("nc is not 8 hex digits"))
            })
            .transpose()?;
        Ok(Self {
            username: p.require("username")?.to_owned(),
            realm: p.require("realm")?.to_owned(),
            nonce: p.require("nonce")?.to_owned(),
            uri: p.require("uri")?.to_owned(),
            response: p.require("response")?.to_owned(),
            algorithm,
            cnonce: p.get("cnonce").map(str::to_owned),
            opaque: p.get("opaque").map(str::to_owned),
            qop,
            nc,
        })
    }

    /// The algorithm the response was computed with (absent means MD5).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm.unwrap_or(Algorithm::Md5)
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response)
        )?;
        if let Some(a) = self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if let Some(c) = &self.cnonce {
            write!(f, ", cnonce={}", quote(c))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        if let Some(Qop::Auth) = self.qop {
            f.write_str(", qop=auth")?;
        }
        if let Some(nc) = self.nc {
            write!(f, ", nc={nc:08x}")?;
        }
        Ok(())
    }
}

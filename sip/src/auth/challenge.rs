//! The challenge (`WWW-Authenticate` / `Proxy-Authenticate`, RFC 3261 §22.2–§22.3,
//! RFC 7616 §3.3), and the client's answer to it.

use std::fmt;

use super::credentials::{Credentials, Qop};
use super::digest::{ha1, request_digest, Algorithm};
use super::params::{quote, Params};
use super::AuthError;

/// One `Digest` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space the credentials are for; also part of HA1.
    pub realm: String,
    /// Server-chosen, opaque to the client; hashed into the response.
    pub nonce: String,
    /// To be echoed unchanged in the credentials (RFC 7616 §3.3).
    pub opaque: Option<String>,
    /// The hash to use; `MD5` when the challenge names none.
    pub algorithm: Algorithm,
    /// The qop-options offered, e.g. `["auth"]`; empty is the RFC 2069 form.
    pub qop: Vec<String>,
    /// The previous request had a good response but an expired nonce (RFC 7616 §3.3):
    /// retry with the new nonce without asking the user again.
    pub stale: bool,
    /// The `domain` URIs the same credentials apply to, as one space-separated value.
    pub domain: Option<String>,
}

impl Challenge {
    /// Parse a challenge header value. A `Basic` or other scheme is
    /// [`AuthError::NotDigest`]; an algorithm we cannot compute is
    /// [`AuthError::UnsupportedAlgorithm`] (a server may offer several challenges,
    /// RFC 7616 §3.7: use the first one that parses).
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let p = Params::parse_digest(value)?;
        let algorithm = match p.get("algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        let qop = p
            .get("qop")
            .map(|q| {
                q.split(',')
                    .map(|o| o.trim().to_ascii_lowercase())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            realm: p.require("realm")?.to_owned(),
            nonce: p.require("nonce")?.to_owned(),
            opaque: p.get("opaque").map(str::to_owned),
            algorithm,
            qop,
            stale: p
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
            domain: p.get("domain").map(str::to_owned),
        })
    }

    /// The client's `Authorization` / `Proxy-Authorization` for a request
    /// (RFC 3261 §22.2, RFC 2617 §3.2.2).
    ///
    /// `uri` is the Request-URI as sent; `cnonce` comes from the caller's random source
    /// and `nc` counts the requests made with this nonce, starting at 1. With
    /// `qop="auth"` offered we use it; a challenge offering only `auth-int` is refused.
    pub fn respond(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<Credentials, AuthError> {
        let qop = if self.qop.is_empty() {
            None
        } else if self.qop.iter().any(|q| q == "auth") {
            Some(Qop::Auth)
        } else {
            return Err(AuthError::UnsupportedQop(self.qop.join(",")));
        };
        let uses_cnonce = qop.is_some() || self.algorithm.is_session();
        let cnonce = uses_cnonce.then(|| cnonce.to_owned());
        let nc = qop.map(|_| nc);
        let stored = ha1(self.algorithm, username, &self.realm, password);
        let response = request_digest(
            self.algorithm,
            &stored,
            &self.nonce,
            cnonce.as_deref(),
            method,
            uri,
            nc.map(|n| format!("{n:08x}")).as_deref(),
        );
        Ok(Credentials {
            username: username.to_owned(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_owned(),
            response,
            algorithm: Some(self.algorithm),
            cnonce,
            opaque: self.opaque.clone(),
            qop,
            nc,
        })
    }
}

impl fmt::Display for Challenge {
    /// `Digest realm="…", nonce="…", opaque="…", algorithm=…, qop="…"[, stale=true]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest realm={}", quote(&self.realm))?;
        if let Some(d) = &self.domain {
            write!(f, ", domain={}", quote(d))?;
        }
        write!(f, ", nonce={}", quote(&self.nonce))?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        write!(f, ", algorithm={}", self.algorithm)?;
        if !self.qop.is_empty() {
            write!(f, ", qop={}", quote(&self.qop.join(",")))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

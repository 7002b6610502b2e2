//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616 for SHA-256).
//!
//! - Server (registrar, or a UAS that challenges): [`DigestServer::challenge`] gives the
//!   `WWW-Authenticate`/`Proxy-Authenticate` value; [`Credentials::parse`] reads the
//!   `Authorization`/`Proxy-Authorization` value; [`DigestServer::verify`] checks it.
//!   Nonces carry their own issue time under an HMAC, so nothing is stored per nonce.
//! - Client (registering upstream, or answering a 401/407): [`Challenge::parse`], then
//!   [`Challenge::respond`] gives the [`Credentials`] to print into the retried request.
//!
//! Sans-IO: the clock (`now_secs`, wall-clock seconds) and randomness (nonce salt,
//! cnonce) come from the caller. No input makes these functions panic.

mod challenge;
mod credentials;
mod digest;
mod params;
mod server;

#[cfg(test)]
mod tests;

pub use challenge::Challenge;
pub use credentials::{Credentials, Qop};
pub use digest::{ha1, Algorithm};
pub use server::{Account, DigestServer, Secret, VerifyError, DEFAULT_NONCE_LIFETIME_SECS};

/// Why a challenge or credentials header value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Another scheme (`Basic`, `Bearer`, ...) or no scheme at all.
    #[error("not a Digest header value")]
    NotDigest,
    /// The parameter list does not follow the auth-param grammar; the text says what is
    /// wrong.
    #[error("malformed Digest parameters: {0}")]
    Malformed(&'static str),
    /// A parameter the header value must carry is absent.
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    /// A parameter is given more than once (RFC 7235 §2.1 allows each only once).
    #[error("parameter {0} appears twice")]
    DuplicateParameter(String),
    /// An `algorithm` other than MD5, MD5-sess, SHA-256 and SHA-256-sess.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// A `qop` other than `auth` (`auth-int` is not supported).
    #[error("unsupported qop {0:?}")]
    UnsupportedQop(String),
}

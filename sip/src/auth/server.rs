//! The server side: challenges with stateless nonces, and verification of credentials
//! (RFC 3261 §22.1, §22.4; RFC 7616 §3.3, §3.5).
//!
//! A nonce is `hex(issued_at) ‖ hex(salt) ‖ hex(tag)` with `tag` an HMAC-SHA-256 of
//! both under a server secret and the realm. Any nonce whose tag checks is one we
//! minted, and its age is in it, so no table of issued nonces is kept. The price: a
//! nonce can be replayed until it expires (no `nc` tracking); the lifetime bounds that.

use subtle::ConstantTimeEq as _;

use super::challenge::Challenge;
use super::credentials::{Credentials, Qop};
use super::digest::{hex, hmac_sha256, request_digest, Algorithm};

/// The default nonce lifetime: long enough for a user to type a password into a
/// softphone prompt, short enough to bound replays.
pub const DEFAULT_NONCE_LIFETIME_SECS: u64 = 300;

const TAG_LEN: usize = 16;
const NONCE_HEX_LEN: usize = 2 * (8 + 8 + TAG_LEN);

/// What the account's secret is: the password, or `H(username:realm:password)` for
/// the algorithm the credentials use (see [`super::ha1`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret<'a> {
    /// The plain password.
    Password(&'a str),
    /// The stored `H(username:realm:password)`, as hex (either case).
    Ha1(&'a str),
}

/// The account a request claims to be: its username and secret, as the caller looked
/// them up (by `Credentials::username`, or by the To/From user for a registrar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account<'a> {
    /// The username the credentials must carry.
    pub username: &'a str,
    /// What the response is checked against.
    pub secret: Secret<'a>,
}

/// Why credentials were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The credentials name another realm than this server's.
    #[error("credentials are for another realm")]
    RealmMismatch,
    /// The credentials name another user than the account.
    #[error("credentials are for another user")]
    UsernameMismatch,
    /// The credentials use an algorithm this server did not offer.
    #[error("algorithm {0} was not offered")]
    AlgorithmNotOffered(Algorithm),
    /// No `qop=auth` with `nc` and a non-empty `cnonce`: the RFC 2069 form is refused.
    #[error("qop=auth with nc and cnonce is required")]
    QopRequired,
    /// The nonce is malformed or its tag does not check: not minted by this server.
    #[error("nonce was not issued by us")]
    InvalidNonce,
    /// The `opaque` differs from the one this server hands out.
    #[error("opaque does not match the challenge")]
    OpaqueMismatch,
    /// The digest-uri is not the request's Request-URI (RFC 3261 §22.4).
    #[error("digest-uri does not match the Request-URI")]
    UriMismatch,
    /// The response does not match: a wrong password, or another method or URI.
    #[error("wrong response (wrong password)")]
    WrongResponse,
    /// The response was right, but the nonce expired: challenge again with
    /// `stale=true` so the client retries without asking its user (RFC 7616 §3.3).
    #[error("nonce is stale")]
    StaleNonce,
}

impl VerifyError {
    /// Whether this is [`VerifyError::StaleNonce`]: answer with a new challenge marked
    /// `stale=true`.
    pub fn is_stale(&self) -> bool {
        matches!(self, Self::StaleNonce)
    }
}

/// Issues challenges and checks credentials for one realm.
#[derive(Clone)]
pub struct DigestServer {
    realm: String,
    secret: Vec<u8>,
    algorithms: Vec<Algorithm>,
    nonce_lifetime_secs: u64,
}

impl std::fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestServer")
            .field("realm", &self.realm)
            .field("algorithms", &self.algorithms)
            .field("nonce_lifetime_secs", &self.nonce_lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl DigestServer {
    /// A server for `realm` offering MD5 (what every SIP phone speaks). `secret` keys
    /// the nonces: random, at least 16 bytes, and the same across restarts if nonces
    /// should survive them.
    pub fn new(realm: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        Self {
            realm: realm.into(),
            secret: secret.into(),
            algorithms: vec![Algorithm::Md5],
            nonce_lifetime_secs: DEFAULT_NONCE_LIFETIME_SECS,
        }
    }

    /// The algorithms to offer, most preferred first (RFC 7616 §3.7, RFC 8760 §2.4:
    /// one challenge each). An empty list keeps MD5.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        if !algorithms.is_empty() {
            self.algorithms = algorithms.to_vec();
        }
        self
    }

    /// How long a nonce is accepted after it was issued, in seconds (default
    /// [`DEFAULT_NONCE_LIFETIME_SECS`]).
    pub fn with_nonce_lifetime(mut self, secs: u64) -> Self {
        self.nonce_lifetime_secs = secs;
        self
    }

    /// The realm this server challenges for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// One challenge per offered algorithm, sharing a nonce, for as many
    /// `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) headers.
    ///
    /// `now_secs` is the caller's wall clock in seconds; `salt` comes from its random
    /// source so that nonces differ within a second; `stale` after a
    /// [`VerifyError::StaleNonce`].
    pub fn challenges(&self, now_secs: u64, salt: u64, stale: bool) -> Vec<Challenge> {
        let nonce = self.mint_nonce(now_secs, salt);
        self.algorithms
            .iter()
            .map(|&algorithm| self.challenge_with(algorithm, nonce.clone(), stale))
            .collect()
    }

    /// The challenge for the most preferred algorithm.
    pub fn challenge(&self, now_secs: u64, salt: u64, stale: bool) -> Challenge {
        let algorithm = self.algorithms.first().copied().unwrap_or(Algorithm::Md5);
        self.challenge_with(algorithm, self.mint_nonce(now_secs, salt), stale)
    }

    fn challenge_with(&self, algorithm: Algorithm, nonce: String, stale: bool) -> Challenge {
        Challenge {
            realm: self.realm.clone(),
            nonce,
            opaque: Some(self.opaque()),
            algorithm,
            qop: vec!["auth".into()],
            stale,
            domain: None,
        }
    }

    /// Check `credentials` sent on a request with `method` and `request_uri` (as it
    /// appeared on the wire: the digest-uri must equal it, RFC 3261 §22.4).
    ///
    /// Order matters for what the caller tells the client: a stale nonce is reported
    /// only when the response is otherwise right.
    pub fn verify(
        &self,
        credentials: &Credentials,
        method: &str,
        request_uri: &str,
        account: Account<'_>,
        now_secs: u64,
    ) -> Result<(), VerifyError> {
        let c = credentials;
        if c.realm != self.realm {
            return Err(VerifyError::RealmMismatch);
        }
        if c.username != account.username {
            return Err(VerifyError::UsernameMismatch);
        }
        let algorithm = c.algorithm();
        if !self.algorithms.contains(&algorithm) {
            return Err(VerifyError::AlgorithmNotOffered(algorithm));
        }
        let (Some(Qop::Auth), Some(nc), Some(cnonce)) = (c.qop, c.nc, c.cnonce.as_deref()) else {
            return Err(VerifyError::QopRequired);
        };
        if cnonce.is_empty() {
            return Err(VerifyError::QopRequired);
        }
        let fresh = self.check_nonce(&c.nonce, now_secs)?;
        if c.opaque.as_ref().is_some_and(|o| *o != self.opaque()) {
            return Err(VerifyError::OpaqueMismatch);
        }
        if c.uri != request_uri {
            return Err(VerifyError::UriMismatch);
        }
        let stored = match account.secret {
            Secret::Password(p) => super::ha1(algorithm, &c.username, &self.realm, p),
            Secret::Ha1(h) => h.to_ascii_lowercase(),
        };
        let expected = request_digest(
            algorithm,
            &stored,
            &c.nonce,
            Some(cnonce),
            method,
            &c.uri,
            Some(&format!("{nc:08x}")),
        );
        let given = c.response.to_ascii_lowercase();
        // Constant time, so response timing does not leak how much of it matched.
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err(VerifyError::WrongResponse);
        }
        if !fresh {
            return Err(VerifyError::StaleNonce);
        }
        Ok(())
    }

    fn mint_nonce(&self, issued_at: u64, salt: u64) -> String {
        let tag = self.nonce_tag(issued_at, salt);
        format!("{issued_at:016x}{salt:016x}{}", hex(&tag))
    }

    fn nonce_tag(&self, issued_at: u64, salt: u64) -> [u8; TAG_LEN] {
        let mut msg = Vec::with_capacity(self.realm.len() + 32);
        msg.extend_from_slice(b"sotto-nonce\0");
        msg.extend_from_slice(self.realm.as_bytes());
        msg.push(0);
        msg.extend_from_slice(&issued_at.to_be_bytes());
        msg.extend_from_slice(&salt.to_be_bytes());
        let full = hmac_sha256(&self.secret, &msg);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// `Ok(true)` fresh, `Ok(false)` ours but expired (or from a clock that has since
    /// gone back), `Err` not ours.
    fn check_nonce(&self, nonce: &str, now_secs: u64) -> Result<bool, VerifyError> {
        if nonce.len() != NONCE_HEX_LEN || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VerifyError::InvalidNonce);
        }
        let number = |range: std::ops::Range<usize>| {
            u64::from_str_radix(&nonce[range], 16).map_err(|_| VerifyError::InvalidNonce)
        };
        let issued_at = number(0..16)?;
        let salt = number(16..32)?;
        let tag = hex(&self.nonce_tag(issued_at, salt));
        let given = nonce[32..].to_ascii_lowercase();
        if !bool::from(tag.as_bytes().ct_eq(given.as_bytes())) {
            return Err(VerifyError::InvalidNonce);
        }
        let age = now_secs.checked_sub(issued_at);
        Ok(age.is_some_and(|a| a <= self.nonce_lifetime_secs))
    }

    /// A fixed opaque per realm and secret: clients must echo it (RFC 7616 §3.3).
    fn opaque(&self) -> String {
        let mut msg = b"sotto-opaque\0".to_vec();
        msg.extend_from_slice(self.realm.as_bytes());
        hex(&hmac_sha256(&self.secret, &msg)[..TAG_LEN])
    }
}

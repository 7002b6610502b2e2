//! The digest computations of RFC 2617 §3.2.2 and RFC 7616 §3.4.1–§3.4.3, and the
//! HMAC that makes our nonces verifiable without state.

use std::fmt;

use hmac::{Hmac, Mac as _};
use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::AuthError;

/// The hash behind a digest (RFC 7616 §3.3 `algorithm`). Absent means MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// MD5 (RFC 2617), the default and what every SIP phone supports.
    Md5,
    /// HA1 bound to the nonce and cnonce (RFC 2617 §3.2.2.2).
    Md5Sess,
    /// SHA-256 (RFC 7616 §3.3).
    Sha256,
    /// SHA-256 with HA1 bound to the nonce and cnonce (RFC 7616 §3.4.2).
    Sha256Sess,
}

impl Algorithm {
    /// The name as written in the `algorithm` parameter, e.g. `MD5-sess`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Read an `algorithm` value; the names are case-insensitive (RFC 7616 §3.3).
    pub fn parse(s: &str) -> Result<Self, AuthError> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| AuthError::UnsupportedAlgorithm(s.to_owned()))
    }

    /// Whether this is a `-sess` algorithm, whose HA1 also covers the nonce and cnonce.
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// `H(data)` as lower-case hex (RFC 7616 §3.4: the unq(…) values are hex-encoded).
    pub(crate) fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&Md5::digest(data)),
            Self::Sha256 | Self::Sha256Sess => hex(&Sha256::digest(data)),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `H(username:realm:password)`, the value a user store can keep instead of the
/// password. It depends on the algorithm: keep one per algorithm offered. For a
/// `-sess` algorithm this is the stored value, not the per-nonce one.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// The request-digest (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1), from the stored HA1.
///
/// `qop` is `Some((nc, cnonce))` for `qop=auth`, `nc` already as 8 hex digits; `None`
/// is the RFC 2069 form. A `-sess` algorithm needs a cnonce even without qop.
pub(crate) fn request_digest(
    algorithm: Algorithm,
    stored_ha1: &str,
    nonce: &str,
    cnonce: Option<&str>,
    method: &str,
    uri: &str,
    nc_for_qop_auth: Option<&str>,
) -> String {
    let ha1 = if algorithm.is_session() {
        let cnonce = cnonce.unwrap_or_default();
        algorithm.hash_hex(format!("{stored_ha1}:{nonce}:{cnonce}").as_bytes())
    } else {
        stored_ha1.to_owned()
    };
    let ha2 = algorithm.hash_hex(format!("{method}:{uri}").as_bytes());
    let data = match nc_for_qop_auth {
        Some(nc) => format!(
            "{ha1}:{nonce}:{nc}:{}:auth:{ha2}",
            cnonce.unwrap_or_default()
        ),
        None => format!("{ha1}:{nonce}:{ha2}"),
    };
    algorithm.hash_hex(data.as_bytes())
}

/// HMAC-SHA-256 (RFC 2104): the nonce's tag, so only we can mint a nonce we accept.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length (a long one is hashed first), so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 §4.2, test case 1.
    #[test]
    fn hmac_matches_rfc_4231() {
        let tag = hmac_sha256(&[0x0b; 20], b"Hi There");
        assert_eq!(
            hex(&tag),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    /// RFC 4231 §4.7, test case 6: a key longer than the block is hashed first.
    #[test]
    fn hmac_hashes_long_keys() {
        let tag = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&tag),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn algorithm_names_are_case_insensitive() {
        assert_eq!(Algorithm::parse("md5"), Ok(Algorithm::Md5));
        assert_eq!(Algorithm::parse("sha-256-SESS"), Ok(Algorithm::Sha256Sess));
        assert!(Algorithm::parse("SHA-512-256").is_err());
    }
}

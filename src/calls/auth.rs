//! Digest authentication of REGISTER (RFC 3261 §22.4, RFC 8760).

use super::CallCore;
use rsip::prelude::UntypedHeader;
use rsip::{Header, Request};
use sotto_sip::auth::{Account, Credentials, Secret, VerifyError};
use std::time::Instant;

impl CallCore {
    /// The authenticated user name, or what to answer: `Err(challenges)` for a
    /// 401 (no, stale or foreign credentials: the client may try again),
    /// `Err(vec![])` for a 403 (a known user with the wrong password).
    pub(super) fn authenticate(
        &mut self,
        now: Instant,
        request: &Request,
    ) -> Result<String, Vec<Header>> {
        let now_secs = self.unix_ms(now) / 1000;
        let creds = request.headers.iter().find_map(|h| match h {
            Header::Authorization(a) => Credentials::parse(a.value()).ok(),
            _ => None,
        });
        let Some(creds) = creds else {
            return Err(self.challenge(now_secs, false));
        };
        let Some(password) = self.cfg.users.get(&creds.username).cloned() else {
            tracing::info!(user = %creds.username, "REGISTER for an unknown user");
            return Err(self.challenge(now_secs, false));
        };
        let account = Account {
            username: &creds.username,
            secret: Secret::Password(&password),
        };
        // The digest-uri must name the Request-URI (§22.4); compare parsed
        // forms, since rsip may print a URI differently than it came.
        let uri = match rsip::Uri::try_from(creds.uri.as_str()) {
            Ok(u) if u == request.uri => creds.uri.clone(),
            _ => request.uri.to_string(),
        };
        match self
            .digest
            .verify(&creds, "REGISTER", &uri, account, now_secs)
        {
            Ok(()) => Ok(creds.username.clone()),
            Err(e) if e.is_stale() => Err(self.challenge(now_secs, true)),
            Err(VerifyError::WrongResponse) => {
                tracing::info!(user = %creds.username, "REGISTER refused: wrong password");
                Err(Vec::new())
            }
            Err(e) => {
                tracing::info!(user = %creds.username, "REGISTER credentials not usable: {e}");
                Err(self.challenge(now_secs, false))
            }
        }
    }

    fn challenge(&mut self, now_secs: u64, stale: bool) -> Vec<Header> {
        let salt = self.random();
        self.digest
            .challenges(now_secs, salt, stale)
            .into_iter()
            .map(|c| Header::WwwAuthenticate(c.to_string().into()))
            .collect()
    }
}

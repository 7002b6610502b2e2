//! `Subscription-State` (RFC 6665 §8.2.3): the state a NOTIFY reports.
//!
//! `Subscription-State = "Subscription-State" HCOLON substate-value *( SEMI subexp-params )`,
//! `substate-value = "active" / "pending" / "terminated" / extension-substate`,
//! `subexp-params = ("reason" EQUAL event-reason-value) / ("expires" EQUAL delta-seconds)
//!   / ("retry-after" EQUAL delta-seconds) / generic-param`.
//! rsip parses it as its own `Header::SubscriptionState` variant; both are read.

use super::{delta_seconds, other_value, split_first_param, HeaderError, Params, TypedHeader};
use crate::message::syntax::is_token;
use rsip::headers::UntypedHeader;
use rsip::Header;
use std::fmt;

const NAME: &str = "Subscription-State";

/// The substate-value of a `Subscription-State` header (RFC 6665 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubState {
    /// The subscription is accepted and in force.
    Active,
    /// The subscription is received but not yet authorized.
    Pending,
    /// The subscription has ended; this NOTIFY is its last.
    Terminated,
    /// An extension-substate, kept as written; its meaning is up to the package.
    Other(String),
}

/// Why a subscription ended or must wait (RFC 6665 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventReason {
    /// Ended; the subscriber may subscribe again at once.
    Deactivated,
    /// Ended; the subscriber may subscribe again after `retry-after`.
    Probation,
    /// Ended because authorization was withdrawn; do not subscribe again.
    Rejected,
    /// Ended because it was not refreshed in time.
    Timeout,
    /// Ended because authorization was not obtained in time; the subscriber may try later.
    Giveup,
    /// Ended because the resource is gone; do not subscribe again.
    Noresource,
    /// Ended because the state will never change; do not subscribe again.
    Invariant,
    /// An extension event-reason-value, kept as written.
    Other(String),
}

/// A `Subscription-State` header value (RFC 6665 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// Active, pending, terminated, or an extension.
    pub state: SubState,
    /// The `reason` parameter (with `terminated`).
    pub reason: Option<EventReason>,
    /// The `expires` parameter: seconds left of the subscription.
    pub expires: Option<u32>,
    /// The `retry-after` parameter: seconds to wait before subscribing again.
    pub retry_after: Option<u32>,
    /// Other parameters, kept in order.
    pub params: Params,
}

impl SubscriptionState {
    /// `active;expires=<expires>` (seconds).
    pub fn active(expires: u32) -> Self {
        Self::with_state(SubState::Active, Some(expires))
    }

    /// `pending;expires=<expires>` (seconds).
    pub fn pending(expires: u32) -> Self {
        Self::with_state(SubState::Pending, Some(expires))
    }

    /// `terminated;reason=<reason>`.
    pub fn terminated(reason: EventReason) -> Self {
        Self {
            reason: Some(reason),
            ..Self::with_state(SubState::Terminated, None)
        }
    }

    fn with_state(state: SubState, expires: Option<u32>) -> Self {
        Self {
            state,
            reason: None,
            expires,
            retry_after: None,
            params: Params::new(),
        }
    }
}

const STATES: [(&str, SubState); 3] = [
    ("active", SubState::Active),
    ("pending", SubState::Pending),
    ("terminated", SubState::Terminated),
];

const REASONS: [(&str, EventReason); 7] = [
    ("deactivated", EventReason::Deactivated),
    ("probation", EventReason::Probation),
    ("rejected", EventReason::Rejected),
    ("timeout", EventReason::Timeout),
    ("giveup", EventReason::Giveup),
    ("noresource", EventReason::Noresource),
    ("invariant", EventReason::Invariant),
];

impl TypedHeader for SubscriptionState {
    const NAME: &'static str = NAME;

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let (state, params) = split_first_param(value);
        if !is_token(state) {
            return Err(HeaderError::invalid(NAME, "bad substate-value"));
        }
        let state = STATES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(state))
            .map_or_else(|| SubState::Other(state.to_owned()), |(_, s)| s.clone());
        let mut params = Params::parse(params, NAME)?;
        let reason = match params.take("reason") {
            None => None,
            Some(Some(r)) if is_token(&r) => Some(
                REASONS
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&r))
                    .map_or(EventReason::Other(r), |(_, e)| e.clone()),
            ),
            Some(_) => return Err(HeaderError::invalid(NAME, "reason must be a token")),
        };
        let mut seconds = |name| match params.take(name) {
            None => Ok(None),
            Some(Some(v)) => delta_seconds(&v, NAME).map(Some),
            Some(None) => Err(HeaderError::invalid(
                NAME,
                "expires/retry-after need a value",
            )),
        };
        let expires = seconds("expires")?;
        let retry_after = seconds("retry-after")?;
        Ok(Self {
            state,
            reason,
            expires,
            retry_after,
            params,
        })
    }

    fn value_of(header: &Header) -> Option<&str> {
        match header {
            Header::SubscriptionState(s) => Some(s.value()),
            other => other_value::<Self>(other),
        }
    }

    fn to_header(&self) -> Header {
        Header::SubscriptionState(rsip::headers::SubscriptionState::new(self.to_string()))
    }
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            SubState::Other(s) => f.write_str(s)?,
            known => f.write_str(
                STATES
                    .iter()
                    .find(|(_, s)| s == known)
                    .map_or("", |(n, _)| n),
            )?,
        }
        match &self.reason {
            Some(EventReason::Other(r)) => write!(f, ";reason={r}")?,
            Some(known) => write!(
                f,
                ";reason={}",
                REASONS
                    .iter()
                    .find(|(_, e)| e == known)
                    .map_or("", |(n, _)| n)
            )?,
            None => {}
        }
        if let Some(e) = self.expires {
            write!(f, ";expires={e}")?;
        }
        if let Some(r) = self.retry_after {
            write!(f, ";retry-after={r}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = SubscriptionState::parse("active;expires=60").unwrap();
        assert_eq!(s, SubscriptionState::active(60));
        assert_eq!(s.to_string(), "active;expires=60");
        let s =
            SubscriptionState::parse("Terminated ; reason = Timeout ; retry-after=30;x").unwrap();
        assert_eq!(s.state, SubState::Terminated);
        assert_eq!(s.reason, Some(EventReason::Timeout));
        assert_eq!(s.retry_after, Some(30));
        assert_eq!(s.to_string(), "terminated;reason=timeout;retry-after=30;x");
        assert_eq!(SubscriptionState::parse(&s.to_string()).unwrap(), s);
        let s = SubscriptionState::parse("waiting;reason=later").unwrap();
        assert_eq!(s.state, SubState::Other("waiting".into()));
        assert_eq!(s.reason, Some(EventReason::Other("later".into())));
        assert_eq!(s.to_string(), "waiting;reason=later");
        assert_eq!(
            SubscriptionState::pending(5).to_string(),
            "pending;expires=5"
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "active;expires=soon",
            "active;expires",
            "terminated;reason=\"x\"",
            "active;expires=4294967296",
            "a b",
        ] {
            assert!(SubscriptionState::parse(bad).is_err(), "{bad}");
        }
    }
}

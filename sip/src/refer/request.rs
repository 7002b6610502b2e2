//! Reading a REFER we received (RFC 3515 §2.4.2) and writing the Refer-To of one we
//! send (RFC 3515 §2.1, RFC 3891 §7.1).

use rsip::Request;

use super::ReferError;
use crate::headers::{ReferTo, ReferredBy, Replaces, TypedHeader, TypedHeaders};
use crate::message::syntax::split_top_level;

/// What a REFER asks of us: contact `target` (replacing the dialog `replaces` names,
/// for an attended transfer), on behalf of `referred_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferRequest {
    /// The Refer-To URI without its `?headers` (rsip cannot hold them).
    pub target: rsip::Uri,
    /// The Refer-To header as received, embedded headers still escaped.
    pub refer_to: ReferTo,
    /// The `?Replaces=` embedded in the Refer-To URI, unescaped and parsed
    /// (RFC 3891 §7.1): copy it into the INVITE sent to `target`.
    pub replaces: Option<Replaces>,
    /// Referred-By (RFC 3892 §3): copy it into the INVITE sent to `target`.
    pub referred_by: Option<ReferredBy>,
    /// The REFER's CSeq number: the `id` of the implicit subscription's Event header
    /// (RFC 3515 §2.4.6).
    pub cseq: u32,
}

impl ReferRequest {
    /// Reads a REFER. RFC 3515 §2.4.1: exactly one Refer-To value, else 400.
    pub fn from_request(request: &Request) -> Result<Self, ReferError> {
        if request.method != rsip::Method::Refer {
            return Err(ReferError::NotRefer);
        }
        let values: Vec<&str> = request
            .headers
            .iter()
            .filter_map(ReferTo::value_of)
            .collect();
        let value = match values.as_slice() {
            [] => return Err(ReferError::MissingReferTo),
            [one] => *one,
            _ => return Err(ReferError::MultipleReferTo),
        };
        // Two values folded into one header: `Refer-To: <sip:a@x>, <sip:b@x>`.
        if split_top_level(value, b',').nth(1).is_some() {
            return Err(ReferError::MultipleReferTo);
        }
        let refer_to = ReferTo::parse(value).map_err(ReferError::BadReferTo)?;
        let target = refer_to.target.rsip_uri().ok_or(ReferError::BadTarget)?;
        let replaces = refer_to
            .replaces()
            .transpose()
            .map_err(ReferError::BadReplaces)?;
        let referred_by = request
            .typed_header::<ReferredBy>()
            .transpose()
            .map_err(ReferError::BadReferredBy)?;
        let cseq = crate::message::cseq(request)
            .map(|(n, _)| n)
            .ok_or(ReferError::BadCSeq)?;
        Ok(Self {
            target,
            refer_to,
            replaces,
            referred_by,
            cseq,
        })
    }
}

/// The Refer-To value for a REFER we send: `<target>` for a blind transfer,
/// `<target?Replaces=...>` with the Replaces value escaped for an attended one
/// (RFC 3891 §7.1: `@` `;` `=` become `%40` `%3B` `%3D`).
pub fn refer_to_value(target: &rsip::Uri, replaces: Option<&Replaces>) -> String {
    let mut uri = Vec::new();
    crate::message::write_uri(&mut uri, target);
    let uri = String::from_utf8_lossy(&uri);
    match replaces {
        Some(r) => ReferTo::with_replaces(&uri, r),
        None => ReferTo::new(uri),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::parse_request;

    fn refer(extra: &str) -> Request {
        parse_request(&format!(
            "REFER sip:agent@192.0.2.5 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKr1\n\
Max-Forwards: 70\n\
From: <sip:agent@example.com>;tag=a\n\
To: <sip:sotto@example.com>;tag=s\n\
Call-ID: c1\n\
CSeq: 93809824 REFER\n\
Contact: <sip:agent@192.0.2.9>\n\
{extra}Content-Length: 0\n\n"
        ))
    }

    #[test]
    fn blind_refer_gives_target_and_referred_by() {
        let r = ReferRequest::from_request(&refer(
            "Refer-To: <sip:carol@example.com;transport=tcp>\n\
             Referred-By: <sip:agent@example.com>\n",
        ))
        .unwrap();
        assert_eq!(r.target.user(), Some("carol"));
        assert_eq!(r.replaces, None);
        assert_eq!(r.referred_by.unwrap().referrer.uri, "sip:agent@example.com");
        assert_eq!(r.cseq, 93809824);
        // Compact forms.
        let r =
            ReferRequest::from_request(&refer("r: sip:carol@example.com\nb: <sip:x@y>\n")).unwrap();
        assert_eq!(r.target.user(), Some("carol"));
        assert!(r.referred_by.is_some());
    }

    #[test]
    fn attended_refer_carries_an_unescaped_replaces() {
        let r = ReferRequest::from_request(&refer(
            "Refer-To: <sip:bob@example.com?Replaces=12345%40192.0.2.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>\n",
        ))
        .unwrap();
        assert_eq!(
            r.replaces,
            Some(Replaces::new("12345@192.0.2.3", "12345", "5FFE-3994"))
        );
        assert_eq!(r.target.user(), Some("bob"));
        assert_eq!(r.referred_by, None);
    }

    #[test]
    fn bad_refers_map_to_400() {
        let cases = [
            ("", ReferError::MissingReferTo),
            (
                "Refer-To: <sip:a@x>\nRefer-To: <sip:b@x>\n",
                ReferError::MultipleReferTo,
            ),
            (
                "Refer-To: <sip:a@x>, <sip:b@x>\n",
                ReferError::MultipleReferTo,
            ),
        ];
        for (extra, want) in cases {
            let got = ReferRequest::from_request(&refer(extra)).unwrap_err();
            assert_eq!(got, want, "{extra}");
            assert_eq!(got.status_code(), 400);
        }
        for extra in [
            "Refer-To: <sip:a@x\n",
            "Refer-To: <sip:a@x?Replaces=nonsense>\n",
            "Refer-To: <sip:a@x?Replaces=c%3Bto-tag%3D1>\n",
            "Refer-To: <sip:a@x>\nReferred-By: ,\n",
        ] {
            let got = ReferRequest::from_request(&refer(extra)).unwrap_err();
            assert_eq!(got.status_code(), 400, "{extra}: {got:?}");
        }
        assert!(matches!(
            ReferRequest::from_request(&refer("Refer-To: <sip:a@x?Replaces=nonsense>\n")),
            Err(ReferError::BadReplaces(_))
        ));
        let mut not_refer = refer("Refer-To: <sip:a@x>\n");
        not_refer.method = rsip::Method::Notify;
        assert_eq!(
            ReferRequest::from_request(&not_refer),
            Err(ReferError::NotRefer)
        );
    }

    #[test]
    fn refer_to_value_round_trips_through_the_parser() {
        let target = crate::message::parse_uri("sip:bob@biloxi.example.com:5062").unwrap();
        assert_eq!(
            refer_to_value(&target, None),
            "<sip:bob@biloxi.example.com:5062>"
        );
        let mut rep = Replaces::new("a84b4c76e66710@pc33.example.com", "314159", "19283;01774");
        rep.from_tag = "1928301774".into();
        rep.early_only = true;
        let value = refer_to_value(&target, Some(&rep));
        assert_eq!(
            value,
            "<sip:bob@biloxi.example.com:5062?Replaces=a84b4c76e66710%40pc33.example.com\
%3Bto-tag%3D314159%3Bfrom-tag%3D1928301774%3Bearly-only>"
        );
        let back = ReferRequest::from_request(&refer(&format!("Refer-To: {value}\n"))).unwrap();
        assert_eq!(back.replaces, Some(rep));
        assert_eq!(back.target, target);
    }
}

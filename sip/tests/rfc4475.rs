//! The RFC 4475 torture messages at the parse level, for a UAS with a registrar
//! (`fixtures/rfc4475/INDEX.md`). Each file is one UDP datagram.
//!
//! Parse-level outcomes are asserted here: a valid message parses with its key fields
//! right; an invalid request yields the error that leads to 400 (505 for badvers, 501
//! for unknown methods) and the answer can be built; an invalid response is dropped.
//! Application-level outcomes (401, 416, 420, 415, 481...) belong to the edge: for
//! those we assert the message parses and exposes what the edge decides on.
//!
//! Where the RFC allows two outcomes, the choice made is stated at the test.

use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, Scheme, SipMessage, StatusCode};
use sotto_sip::headers::NameAddr;
use sotto_sip::message::{
    bad_request_response, call_id, cseq, from_tag, percent_decode, serialize_into, to_tag, top_via,
    top_via_branch, ParseError, ParseErrorKind,
};

const ALL: [&str; 49] = [
    "badaspec",
    "badbranch",
    "baddate",
    "baddn",
    "badinv01",
    "badvers",
    "bcast",
    "bext01",
    "bigcode",
    "clerr",
    "cparam01",
    "cparam02",
    "dblreq",
    "esc01",
    "esc02",
    "escnull",
    "escruri",
    "insuf",
    "intmeth",
    "inv2543",
    "invut",
    "longreq",
    "ltgtruri",
    "lwsdisp",
    "lwsruri",
    "lwsstart",
    "mcl01",
    "mismatch01",
    "mismatch02",
    "mpart01",
    "multi01",
    "ncl",
    "noreason",
    "novelsc",
    "quotbal",
    "regaut01",
    "regbadct",
    "regescrt",
    "scalar02",
    "scalarlg",
    "sdp01",
    "semiuri",
    "transports",
    "trws",
    "unkscm",
    "unksm2",
    "unreason",
    "wsinv",
    "zeromf",
];

fn load(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/rfc4475/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> Result<SipMessage, ParseError> {
    sotto_sip::message::parse_datagram(&load(name))
}

fn request(name: &str) -> Request {
    match parse(name) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("{name}: expected a request, got {other:?}"),
    }
}

fn response(name: &str) -> Response {
    match parse(name) {
        Ok(SipMessage::Response(r)) => r,
        other => panic!("{name}: expected a response, got {other:?}"),
    }
}

fn other_header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.iter().find_map(|h| match h {
        Header::Other(n, v) if n.eq_ignore_ascii_case(name) => Some(v.as_str()),
        _ => None,
    })
}

/// Asserts `name` is refused with `kind` and answered with `status` (a response the
/// edge can send, carrying the request's Call-ID and a To tag), or dropped (`None`).
fn rejected(name: &str, kind: ParseErrorKind, status: Option<u16>) {
    let bytes = load(name);
    let err = sotto_sip::message::parse_datagram(&bytes).expect_err(name);
    assert_eq!(err.kind(), &kind, "{name}");
    assert_eq!(err.response_status(), status, "{name}");
    let answer = bad_request_response(&bytes, &err, "uas-tag");
    match status {
        None => assert!(answer.is_none(), "{name}: must be dropped"),
        Some(code) => {
            let answer = answer.unwrap_or_else(|| panic!("{name}: no answer built"));
            // The answer is well formed unless it had to echo the broken header.
            let echoed_fault = matches!(
                kind,
                ParseErrorKind::InvalidHeader("Via" | "From" | "To" | "Call-ID" | "CSeq")
            );
            if !echoed_fault {
                assert!(to_tag(&answer).is_some(), "{name}: To tag");
            }
            assert_eq!(answer.status_code.code(), code, "{name}");
            let raw = String::from_utf8_lossy(&bytes);
            assert!(
                raw.contains(call_id(&answer).unwrap()),
                "{name}: Call-ID copied"
            );
            let mut wire = Vec::new();
            serialize_into(&answer.into(), &mut wire);
            let start = format!(
                "SIP/2.0 {code} {}\r\n",
                sotto_sip::message::reason_phrase(code)
            );
            assert!(wire.starts_with(start.as_bytes()), "{name}");
            if !echoed_fault {
                let back = sotto_sip::message::parse_datagram(&wire)
                    .unwrap_or_else(|e| panic!("{name}: our {code} does not parse: {e}"));
                assert!(back.is_response());
            }
        }
    }
}

#[test]
fn every_fixture_is_handled_without_panic() {
    let dir = format!("{}/../fixtures/rfc4475", env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".sip").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, ALL);
    for name in ALL {
        let bytes = load(name);
        let _ = sotto_sip::message::parse_datagram(&bytes);
        // Also over a stream, one byte at a time: no panic, no hang.
        let mut framer = sotto_sip::message::StreamFramer::new();
        for b in &bytes {
            framer.push(std::slice::from_ref(b));
            while let Ok(Some(_)) = framer.next_message() {}
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    // Deterministic xorshift mutations (flip, delete, duplicate a byte) as fuzz seeds.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in ALL {
        let original = load(name);
        for _ in 0..100 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bytes.len() as u64) as usize;
                match next() % 3 {
                    0 => bytes[at] = next() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, bytes[at]),
                }
            }
            if let Err(e) = sotto_sip::message::parse_datagram(&bytes) {
                let _ = bad_request_response(&bytes, &e, "t");
            }
        }
    }
}

// §3.1.1 Valid messages: they parse, with their key fields right.

#[test]
fn wsinv_short_tortuous_invite() {
    let r = request("wsinv");
    assert_eq!(r.method, Method::Invite);
    assert_eq!(
        r.uri.to_string(),
        "sip:vivekg@chair-dnrc.example.com;unknownparam"
    );
    // Folding, odd case and LWS are resolved; leading zeros read.
    assert_eq!(call_id(&r), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(cseq(&r), Some((9, Method::Invite)));
    assert_eq!(from_tag(&r), Some("98asjd8"));
    // To already carries a tag: the edge answers 481 (no such dialog).
    assert_eq!(to_tag(&r), Some("1918181833n"));
    assert_eq!(r.max_forwards_header().unwrap().value(), "0068");
    let vias: Vec<_> = r
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value()),
            _ => None,
        })
        .collect();
    assert_eq!(
        vias,
        [
            "SIP/2.0/UDP 192.0.2.2;branch=390skdjuw",
            "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8",
            "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239",
        ]
    );
    // Top Via has no magic cookie: RFC 2543 transaction matching.
    let via = top_via(&r).unwrap();
    assert_eq!(via.branch, Some("390skdjuw"));
    assert!(!via.has_rfc3261_branch());
    // rsip's typed parsers read the normalised values.
    assert_eq!(
        r.via_header().unwrap().typed().unwrap().uri.to_string(),
        "192.0.2.2"
    );
    assert_eq!(
        other_header(&r, "NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        other_header(&r, "UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    assert_eq!(r.contact_headers().len(), 1);
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_unknown_method_gets_501() {
    // rsip's Method cannot hold this method: the parse error carries it, and the 501
    // (to which the edge adds Allow) is built from the raw headers.
    rejected(
        "intmeth",
        ParseErrorKind::UnknownMethod("!interesting-Method0123456789_*+`.%indeed'~".into()),
        Some(501),
    );
    let bytes = load("intmeth");
    let err = sotto_sip::message::parse_datagram(&bytes).unwrap_err();
    let answer = bad_request_response(&bytes, &err, "t").unwrap();
    assert_eq!(
        call_id(&answer),
        Some(r#"intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{"#)
    );
    assert_eq!(from_tag(&answer), Some("_token~1'+`*%!-."));
    assert_eq!(to_tag(&answer), Some("t"));
}

#[test]
fn esc01_escapes_decode_in_uris() {
    let r = request("esc01");
    assert_eq!(
        &*percent_decode(r.uri.user().unwrap()),
        b"sips:user@example.com"
    );
    assert_eq!(r.uri.host().to_string(), "example.net");
    let to = NameAddr::parse(r.to_header().unwrap().value(), "To").unwrap();
    let to_uri = to.rsip_uri().unwrap();
    assert_eq!(&*percent_decode(to_uri.user().unwrap()), b"user");
    // Contact URI params decode once: n%61me=v%61lue%25%34%31 → name=value%41.
    let contact = NameAddr::parse(r.contact_header().unwrap().value(), "Contact").unwrap();
    let uri = contact.rsip_uri().unwrap();
    let decoded: Vec<String> = uri
        .params
        .iter()
        .map(|p| String::from_utf8_lossy(&percent_decode(&p.to_string())).into_owned())
        .collect();
    assert_eq!(decoded, [";lr", ";name=value%41"]);
    assert_eq!(r.body.len(), 150);
}

#[test]
fn escnull_keeps_escaped_nuls_and_both_contacts() {
    let r = request("escnull");
    assert_eq!(r.method, Method::Register);
    let to = NameAddr::parse(r.to_header().unwrap().value(), "To").unwrap();
    assert_eq!(
        &*percent_decode(to.rsip_uri().unwrap().user().unwrap()),
        b"null-\0-null"
    );
    let contacts: Vec<_> = r
        .contact_headers()
        .iter()
        .map(|c| c.value().to_owned())
        .collect();
    assert_eq!(
        contacts,
        [
            "<sip:%00@host5.example.com>",
            "<sip:%00%00@host5.example.com>"
        ]
    );
}

#[test]
fn esc02_percent_method_is_unknown_and_gets_501() {
    rejected(
        "esc02",
        ParseErrorKind::UnknownMethod("RE%47IST%45R".into()),
        Some(501),
    );
}

#[test]
fn lwsdisp_display_name_without_space() {
    let r = request("lwsdisp");
    assert_eq!(from_tag(&r), Some("323"));
    let from = NameAddr::parse(r.from_header().unwrap().value(), "From").unwrap();
    assert_eq!(from.display_name.as_deref(), Some("caller"));
    assert_eq!(from.uri, "sip:caller@example.com");
}

#[test]
fn longreq_long_values_and_34_vias() {
    let r = request("longreq");
    let vias = r
        .headers
        .iter()
        .filter(|h| matches!(h, Header::Via(_)))
        .count();
    assert_eq!(vias, 34);
    assert_eq!(top_via(&r).unwrap().host, "sip33.example.com");
    assert_eq!(top_via_branch(&r), None);
    assert!(call_id(&r).unwrap().len() > 100);
    assert_eq!(r.body.len(), 150);
}

#[test]
fn dblreq_is_one_register_with_an_empty_body() {
    let r = request("dblreq");
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
}

#[test]
fn semiuri_user_part_holds_a_semicolon() {
    let r = request("semiuri");
    assert_eq!(
        &*percent_decode(r.uri.user().unwrap()),
        b"user;par=u@example.net"
    );
    assert_eq!(r.uri.host().to_string(), "example.com");
    assert!(r.uri.params.is_empty());
}

#[test]
fn transports_unknown_transport_is_just_a_via() {
    let r = request("transports");
    let transports: Vec<String> = r
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value().split(' ').next().unwrap().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        transports,
        [
            "SIP/2.0/UDP",
            "SIP/2.0/SCTP",
            "SIP/2.0/TLS",
            "SIP/2.0/UNKNOWN",
            "SIP/2.0/TCP"
        ]
    );
}

#[test]
fn mpart01_binary_multipart_body_is_framed_by_content_length() {
    let bytes = load("mpart01");
    let r = request("mpart01");
    assert_eq!(r.method, Method::Message);
    assert_eq!(r.body.len(), 553);
    assert_eq!(r.body[..], bytes[bytes.len() - 553..]);
    assert!(r
        .headers
        .iter()
        .any(|h| matches!(h, Header::ContentType(c) if c.value().starts_with("multipart/mixed"))));
    // And the body survives serialisation byte for byte.
    let mut wire = Vec::new();
    serialize_into(&r.clone().into(), &mut wire);
    assert!(wire.ends_with(&r.body));
}

#[test]
fn unreason_and_noreason_responses_parse() {
    // rsip keeps only the code for known statuses; the edge drops stray responses anyway.
    let r = response("unreason");
    assert_eq!(r.status_code, StatusCode::OK);
    assert_eq!(r.body.len(), 154);
    let r = response("noreason");
    assert_eq!(r.status_code, StatusCode::Trying);
    assert_eq!(cseq(&r), Some((35, Method::Invite)));
}

// §3.1.2 Invalid messages.

#[test]
fn invalid_requests_get_400() {
    use ParseErrorKind::*;
    for (name, kind) in [
        ("badinv01", InvalidHeader("Via")),
        (
            "clerr",
            Truncated {
                declared: 9999,
                available: 154,
            },
        ),
        ("ncl", ContentLength),
        ("scalar02", InvalidHeader("CSeq")),
        ("quotbal", InvalidHeader("To")),
        ("ltgtruri", RequestUri),
        // lwsruri: the RFC allows ignoring the space; we reject (strict request line).
        ("lwsruri", StartLine),
        // lwsstart, trws: the RFC allows tolerating the extra SPs; we reject.
        ("lwsstart", StartLine),
        ("trws", StartLine),
        // escruri: the RFC allows ignoring the URI headers; we reject (rsip's Uri
        // cannot keep them, and they must never become real headers).
        ("escruri", RequestUri),
        ("regbadct", InvalidHeader("Contact")),
        ("badaspec", InvalidHeader("To")),
        // baddn also lacks the blank line ending its headers; the From comma is met first.
        ("baddn", InvalidHeader("From")),
        ("mismatch01", CSeqMethodMismatch),
    ] {
        rejected(name, kind, Some(400));
    }
}

#[test]
fn badvers_gets_505() {
    rejected(
        "badvers",
        ParseErrorKind::VersionNotSupported("SIP/7.0".into()),
        Some(505),
    );
}

#[test]
fn mismatch02_unknown_method_wins_over_cseq_mismatch() {
    // The RFC prefers 501 over 400 here.
    rejected(
        "mismatch02",
        ParseErrorKind::UnknownMethod("NEWMETHOD".into()),
        Some(501),
    );
}

#[test]
fn baddate_is_accepted() {
    // Rejecting is allowed but discouraged; the Date value is not checked.
    let r = request("baddate");
    assert!(r
        .headers
        .iter()
        .any(|h| matches!(h, Header::Date(d) if d.value().ends_with("EST"))));
}

#[test]
fn invalid_responses_are_dropped() {
    rejected("scalarlg", ParseErrorKind::InvalidHeader("CSeq"), None);
    rejected("bigcode", ParseErrorKind::StatusCode, None);
}

// §3.2 Transaction layer.

#[test]
fn badbranch_bare_magic_cookie_gets_400() {
    // The RFC allows 400 or RFC 2543 matching; a branch of only the cookie would make
    // distinct requests collide in the transaction table, so we reject.
    rejected("badbranch", ParseErrorKind::InvalidHeader("Via"), Some(400));
}

// §3.3 Application layer: what the edge needs to decide.

#[test]
fn insuf_without_from_to_call_id_gets_a_400() {
    // The 400 cannot echo From/To/Call-ID, but Via and CSeq route and match it;
    // INDEX.md: "ideally 400".
    let bytes = load("insuf");
    let err = sotto_sip::message::parse_datagram(&bytes).expect_err("insuf");
    assert_eq!(err.kind(), &ParseErrorKind::MissingHeader("From"));
    assert_eq!(err.response_status(), Some(400));
    let answer = bad_request_response(&bytes, &err, "uas-tag").expect("a 400 is built");
    assert_eq!(answer.status_code.code(), 400);
    assert!(call_id(&answer).is_none() && to_tag(&answer).is_none());
    let mut wire = Vec::new();
    serialize_into(&answer.into(), &mut wire);
    assert!(wire.starts_with(b"SIP/2.0 400 Bad Request\r\nVia: "));
}

#[test]
fn unknown_request_uri_schemes_parse_for_a_416() {
    let r = request("unkscm");
    assert_eq!(
        r.uri.scheme,
        Some(Scheme::Other("nobodyKnowsThisScheme".into()))
    );
    let r = request("novelsc");
    assert_eq!(r.uri.scheme, Some(Scheme::Other("soap.beep".into())));
    let mut wire = Vec::new();
    serialize_into(&r.into(), &mut wire);
    assert!(wire.starts_with(b"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n"));
}

#[test]
fn unksm2_unknown_schemes_in_headers_parse() {
    // The registrar refuses a non-SIP AOR (400); the parse exposes the schemes.
    let r = request("unksm2");
    let uri = |v: &str| NameAddr::parse(v, "h").unwrap().uri;
    assert_eq!(uri(r.to_header().unwrap().value()), "isbn:2983792873");
    assert_eq!(
        uri(r.from_header().unwrap().value()),
        "http://www.example.com"
    );
    assert_eq!(uri(r.contact_header().unwrap().value()), "name:John_Smith");
}

#[test]
fn bext01_require_is_exposed_for_a_420() {
    let r = request("bext01");
    let require = r.headers.iter().find_map(|h| match h {
        Header::Require(v) => Some(v.value()),
        _ => None,
    });
    assert_eq!(
        require,
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
    assert!(r
        .headers
        .iter()
        .any(|h| matches!(h, Header::ProxyRequire(_))));
}

#[test]
fn invut_unknown_content_type_is_exposed_for_a_415() {
    let r = request("invut");
    assert!(r
        .headers
        .iter()
        .any(|h| matches!(h, Header::ContentType(c) if c.value() == "application/unknownformat")));
    assert_eq!(r.body.len(), 40);
}

#[test]
fn regaut01_unknown_authorization_scheme_parses() {
    let r = request("regaut01");
    assert!(r
        .authorization_header()
        .is_some_and(|a| a.value().starts_with("NoOneKnowsThisScheme")));
}

#[test]
fn multi01_and_mcl01_get_400() {
    rejected(
        "multi01",
        ParseErrorKind::DuplicateHeader("CSeq"),
        Some(400),
    );
    rejected("mcl01", ParseErrorKind::ContentLength, Some(400));
}

#[test]
fn bcast_response_parses() {
    let r = response("bcast");
    assert_eq!(r.status_code, StatusCode::OK);
    assert_eq!(
        r.headers
            .iter()
            .filter(|h| matches!(h, Header::Via(_)))
            .count(),
        2
    );
}

#[test]
fn zeromf_max_forwards_zero_parses() {
    assert_eq!(
        request("zeromf").max_forwards_header().unwrap().value(),
        "0"
    );
}

#[test]
fn cparam_contact_params_belong_where_the_brackets_say() {
    let c =
        |name| NameAddr::parse(request(name).contact_header().unwrap().value(), "Contact").unwrap();
    let c1 = c("cparam01");
    assert_eq!(c1.uri, "sip:+19725552222@gw1.example.net");
    assert_eq!(c1.params.get("unknownparam"), Some(None));
    let c2 = c("cparam02");
    assert_eq!(c2.uri, "sip:+19725552222@gw1.example.net;unknownparam");
    assert!(c2.params.is_empty());
}

#[test]
fn regescrt_escaped_route_stays_in_the_contact_uri() {
    // rsip's typed Uri would drop `?Route=`: the registrar stores the NameAddr URI text.
    let r = request("regescrt");
    let c = NameAddr::parse(r.contact_header().unwrap().value(), "Contact").unwrap();
    assert_eq!(
        c.uri,
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    );
    assert_eq!(
        c.uri_header("Route").as_deref(),
        Some("<sip:sip.example.com>")
    );
}

#[test]
fn sdp01_accept_is_exposed() {
    let r = request("sdp01");
    assert!(r
        .headers
        .iter()
        .any(|h| matches!(h, Header::Accept(a) if a.value() == "text/nobodyKnowsThis")));
}

// §3.4 Backward compatibility.

#[test]
fn inv2543_rfc2543_invite_parses() {
    let r = request("inv2543");
    assert_eq!(
        r.body.len(),
        105,
        "no Content-Length: the rest of the datagram"
    );
    assert_eq!(from_tag(&r), None);
    assert_eq!(top_via_branch(&r), None);
    assert!(r.max_forwards_header().is_err());
    // To is addr-spec: ;user=phone is a header parameter.
    let to = NameAddr::parse(r.to_header().unwrap().value(), "To").unwrap();
    assert_eq!(to.params.get("user"), Some(Some("phone")));
}

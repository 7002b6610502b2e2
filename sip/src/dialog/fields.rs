//! Reading the headers a dialog needs out of `rsip` messages.
//!
//! rsip 0.4 does not resolve compact header names (RFC 3261 §7.3.3), so `i`, `f`, `t`
//! and `m` arrive as `Header::Other`; they are accepted here as their long forms.

use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::{typed, Header, Headers, UriWithParams};

use super::error::HeaderProblem;

/// A header name with what is wrong with it.
pub(crate) type FieldError = (&'static str, HeaderProblem);

/// The value of the first header named `long` (or its compact form `short`).
fn first_value<'h>(
    headers: &'h Headers,
    short: &str,
    pick: impl Fn(&'h Header) -> Option<&'h str>,
) -> Option<&'h str> {
    headers.iter().find_map(|h| match h {
        Header::Other(name, value) if name.trim().eq_ignore_ascii_case(short) => {
            Some(value.as_str())
        }
        other => pick(other),
    })
}

pub(crate) fn call_id(headers: &Headers) -> Result<&str, FieldError> {
    first_value(headers, "i", |h| match h {
        Header::CallId(v) => Some(v.value()),
        _ => None,
    })
    .map(str::trim)
    .filter(|v| !v.is_empty())
    .ok_or(("Call-ID", HeaderProblem::Missing))
}

pub(crate) fn from(headers: &Headers) -> Result<typed::From, FieldError> {
    let value = first_value(headers, "f", |h| match h {
        Header::From(v) => Some(v.value()),
        _ => None,
    })
    .ok_or(("From", HeaderProblem::Missing))?;
    rsip::headers::From::new(value)
        .typed()
        .map_err(|_| ("From", HeaderProblem::Malformed))
}

pub(crate) fn to(headers: &Headers) -> Result<typed::To, FieldError> {
    let value = first_value(headers, "t", |h| match h {
        Header::To(v) => Some(v.value()),
        _ => None,
    })
    .ok_or(("To", HeaderProblem::Missing))?;
    rsip::headers::To::new(value)
        .typed()
        .map_err(|_| ("To", HeaderProblem::Malformed))
}

pub(crate) fn cseq(headers: &Headers) -> Result<typed::CSeq, FieldError> {
    let value = headers
        .iter()
        .find_map(|h| match h {
            Header::CSeq(v) => Some(v.value()),
            _ => None,
        })
        .ok_or(("CSeq", HeaderProblem::Missing))?;
    rsip::headers::CSeq::new(value)
        .typed()
        .map_err(|_| ("CSeq", HeaderProblem::Malformed))
}

/// The first Contact, if any. `Contact: *` only appears in REGISTER and is malformed here.
pub(crate) fn contact(headers: &Headers) -> Result<Option<typed::Contact>, FieldError> {
    let Some(value) = first_value(headers, "m", |h| match h {
        Header::Contact(v) => Some(v.value()),
        _ => None,
    }) else {
        return Ok(None);
    };
    // A Contact header may list several values; a dialog uses the first (§12.1.1).
    let first = split_header_list(value).next().unwrap_or(value);
    rsip::headers::Contact::new(first)
        .typed()
        .map(Some)
        .map_err(|_| ("Contact", HeaderProblem::Malformed))
}

/// Every Record-Route value in message order: all header lines, each split on commas.
pub(crate) fn record_route(headers: &Headers) -> Result<Vec<UriWithParams>, FieldError> {
    let mut out = Vec::new();
    for h in headers.iter() {
        if let Header::RecordRoute(v) = h {
            let list = v
                .typed()
                .map_err(|_| ("Record-Route", HeaderProblem::Malformed))?;
            out.extend(list.uris().iter().cloned());
        }
    }
    Ok(out)
}

/// Tag value of a From/To header, if present and non-empty.
pub(crate) fn tag_of(params: &[rsip::Param]) -> Option<&str> {
    params.iter().find_map(|p| match p {
        rsip::Param::Tag(t) => Some(t.value()).filter(|v| !v.is_empty()),
        _ => None,
    })
}

/// Split a header value on the commas that separate list elements, not those inside
/// `<...>` or quoted strings.
fn split_header_list(value: &str) -> impl Iterator<Item = &str> {
    let mut depth_angle = false;
    let mut quoted = false;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth_angle = true,
            '>' if !quoted => depth_angle = false,
            ',' if !quoted && !depth_angle => {
                parts.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim());
    parts.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let text = format!(
            "OPTIONS sip:a@b SIP/2.0\r\n{}\r\n",
            lines
                .iter()
                .map(|(n, v)| format!("{n}: {v}\r\n"))
                .collect::<String>()
        );
        rsip::Request::try_from(text.as_str()).unwrap().headers
    }

    #[test]
    fn compact_forms_are_read_as_long_forms() {
        let h = headers(&[
            ("i", "abc@host"),
            ("f", "<sip:alice@a.example>;tag=1"),
            ("t", "<sip:bob@b.example>;tag=2"),
            ("m", "<sip:alice@192.0.2.1>"),
        ]);
        assert_eq!(call_id(&h).unwrap(), "abc@host");
        assert_eq!(tag_of(&from(&h).unwrap().params), Some("1"));
        assert_eq!(tag_of(&to(&h).unwrap().params), Some("2"));
        assert_eq!(
            contact(&h).unwrap().unwrap().uri.to_string(),
            "sip:alice@192.0.2.1"
        );
    }

    #[test]
    fn record_route_lines_and_commas_keep_message_order() {
        let h = headers(&[
            ("Record-Route", "<sip:p3.example;lr>, <sip:p2.example;lr>"),
            ("Record-Route", "<sip:p1.example;lr>"),
        ]);
        let hosts: Vec<String> = record_route(&h)
            .unwrap()
            .iter()
            .map(|u| u.uri.host().to_string())
            .collect();
        assert_eq!(hosts, ["p3.example", "p2.example", "p1.example"]);
    }

    #[test]
    fn first_of_several_contacts_is_used() {
        let h = headers(&[("Contact", "\"A, B\" <sip:x@h1>, <sip:y@h2>")]);
        assert_eq!(contact(&h).unwrap().unwrap().uri.to_string(), "sip:x@h1");
    }
}

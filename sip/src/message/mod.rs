//! Placeholder until the message layer lands (parse, frame, serialise).

use rsip::SipMessage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

pub fn parse_datagram(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    SipMessage::try_from(bytes).map_err(|e| ParseError(e.to_string()))
}

pub fn bad_request_response(_bytes: &[u8], _err: &ParseError) -> Option<rsip::Response> {
    None
}

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

/// Placeholder framer.
#[derive(Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
}

impl StreamFramer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn next_message(&mut self) -> Result<Option<SipMessage>, ParseError> {
        let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(None);
        };
        let msg: Vec<u8> = self.buf.drain(..end + 4).collect();
        parse_datagram(&msg).map(Some)
    }
}

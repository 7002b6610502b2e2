//! Message framing on a stream transport (TCP, TLS): RFC 3261 §18.3.
//!
//! The head ends at the first empty line; Content-Length (absent = 0) gives the body.
//! CRLFs between messages are skipped (§7.5), and a CRLFCRLF there is an RFC 5626
//! §4.4.1 keep-alive ping, counted so the caller can answer the CRLF pong.

use super::error::{ParseError, ParseErrorKind};
use super::parse::parse_message;
use super::raw::{answerable, frame_head};
use rsip::SipMessage;

/// Default bound on one message (head and body), and so on the buffered bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Splits a byte stream into SIP messages. `push` what the socket gave, then call
/// `next_message` until it returns `Ok(None)` (need more bytes).
///
/// Errors come in two sorts. A message whose framing was sound but whose content is
/// bad is consumed: the error is returned (answer it as for a datagram) and the next
/// call goes on with the following message. A framing error (unusable Content-Length,
/// bare-LF head, a message over the size limit) leaves the stream unsynchronised: the
/// framer is *poisoned*, returns that error from every later call, and the caller
/// should close the connection (RFC 3261 §18.3, RFC 4475 §3.3.9 for mcl01).
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Offset of the first unconsumed byte in `buf`.
    start: usize,
    max_message_size: usize,
    /// Total length of the message at `start`, once its head has been framed.
    pending: Option<usize>,
    poisoned: Option<ParseError>,
    /// CRLF pairs skipped since the last message or ping.
    crlf_run: u32,
    pings: u32,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamFramer {
    /// A framer that refuses messages over [`DEFAULT_MAX_MESSAGE_SIZE`] octets.
    pub fn new() -> Self {
        Self::with_max_message_size(DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// A framer that refuses messages over `max_message_size` octets (head and body).
    pub fn with_max_message_size(max_message_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_message_size,
            pending: None,
            poisoned: None,
            crlf_run: 0,
            pings: 0,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.poisoned.is_some() {
            return;
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received and not yet returned as a message.
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Number of CRLFCRLF keep-alive pings seen since the last call; each deserves a
    /// CRLF pong (RFC 5626 §4.4.1).
    pub fn take_pings(&mut self) -> u32 {
        std::mem::take(&mut self.pings)
    }

    /// Whether a framing error ended the stream: every later call fails; close the
    /// connection.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// The next complete message; `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<SipMessage>, ParseError> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        if self.pending.is_none() {
            self.skip_keepalives();
            let rest = &self.buf[self.start..];
            if rest.is_empty() {
                return Ok(None);
            }
            match frame_head(rest) {
                Ok(None) if rest.len() > self.max_message_size => {
                    return Err(self.poison(ParseErrorKind::TooLarge(self.max_message_size)))
                }
                Ok(None) => return Ok(None),
                Err(()) => {
                    let kind = if memchr::memmem::find(rest, b"\r\n\r\n").is_none() {
                        ParseErrorKind::BareLineEnding
                    } else {
                        ParseErrorKind::ContentLength
                    };
                    return Err(self.poison(kind));
                }
                Ok(Some((head, body))) => {
                    let total = (head as u64).saturating_add(body);
                    if total > self.max_message_size as u64 {
                        return Err(self.poison(ParseErrorKind::TooLarge(self.max_message_size)));
                    }
                    self.pending = Some(total as usize);
                }
            }
        }
        let total = self.pending.unwrap_or_default();
        if self.buffered_len() < total {
            return Ok(None);
        }
        self.pending = None;
        self.crlf_run = 0;
        let bytes = &self.buf[self.start..self.start + total];
        self.start += total;
        parse_message(bytes).map(Some).map_err(|kind| {
            let answerable = answerable(bytes);
            ParseError::new(kind, answerable)
        })
    }

    fn skip_keepalives(&mut self) {
        let rest = &self.buf[self.start..];
        let mut i = 0;
        while i < rest.len() && (rest[i] == b'\r' || rest[i] == b'\n') {
            if rest[i] == b'\n' {
                self.crlf_run += 1;
                if self.crlf_run == 2 {
                    self.pings += 1;
                    self.crlf_run = 0;
                }
            }
            i += 1;
        }
        self.start += i;
    }

    fn poison(&mut self, kind: ParseErrorKind) -> ParseError {
        let answerable = answerable(&self.buf[self.start..]);
        let e = ParseError::new(kind, answerable);
        self.poisoned = Some(e.clone());
        self.buf = Vec::new();
        self.start = 0;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::prelude::*;

    fn msg(call_id: &str, body: &str) -> Vec<u8> {
        format!(
            "MESSAGE sip:u@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{call_id}\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:u@x>\r\nCall-ID: {call_id}\r\nCSeq: 1 MESSAGE\r\n\
l: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn call_id(m: &SipMessage) -> String {
        m.call_id_header().unwrap().value().to_owned()
    }

    #[test]
    fn messages_split_across_and_within_reads() {
        let mut stream = msg("a", "hello");
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend(msg("b", ""));
        stream.extend(msg("c", "x\r\n\r\ny"));
        let mut f = StreamFramer::new();
        let mut got = Vec::new();
        // One byte at a time: every split point is exercised.
        for b in &stream {
            f.push(std::slice::from_ref(b));
            while let Some(m) = f.next_message().unwrap() {
                got.push((call_id(&m), m.body().clone()));
            }
        }
        assert_eq!(
            got,
            vec![
                ("a".into(), b"hello".to_vec()),
                ("b".into(), vec![]),
                ("c".into(), b"x\r\n\r\ny".to_vec())
            ]
        );
        assert_eq!(f.take_pings(), 1);
        assert_eq!(f.buffered_len(), 0);
    }

    #[test]
    fn a_bad_message_with_sound_framing_does_not_stop_the_stream() {
        let mut f = StreamFramer::new();
        let mut bad = msg("a", "");
        let at = bad.windows(9).position(|w| w == b"1 MESSAGE").unwrap();
        bad[at + 2..at + 9].copy_from_slice(b"INVITE ");
        f.push(&bad);
        f.push(&msg("b", "ok"));
        let e = f.next_message().unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::CSeqMethodMismatch);
        assert!(e.can_respond());
        assert_eq!(call_id(&f.next_message().unwrap().unwrap()), "b");
    }

    #[test]
    fn framing_errors_poison_the_stream() {
        for (bytes, kind) in [
            (
                b"OPTIONS sip:u@x SIP/2.0\r\nContent-Length: -1\r\n\r\n".to_vec(),
                ParseErrorKind::ContentLength,
            ),
            (
                b"OPTIONS sip:u@x SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
                ParseErrorKind::ContentLength,
            ),
            (
                b"OPTIONS sip:u@x SIP/2.0\nVia: x\n\n".to_vec(),
                ParseErrorKind::BareLineEnding,
            ),
        ] {
            let mut f = StreamFramer::new();
            f.push(&bytes);
            assert_eq!(f.next_message().unwrap_err().kind(), &kind);
            assert!(f.is_poisoned());
            f.push(&msg("b", ""));
            assert_eq!(f.next_message().unwrap_err().kind(), &kind);
        }
    }

    #[test]
    fn the_buffer_is_bounded() {
        let mut f = StreamFramer::with_max_message_size(256);
        f.push(&[b'A'; 300]);
        assert_eq!(
            f.next_message().unwrap_err().kind(),
            &ParseErrorKind::TooLarge(256)
        );

        let mut f = StreamFramer::with_max_message_size(256);
        f.push(&msg("a", &"x".repeat(300))[..120]);
        assert!(f.next_message().is_ok_and(|m| m.is_none()));
        f.push(&msg("a", &"x".repeat(300))[120..]);
        assert_eq!(
            f.next_message().unwrap_err().kind(),
            &ParseErrorKind::TooLarge(256)
        );
    }
}

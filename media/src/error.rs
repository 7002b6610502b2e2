//! Errors: what a peer got wrong ([`PeerMisbehaved`]) is kept apart from what went wrong
//! here ([`Error::BufferTooSmall`]), so the runtime can count the first and fix the second.

/// A datagram that is not a well-formed RTP packet (RFC 3550 §5.1). The packet is dropped
/// and counted; the session goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// Shorter than the 12-byte fixed header, or than its CSRC list / extension claims.
    #[error("RTP packet of {len} bytes is shorter than its header")]
    Truncated {
        /// Datagram length.
        len: usize,
    },
    /// The version field is not 2 (RFC 3550 §5.1); STUN or garbage on the media port.
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    /// The P bit is set but the padding count is zero or longer than the payload
    /// (RFC 3550 §5.1: the count includes itself).
    #[error("RTP padding count {count} does not fit the {available} bytes after the header")]
    BadPadding {
        /// The last octet of the packet.
        count: u8,
        /// Octets after the header.
        available: usize,
    },
    /// The second octet is an RTCP packet type (200–204); RTCP reached the RTP path
    /// (RFC 5761 §4 demultiplexing belongs before the receiver).
    #[error("RTCP packet type {0} on the RTP path")]
    Rtcp(u8),
}

/// Everything this crate's operations can fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer sent something we cannot use.
    #[error(transparent)]
    Peer(#[from] PeerMisbehaved),
    /// A caller-owned output buffer is too small: a local bug, not the peer's.
    #[error("output buffer of {have} bytes cannot hold a {need}-byte packet")]
    BufferTooSmall {
        /// Bytes the packet needs.
        need: usize,
        /// Bytes the buffer has.
        have: usize,
    },
}

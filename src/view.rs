//! What the core publishes and the API shows: plain, serialisable views of
//! calls, registrations and recordings. Both the call core and the API use
//! these; neither imports the other for them.

use serde::{Deserialize, Serialize};

/// Where a call's signalling stands (the SIP session, not the agents' view of
/// the call, which is [`crate::callmodel::CallState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignallingState {
    /// INVITE received or sent, no answer yet.
    Ringing,
    /// A provisional response with SDP (183 Session Progress): early media flows.
    Early,
    /// Answered (2xx) and acknowledged.
    Connected,
    /// BYE or CANCEL sent or received; waiting for the transactions to finish.
    Ending,
}

/// Which side of the B2BUA a leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    /// The leg toward whoever sent us the INVITE.
    Caller,
    /// The leg we placed toward the callee (agent, trunk, ...).
    Callee,
}

/// One leg of a call: one SIP dialog and its RTP stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegSummary {
    pub id: String,
    pub role: LegRole,
    /// The peer's SIP address (`ip:port`, with transport if not UDP).
    pub remote_sip: String,
    /// The peer's RTP address from its SDP, once known.
    pub remote_rtp: Option<String>,
    pub local_rtp_port: Option<u16>,
    pub codec: Option<String>,
    pub packets_in: u64,
    pub packets_out: u64,
    /// Media counters of the leg (live while the call lasts).
    #[serde(default)]
    pub media: LegMedia,
}

/// What the media pipeline did with a leg's audio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegMedia {
    /// Packets missing from the sequence (RFC 3550 cumulative lost).
    pub lost: u64,
    /// Packets that arrived after their playout time.
    pub late: u64,
    pub duplicates: u64,
    /// Frames made up for missing packets.
    pub concealed: u64,
    /// Frames that went through the noise remover.
    pub denoised: u64,
    /// Interarrival jitter (RFC 3550 A.8) in milliseconds.
    pub jitter_ms: u64,
    /// Packets dropped before the pipeline (ring full, oversize) or on send.
    pub dropped: u64,
}

/// One call in progress, as the HTTP API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub id: String,
    pub state: SignallingState,
    /// The route that took the call (`echo`, `agent:agent1`, ...).
    pub route: String,
    pub from: String,
    pub to: String,
    pub codec: Option<String>,
    /// When the call started, in Unix milliseconds.
    pub since: u64,
    /// When it was answered, in Unix milliseconds.
    pub answered_at: Option<u64>,
    pub legs: Vec<LegSummary>,
    /// RFC 4733 digits received on the call, oldest first (the last 64).
    #[serde(default)]
    pub dtmf: String,
    /// For calls under agent control: the call model's state, its parties
    /// (role, join time, hold state) and the actions each may take now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<serde_json::Value>,
    /// What happened on the call (consult failed, control handed over, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::callmodel::CallEventView>,
}

/// One registrar binding (RFC 3261 §10.3) as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationView {
    /// The address-of-record, e.g. `sip:agent1@127.0.0.1`.
    pub aor: String,
    /// The Contact URI the binding points to.
    pub contact_uri: String,
    /// Where the REGISTER came from (`ip:port`), which may differ from the Contact
    /// behind a NAT.
    pub source_addr: String,
    pub transport: String,
    pub expires_at_unix: i64,
}

impl From<&crate::store::Registration> for RegistrationView {
    fn from(r: &crate::store::Registration) -> Self {
        RegistrationView {
            aor: r.aor.clone(),
            contact_uri: r.contact_uri.clone(),
            source_addr: r.source_addr.clone(),
            transport: r.transport.clone(),
            expires_at_unix: r.expires_at_unix,
        }
    }
}

/// A paused span of a recording as stored (JSON in the `pauses` column) and
/// served: milliseconds from the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseSpan {
    /// Where the silence starts.
    pub start_ms: u64,
    /// Where it ends.
    pub end_ms: u64,
}

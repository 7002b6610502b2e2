//! sotto: a SIP/RTP telephony edge for contact centres.
//!
//! The binary's parts: [`serve`] wires the SIP driver ([`sip_driver`]) with
//! call control ([`calls`]), the registrar, RTP media tasks ([`media_rt`]),
//! the HTTP API ([`http`]) and the store; [`uac`] is `sotto call`.

pub mod callmodel;
pub mod calls;
pub mod config;
pub mod control_api;
pub mod dial;
pub mod http;
pub mod live;
pub mod logging;
pub mod media_rt;
pub mod metrics;
pub mod recording;
pub mod registrar;
pub mod serve;
pub mod sip_driver;
pub mod store;
pub mod uac;

//! sotto: a SIP/RTP telephony edge for contact centres.
//!
//! A map of the modules is in `docs/ARCHITECTURE.md`. In short: [`serve`]
//! wires the SIP driver ([`sip_driver`]) to the call core ([`calls`], sans-IO,
//! with the call model [`callmodel`]) through the [`runtime`], which carries
//! the core's outputs to the media workers ([`media_rt`]), the [`recording`]
//! writer, the [`store`] and the views ([`view`], [`live`]) the HTTP API
//! ([`api`]) reads; [`uac`] is `sotto call`.

#![forbid(unsafe_code)]
// The edge crate documents its modules, not yet every public item.
#![allow(missing_docs)]

pub mod api;
pub mod callmodel;
pub mod calls;
pub mod config;
pub mod contact;
pub mod dial;
pub mod live;
pub mod logging;
pub mod media_rt;
pub mod recording;
pub mod registrar;
pub mod runtime;
pub mod serve;
pub mod sip_driver;
pub mod store;
pub mod uac;
pub mod view;

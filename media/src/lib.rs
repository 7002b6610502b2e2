pub mod codec;
pub mod error;
pub mod g711;
pub mod ids;
pub mod rtp_packet;
pub mod rtp_receiver;
pub mod sequence;

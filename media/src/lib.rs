pub mod codec;
pub mod error;
pub mod forward;
pub mod g711;
pub mod ids;
pub mod leg;
pub mod rtp_packet;
pub mod rtp_receiver;
pub mod rtp_sender;
pub mod sequence;
pub mod wav;
#[cfg(test)]
mod test_util;

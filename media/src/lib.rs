pub mod error;
pub mod g711;
pub mod ids;

pub mod config;
pub mod http;
pub mod live;
pub mod store;

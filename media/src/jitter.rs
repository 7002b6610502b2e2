//! jitter (being written).

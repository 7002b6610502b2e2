//! denoise (being written).

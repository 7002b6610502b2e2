//! mixer (being written).

//! transaction (to be written).

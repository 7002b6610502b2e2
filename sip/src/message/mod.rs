//! message (to be written).

//! dialog (to be written).

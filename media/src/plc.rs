//! plc (being written).

//! sdp (to be written).

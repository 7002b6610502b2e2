//! The sans-IO call model (in progress).

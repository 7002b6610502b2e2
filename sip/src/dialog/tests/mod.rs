//! Two dialogs driven against each other.

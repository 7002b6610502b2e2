//! Two dialogs driven against each other through REFER, NOTIFY and Replaces.

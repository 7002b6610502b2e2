//! The dialogs of one user agent, found by the dialog ID messages carry (§12.2.2).

use std::collections::HashMap;
use std::time::Instant;

use super::id::DialogId;
use super::reinvite::ReInviteRetry;
use super::state::{Dialog, DialogState};

/// Dialogs keyed by their ID as seen from our side.
#[derive(Debug, Clone, Default)]
pub struct DialogSet {
    dialogs: HashMap<DialogId, Dialog>,
}

impl DialogSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a dialog; a dialog with the same ID is replaced and returned.
    pub fn insert(&mut self, dialog: Dialog) -> Option<Dialog> {
        self.dialogs.insert(dialog.id().clone(), dialog)
    }

    pub fn get(&self, id: &DialogId) -> Option<&Dialog> {
        self.dialogs.get(id)
    }

    pub fn get_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        self.dialogs.get_mut(id)
    }

    pub fn remove(&mut self, id: &DialogId) -> Option<Dialog> {
        self.dialogs.remove(id)
    }

    pub fn len(&self) -> usize {
        self.dialogs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dialogs.is_empty()
    }

    /// The dialog an incoming request belongs to. `None` for a request outside any
    /// dialog; a request with a To tag that finds nothing must be answered 481 (§12.2.2).
    pub fn for_request(&mut self, request: &rsip::Request) -> Option<&mut Dialog> {
        self.dialogs
            .get_mut(&DialogId::from_request_as_uas(request)?)
    }

    /// The dialog an incoming response belongs to.
    pub fn for_response(&mut self, response: &rsip::Response) -> Option<&mut Dialog> {
        self.dialogs
            .get_mut(&DialogId::from_response_as_uac(response)?)
    }

    /// The earliest instant a dialog's [`Dialog::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.dialogs.values().filter_map(Dialog::poll_timeout).min()
    }

    /// Run due timers; the IDs of dialogs whose glare back-off ended are pushed to `due`
    /// (the caller sends their re-INVITEs again).
    pub fn handle_timeout(&mut self, now: Instant, due: &mut Vec<DialogId>) {
        for (id, dialog) in &mut self.dialogs {
            if let Some(ReInviteRetry) = dialog.handle_timeout(now) {
                due.push(id.clone());
            }
        }
    }

    /// Drop terminated dialogs; returns how many went.
    pub fn remove_terminated(&mut self) -> usize {
        let before = self.dialogs.len();
        self.dialogs
            .retain(|_, d| d.state() != DialogState::Terminated);
        before - self.dialogs.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.values()
    }
}

//! The queue of actions for the caller, each tagged with the reconcile
//! that asked for it: a failure the caller reports later concerns that
//! reconcile, and what it queued after the failed request may depend on
//! it (upstream's `syncJob` stops, or corrects its counts, at the failure).

use std::collections::VecDeque;

use super::action::Action;

/// One queued action and the reconcile it came from.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub sync: u64,
    pub action: Action,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Outbox {
    items: VecDeque<Queued>,
    /// The reconcile now running (or the latest): what new actions are
    /// tagged with.
    pub sync: u64,
    /// How many `UpdateStatus` are queued.
    writes: usize,
    /// The reconcile that queued the latest `UpdateStatus` (the machine's
    /// status is that write's content).
    pub last_write_sync: u64,
}

impl Outbox {
    pub(crate) fn push(&mut self, action: Action) {
        if matches!(action, Action::UpdateStatus(_)) {
            self.writes += 1;
            self.last_write_sync = self.sync;
        }
        self.items.push_back(Queued {
            sync: self.sync,
            action,
        });
    }

    pub(crate) fn extend(&mut self, actions: impl IntoIterator<Item = Action>) {
        for action in actions {
            self.push(action);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Action> {
        let action = self.items.pop_front()?.action;
        if matches!(action, Action::UpdateStatus(_)) {
            self.writes -= 1;
        }
        Some(action)
    }

    /// How many `UpdateStatus` are queued.
    pub(crate) fn queued_writes(&self) -> usize {
        self.writes
    }

    /// Removes and returns the queued actions `drop` picks, keeping the
    /// order of the rest.
    pub(crate) fn take_if(&mut self, mut drop: impl FnMut(&Queued) -> bool) -> Vec<Action> {
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(self.items.len());
        for q in self.items.drain(..) {
            if drop(&q) {
                if matches!(q.action, Action::UpdateStatus(_)) {
                    self.writes -= 1;
                }
                taken.push(q.action);
            } else {
                kept.push_back(q);
            }
        }
        self.items = kept;
        taken
    }

    /// The pods whose deletion is queued.
    pub(crate) fn deletions(&self) -> std::collections::BTreeSet<String> {
        self.items
            .iter()
            .filter_map(|q| match &q.action {
                Action::DeletePod { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every queued action, to correct them.
    pub(crate) fn all_mut(&mut self) -> impl Iterator<Item = &mut Action> {
        self.items.iter_mut().map(|q| &mut q.action)
    }

    /// The queued actions of one reconcile, to correct them.
    pub(crate) fn of_sync_mut(&mut self, sync: u64) -> impl Iterator<Item = &mut Action> {
        self.items
            .iter_mut()
            .filter(move |q| q.sync == sync)
            .map(|q| &mut q.action)
    }
}

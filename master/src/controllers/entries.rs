//! Large changes go to the store in several Raft entries of at most [`ENTRY_OBJECTS`] objects.
//!
//! Every master applies an entry whole on its Raft thread, and a Raft thread that is applying
//! sends no heartbeats and answers none. A ReplicaSet that created 10,000 pods in one entry,
//! and the scheduler pass that bound them in another, held the leader's Raft thread long
//! enough for a follower to call an election (bench-scale on 1,000 hollow nodes, session 11).
//! Kubernetes' ReplicaSet controller likewise creates at most 500 pods per sync.
//!
//! The entries of one change are proposed together, so they cost one replication round; the
//! Raft thread applies at most 1 MiB of committed entries per step and handles ticks and
//! heartbeats between steps (`store::MAX_APPLY_PER_READY`). Each entry is atomic; a change
//! split over several is not: a controller whose entry is refused (or that loses leadership)
//! finds the rest still to do at its next pass.
use bosun_shared::Object;

use crate::events::Recorder;
use crate::store::{Command, Op, Store, StoreError};

/// Objects changed by one entry at most, when a controller makes a large change.
pub const ENTRY_OBJECTS: usize = 500;

/// `items` in consecutive groups of at most [`ENTRY_OBJECTS`], in order.
pub fn in_entries<T>(items: Vec<T>) -> impl Iterator<Item = Vec<T>> {
    let mut items = items.into_iter().peekable();
    std::iter::from_fn(move || {
        items.peek()?;
        Some(items.by_ref().take(ENTRY_OBJECTS).collect())
    })
}

/// Proposes the entries' commands together (one replication round for all; the Raft thread
/// still applies them in steps), calls `committed` with the companion of each entry that is
/// committed, in order, and returns the first entry's error, if any failed.
pub async fn propose_entries<T>(
    store: &Store,
    entries: Vec<(Command, T)>,
    mut committed: impl FnMut(T),
) -> Result<(), StoreError> {
    let (commands, companions): (Vec<Command>, Vec<T>) = entries.into_iter().unzip();
    let results = futures::future::join_all(commands.into_iter().map(|c| store.propose(c))).await;
    let mut first_error = None;
    for (result, companion) in results.into_iter().zip(companions) {
        match result {
            Ok(_) => committed(companion),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Proposes a controller's `ops` on the objects `owner` controls, in entries of at most
/// [`ENTRY_OBJECTS`], and records the events of each entry that is committed. Returns the
/// first entry's error, if any failed.
pub async fn propose_owned(
    store: &Store,
    events: &Recorder,
    owner: &Object,
    ops: Vec<Op>,
    component: &str,
) -> Result<(), StoreError> {
    let entries = in_entries(ops)
        .map(|ops| {
            let recorded = Recorder::ops_events(owner, &ops, component);
            (Command { ops }, recorded)
        })
        .collect();
    propose_entries(store, entries, |recorded| events.record_all(recorded)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_order_and_size() {
        let sizes = |n: usize| -> Vec<usize> {
            in_entries((0..n).collect::<Vec<_>>())
                .map(|g| g.len())
                .collect()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(ENTRY_OBJECTS), vec![ENTRY_OBJECTS]);
        assert_eq!(
            sizes(2 * ENTRY_OBJECTS + 1),
            vec![ENTRY_OBJECTS, ENTRY_OBJECTS, 1]
        );
        let flat: Vec<usize> = in_entries((0..1_234).collect()).flatten().collect();
        assert_eq!(flat, (0..1_234).collect::<Vec<_>>());
    }
}

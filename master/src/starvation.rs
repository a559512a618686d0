//! The master's async runtime kept responsive: [`watch`] notices when it was starved and
//! says so in the log; [`compute`] runs a long computation without starving it.
//!
//! Tokio's workers are shared by every task: a task that computes for a long time between
//! two `.await`s holds a worker, and with both workers of a 2-core machine held, timers,
//! sockets and every other task wait. Nothing else reports it; the symptom elsewhere is a
//! slow API call or a peer that timed out. A timer that fires late by more than
//! [`REPORTED`] is logged with how late it was.
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// How often the probe's timer is due.
const PERIOD: Duration = Duration::from_millis(100);
/// A wake this much later than due is reported.
const REPORTED: Duration = Duration::from_millis(250);

/// Runs `f`, a computation that may take a while (a scheduling pass over thousands of
/// pods), on a worker that hands its other tasks to another thread first
/// (`block_in_place`), so timers and sockets keep being served meanwhile. On a
/// current-thread runtime (unit tests) `f` simply runs.
pub fn compute<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Runs until `shutdown` is cancelled.
pub async fn watch(shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(PERIOD);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let due = tokio::select! {
            _ = shutdown.cancelled() => return,
            due = interval.tick() => due,
        };
        let late = Instant::now().saturating_duration_since(due);
        if late > REPORTED {
            warn!(
                late_ms = late.as_millis() as u64,
                "the async runtime was starved: a timer fired late (a task computed too long between awaits)"
            );
        }
    }
}

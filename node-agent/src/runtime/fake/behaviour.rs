//! [`Behaviour`]: how the containers of a simulated node (`bosun hollow`) behave, and
//! [`State::settle`], which ends the runs that are over.
use std::time::{Duration, SystemTime};

use super::State;
use crate::runtime::RunState;

/// How the containers of a simulated node behave (`bosun hollow`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behaviour {
    /// Every image is present: nothing is pulled.
    pub any_image: bool,
    /// How long starting a container takes.
    pub start_delay: Duration,
    /// Containers exit on their own this long after they start (`None`: they run until
    /// stopped).
    pub run_for: Option<Duration>,
    /// The code they exit with then.
    pub exit_code: i64,
    /// Init containers complete (exit 0) this long after they start (`None`: as others).
    pub init_run_for: Option<Duration>,
}

impl State {
    /// Ends the containers whose [`Behaviour::run_for`] is over, as of `now` (lazily: no timer
    /// per container).
    /// A pod sandbox never ends on its own.
    pub(super) fn settle(&mut self, now: SystemTime) {
        let b = &self.behaviour;
        if b.run_for.is_none() && b.init_run_for.is_none() {
            return;
        }
        for c in self.containers.values_mut() {
            let o = &mut c.observed;
            let label = |k: &str| o.labels.get(k).map(String::as_str);
            let (run_for, code) =
                match (label(crate::labels::CONTAINER), label(crate::labels::INIT)) {
                    (Some(crate::sandbox::CONTAINER), _) => continue,
                    (_, Some("true")) if b.init_run_for.is_some() => (b.init_run_for, 0),
                    _ => (b.run_for, b.exit_code),
                };
            let Some(run_for) = run_for else { continue };
            let end = o.started_at.map(|s| s + run_for);
            if o.state == RunState::Running && end.is_some_and(|e| e <= now) {
                o.state = RunState::Exited;
                o.exit_code = Some(code);
                o.finished_at = end;
            }
        }
    }
}

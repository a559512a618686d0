//! [`Behaviour`]: how the containers of a simulated node (`bosun hollow`) behave, and
//! [`State::settle`], which ends the runs that are over.
use std::collections::BTreeMap;
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

impl Behaviour {
    /// How long a container with `labels` runs before it ends on its own, and the code it
    /// exits with (`None`: until stopped). Decided once, when the container is created.
    pub(super) fn run_of(&self, labels: &BTreeMap<String, String>) -> Option<(Duration, i64)> {
        let label = |k: &str| labels.get(k).map(String::as_str);
        let (run_for, code) = match (label(crate::labels::CONTAINER), label(crate::labels::INIT)) {
            (Some(crate::sandbox::CONTAINER), _) => return None,
            (_, Some("true")) if self.init_run_for.is_some() => (self.init_run_for, 0),
            _ => (self.run_for, self.exit_code),
        };
        Some((run_for?, code))
    }
}

impl State {
    /// Ends the containers whose run ([`Behaviour::run_of`]) is over, as of `now` (lazily: no
    /// timer per container). A pod sandbox never ends on its own.
    pub(super) fn settle(&mut self, now: SystemTime) {
        for c in self.containers.values_mut() {
            let Some((run_for, code)) = c.runs else {
                continue;
            };
            let o = &mut c.observed;
            let end = o.started_at.map(|s| s + run_for);
            if o.state == RunState::Running && end.is_some_and(|e| e <= now) {
                o.state = RunState::Exited;
                o.exit_code = Some(code);
                o.finished_at = end;
            }
        }
    }
}

//! Leaders elected in each phase of the run, counted from the masters' logs (`became raft
//! leader`). A client sees an election only if one of its calls happens to hit it; the logs
//! see every one, and a run that succeeds does not keep them.
use std::path::PathBuf;

/// What a master logs when it becomes the Raft leader.
const BECAME_LEADER: &str = "became raft leader";

/// Marks phase boundaries and keeps, per phase, the leaders elected.
pub struct PhaseElections {
    logs: Vec<PathBuf>,
    seen: usize,
    phases: Vec<(&'static str, usize)>,
}

impl PhaseElections {
    /// Starts the first phase now; the elections before it (the first leader) do not count.
    pub fn start(logs: Vec<PathBuf>) -> Self {
        let seen = count(&logs);
        PhaseElections {
            logs,
            seen,
            phases: Vec::new(),
        }
    }

    /// Ends the phase `name` now and starts the next one.
    pub fn end(&mut self, name: &'static str) {
        let now = count(&self.logs);
        self.phases.push((name, now.saturating_sub(self.seen)));
        self.seen = now;
    }

    /// One table row: `| leaders elected in <phase> / ... | a / b / ... |`.
    pub fn row(&self) -> String {
        let (names, counts): (Vec<&str>, Vec<String>) = self
            .phases
            .iter()
            .map(|(name, n)| (*name, n.to_string()))
            .unzip();
        format!(
            "| leaders elected in {} | {} |",
            names.join(" / "),
            counts.join(" / ")
        )
    }
}

/// `became raft leader` lines in all the logs so far.
fn count(logs: &[PathBuf]) -> usize {
    logs.iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .matches(BECAME_LEADER)
                .count()
        })
        .sum()
}

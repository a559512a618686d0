//! CPU each process used in each phase of the run, in cores (CPU seconds per second of the
//! phase): where the two cores went while a figure was measured.
use std::time::{Duration, Instant};

use bosun_tests::bench::cpu_time;

/// Marks phase boundaries and keeps, per phase, the cores each process used.
pub struct PhaseCpu {
    pids: Vec<u32>,
    since: Instant,
    used: Vec<Duration>,
    phases: Vec<(&'static str, Vec<f64>)>,
}

impl PhaseCpu {
    /// Starts the first phase now.
    pub fn start(pids: Vec<u32>) -> Self {
        let used = pids.iter().map(|p| cpu_time(&[*p])).collect();
        PhaseCpu {
            pids,
            since: Instant::now(),
            used,
            phases: Vec::new(),
        }
    }

    /// Ends the phase `name` now and starts the next one.
    pub fn end(&mut self, name: &'static str) {
        let wall = self.since.elapsed().as_secs_f64().max(1e-3);
        let used: Vec<Duration> = self.pids.iter().map(|p| cpu_time(&[*p])).collect();
        let cores = used
            .iter()
            .zip(&self.used)
            .map(|(now, before)| now.saturating_sub(*before).as_secs_f64() / wall)
            .collect();
        self.phases.push((name, cores));
        self.since = Instant::now();
        self.used = used;
    }

    /// One table row per phase: `| CPU in <phase>, cores: <who> | a / b / ... |`.
    pub fn rows(&self, who: &str) -> Vec<String> {
        self.phases
            .iter()
            .map(|(name, cores)| {
                let figures: Vec<String> = cores.iter().map(|c| format!("{c:.2}")).collect();
                format!("| CPU in {name}, cores: {who} | {} |", figures.join(" / "))
            })
            .collect()
    }
}

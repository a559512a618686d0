//! Resident memory of the benchmark's processes, sampled every second through the run.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_tests::bench::{quantile, rss};

/// Samples the resident memory of each process every second until `stop`.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Vec<u64>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(pids: Vec<u32>) -> Sampler {
        let samples = Arc::new(Mutex::new(vec![Vec::new(); pids.len()]));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                {
                    let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
                    for (i, pid) in pids.iter().enumerate() {
                        if let Some(b) = rss(*pid) {
                            s[i].push(b);
                        }
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        Sampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// (p95, peak) per process, in bytes.
    pub fn finish(mut self) -> Vec<(u64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples
            .iter()
            .map(|v| {
                let mut d: Vec<Duration> = v.iter().map(|b| Duration::from_nanos(*b)).collect();
                d.sort();
                let p95 = quantile(&d, 0.95).as_nanos() as u64;
                (p95, v.iter().copied().max().unwrap_or(0))
            })
            .collect()
    }
}

pub fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

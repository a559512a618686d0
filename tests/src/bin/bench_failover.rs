//! Benchmark: how long writes stop when the leader of 3 `bosun master` processes is SIGKILLed.
//!
//! A client issues a write (the creation of a new pod) every 10 ms without waiting for the
//! previous one, to one master at a time, moving to the next master when a write fails or
//! times out, and records when each write is acknowledged. Then, `--kills` times: find the
//! leader (cluster status), SIGKILL it, wait until a write succeeds again, restart the killed
//! master on the same data directory and port (same command line), and wait until it is a
//! follower whose commit index has reached the leader's. For each kill the figure is the
//! longest interval between two consecutive acknowledged writes from the last one before the
//! kill until one second after the restarted master has caught up.
//!
//! ```sh
//! cargo build --release && cargo run --release -p bosun-tests --bin bench-failover -- \
//!     [--kills 20] [--bosun target/release/bosun]
//! ```
//!
//! Every process and the temporary directory are removed at the end, on error too (guards).
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bosun_shared::client::Client;
use bosun_tests::bench::{self, padded_pod, quantile};
use bosun_tests::masters::{Joiners, MASTERS};
use bosun_tests::{wait_for_blocking, Masters};

/// Period of the client's writes.
const WRITE_PERIOD: Duration = Duration::from_millis(10);
/// A write unanswered after this long fails, and the client moves to the next master.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a cluster may take to start, recover or catch up.
const DEADLINE: Duration = Duration::from_secs(60);
/// Before a kill, the last acknowledged write must be at most this old (steady state).
const STEADY: Duration = Duration::from_millis(50);
/// After the restarted master has caught up, writes go on this long before the window of a
/// kill closes, so that a disturbance caused by the restart is counted too.
const SETTLE: Duration = Duration::from_secs(1);
/// Size of the annotation padding each pod written.
const PAD_BYTES: usize = 256;

/// Command-line options.
struct Options {
    /// Leader kills.
    kills: usize,
    /// The `bosun` binary.
    bosun: PathBuf,
}

/// Parses the command line.
fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        kills: 20,
        bosun: PathBuf::from("target/release/bosun"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--kills" => o.kills = args.next().context("--kills N")?.parse()?,
            "--bosun" => o.bosun = args.next().context("--bosun PATH")?.into(),
            other => {
                bail!("unknown argument {other}; usage: bench-failover [--kills N] [--bosun PATH]")
            }
        }
    }
    ensure!(o.kills > 0, "--kills must be positive");
    ensure!(
        o.bosun.exists(),
        "{} does not exist: run `cargo build --release` first",
        o.bosun.display()
    );
    Ok(o)
}

// ---- the writing client -----------------------------------------------------------------------

/// What the writing client shares with the benchmark.
#[derive(Default)]
struct Writes {
    /// When each acknowledged write was issued and when it was acknowledged, in completion
    /// order.
    acked: Mutex<Vec<(Instant, Instant)>>,
    /// The message of the first failure, for the report.
    first_error: Mutex<Option<String>>,
    /// Writes that failed or timed out.
    failed: AtomicU64,
    /// The master writes currently go to.
    target: AtomicUsize,
    /// Set to stop the client.
    stop: AtomicBool,
}

impl Writes {
    fn acked(&self) -> MutexGuard<'_, Vec<(Instant, Instant)>> {
        // Pushing an Instant cannot leave the list half-changed: take a poisoned lock over.
        self.acked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the latest write was acknowledged.
    fn last_ack(&self) -> Option<Instant> {
        self.acked().iter().map(|(_, acked)| *acked).max()
    }

    /// When the first write issued after `t` was acknowledged, once one has been.
    fn first_ack_of_write_issued_after(&self, t: Instant) -> Option<Instant> {
        self.acked()
            .iter()
            .filter(|(issued, _)| *issued > t)
            .map(|(_, acked)| *acked)
            .min()
    }

    /// A write through master `i` failed with `error`: move to the next master, unless another
    /// failure already did.
    fn failed_on(&self, i: usize, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(error);
        let _ = self.target.compare_exchange(
            i,
            (i + 1) % MASTERS,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The longest interval between consecutive acknowledgements from the last one at or before
    /// `from` up to `to`.
    fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let mut acks: Vec<Instant> = self.acked().iter().map(|(_, acked)| *acked).collect();
        acks.sort_unstable();
        let first = acks.iter().rposition(|t| *t <= from).unwrap_or(0);
        let window: Vec<Instant> = acks[first..].iter().copied().filter(|t| *t <= to).collect();
        window
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default()
    }
}

/// Issues a write every [`WRITE_PERIOD`] until stopped, each in its own task so that a slow
/// write does not delay the next.
async fn write_loop(clients: Vec<Client>, writes: Arc<Writes>) {
    let mut tick = tokio::time::interval(WRITE_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 0u64;
    while !writes.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        seq += 1;
        let i = writes.target.load(Ordering::Relaxed);
        let (client, writes) = (clients[i].clone(), writes.clone());
        tokio::spawn(async move {
            let obj = padded_pod(format!("failover-{seq}"), PAD_BYTES);
            let issued = Instant::now();
            match tokio::time::timeout(WRITE_TIMEOUT, client.create(&obj)).await {
                Ok(Ok(_)) => writes.acked().push((issued, Instant::now())),
                Ok(Err(e)) => writes.failed_on(i, format!("m{}: {e}", i + 1)),
                Err(_) => writes.failed_on(i, format!("m{}: timed out", i + 1)),
            }
        });
    }
}

// ---- the kills --------------------------------------------------------------------------------

/// What one kill measured.
struct Kill {
    /// Index of the killed leader and of the next one.
    killed: usize,
    new_leader: usize,
    /// From the kill until the acknowledgement of the first write issued after it.
    to_first_write: Duration,
    /// The longest interval without an acknowledged write around the kill.
    gap: Duration,
    /// From the restart until the restarted master was a caught-up follower.
    catch_up: Duration,
}

/// Kills the leader once, waits for writes to resume, restarts it and waits until it caught up.
/// Blocks: run it with `block_in_place`.
fn kill_once(m: &Masters, writes: &Writes) -> anyhow::Result<Kill> {
    let (killed, _) = m.leader()?;
    wait_for_blocking("steady writes", DEADLINE, || {
        Ok(writes.last_ack().filter(|t| t.elapsed() <= STEADY))
    })?;
    let killed_at = Instant::now();
    m.kill(killed)?;
    let resumed = wait_for_blocking("a write after the kill", DEADLINE, || {
        Ok(writes.first_ack_of_write_issued_after(killed_at))
    })?;
    let (new_leader, leader) = m.leader()?;
    let restarted_at = Instant::now();
    m.start(killed)?;
    // Asked itself: a follower that has committed and applied what the new leader had.
    let what = format!("{} to follow and catch up", m.name(killed));
    m.wait_status_of(killed, &what, |s| {
        s.member(killed).is_some_and(|me| {
            me.role == "follower" && me.commit >= leader.commit && me.applied >= leader.commit
        })
    })?;
    let caught_up = Instant::now();
    // Not a wait for a condition: the window over which the gap is measured.
    std::thread::sleep(SETTLE);
    Ok(Kill {
        killed,
        new_leader,
        to_first_write: resumed - killed_at,
        gap: writes.longest_gap(killed_at, Instant::now()),
        catch_up: caught_up - restarted_at,
    })
}

/// Milliseconds, whole.
fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Prints one line per kill and the summary of the gaps.
fn report(kills: &[Kill], writes: &Writes, bin: &Path) {
    println!(
        "| kill | killed | new leader | kill -> first write | longest gap | restart -> caught up |"
    );
    println!("| ---: | --- | --- | ---: | ---: | ---: |");
    for (n, k) in kills.iter().enumerate() {
        println!(
            "| {} | m{} | m{} | {} | {} | {} |",
            n + 1,
            k.killed + 1,
            k.new_leader + 1,
            ms(k.to_first_write),
            ms(k.gap),
            ms(k.catch_up)
        );
    }
    let mut gaps: Vec<Duration> = kills.iter().map(|k| k.gap).collect();
    gaps.sort_unstable();
    println!(
        "longest gap over {} kills: min {}, median {}, p99 {}, max {}",
        gaps.len(),
        ms(quantile(&gaps, 0.0)),
        ms(quantile(&gaps, 0.5)),
        ms(quantile(&gaps, 0.99)),
        ms(quantile(&gaps, 1.0))
    );
    println!(
        "writes acknowledged {}, failed or timed out {}",
        writes.acked().len(),
        writes.failed.load(Ordering::Relaxed)
    );
    if let Some(e) = writes.first_error.lock().ok().and_then(|e| e.clone()) {
        println!("first failure: {e}");
    }
    bench::print_revision(bin);
}

/// Starts the masters and the client, then kills the leader `kills` times.
async fn run(o: &Options) -> anyhow::Result<()> {
    // Each joiner a voter before the next starts (two masters joining at the same moment were
    // both given the same member id).
    let m = tokio::task::block_in_place(|| {
        Masters::launch(&o.bosun, "bench-failover-", Joiners::OneAtATime)
    })?;
    let mut clients = Vec::new();
    for i in 0..MASTERS {
        clients.push(Client::connect(&m.addr(i), &m.credentials()?).await?);
    }
    let writes = Arc::new(Writes::default());
    let client = tokio::spawn(write_loop(clients, writes.clone()));
    let mut kills = Vec::new();
    for n in 0..o.kills {
        let k = tokio::task::block_in_place(|| kill_once(&m, &writes))?;
        eprintln!(
            "kill {}: m{} -> m{}: longest gap {}",
            n + 1,
            k.killed + 1,
            k.new_leader + 1,
            ms(k.gap)
        );
        kills.push(k);
    }
    writes.stop.store(true, Ordering::Relaxed);
    client.await.context("client task panicked")?;
    report(&kills, &writes, &o.bosun);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    bench::block_on(run(&o))
}

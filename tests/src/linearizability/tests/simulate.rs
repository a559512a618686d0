//! Randomized histories recorded by clients of a simulated in-memory store: they pass, and fail
//! (at the right operation) once a read is corrupted; a small budget makes them undecided.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{op, Rng, BUDGET};
use crate::linearizability::{check, Op, Operation};

/// An operation a simulated client has sent: what it is and, once it has taken effect on
/// the register, what it saw.
struct InFlight {
    key: String,
    op: Op,
    call: u64,
    /// Whether it took effect (reads: what they saw is in `op` by then).
    done: bool,
    /// Whether its client will never learn the outcome.
    lost: bool,
}

/// Simulates `clients` clients running `count` operations against real in-memory registers,
/// each taking effect at a random point within its call and return; `lost_percent` of them
/// end with an unknown outcome (having taken effect or not).
pub(super) fn simulate(
    seed: u64,
    count: usize,
    keys: usize,
    clients: usize,
    lost_percent: u64,
) -> Vec<Operation> {
    let mut rng = Rng(seed);
    let mut registers: HashMap<String, String> = HashMap::new();
    let mut in_flight: Vec<Option<InFlight>> = (0..clients).map(|_| None).collect();
    let (mut history, mut started, mut time) = (Vec::new(), 0, 0);
    while history.len() < count {
        time += 1 + rng.below(3);
        let client = rng.below(clients as u64) as usize;
        match in_flight[client].take() {
            None if started < count => {
                started += 1;
                let key = format!("k{}", rng.below(keys as u64));
                let op = random_op(&mut rng, registers.get(&key), started);
                let lost = rng.chance(lost_percent);
                in_flight[client] = Some(InFlight {
                    key,
                    op,
                    call: time,
                    done: false,
                    lost,
                });
            }
            None => {}
            Some(mut flight) if !flight.done => {
                // A lost operation may also never take effect.
                if !(flight.lost && rng.chance(50)) {
                    apply(&mut registers, &mut flight);
                }
                flight.done = true;
                in_flight[client] = Some(flight);
            }
            Some(flight) => {
                let ret = (!flight.lost).then_some(time);
                history.push(op(client, &flight.key, flight.op, flight.call, ret));
            }
        }
    }
    history
}

/// A random operation; values written are unique (`v<n>`).
fn random_op(rng: &mut Rng, current: Option<&String>, n: usize) -> Op {
    match rng.below(10) {
        0..4 => Op::Read { value: None },
        4..7 => Op::Write {
            value: format!("v{n}"),
        },
        _ => {
            let expected = match rng.below(4) {
                0 | 1 => current.cloned(),
                2 => None,
                _ => Some(format!("v{}", rng.below(n as u64))),
            };
            Op::Cas {
                expected,
                new: format!("v{n}"),
                ok: false,
            }
        }
    }
}

/// Takes `flight` into effect on the registers, recording what it saw.
fn apply(registers: &mut HashMap<String, String>, flight: &mut InFlight) {
    let current = registers.get(&flight.key).cloned();
    match &mut flight.op {
        Op::Read { value } => *value = current,
        Op::Write { value } => {
            registers.insert(flight.key.clone(), value.clone());
        }
        Op::Cas { expected, new, ok } => {
            *ok = *expected == current;
            if *ok {
                registers.insert(flight.key.clone(), new.clone());
            }
        }
    }
}

/// Indices of reads with a known outcome.
fn known_reads(history: &[Operation]) -> Vec<usize> {
    (0..history.len())
        .filter(|&i| matches!(history[i].op, Op::Read { .. }) && history[i].ret.is_some())
        .collect()
}

/// Makes read `i` see `value` and checks that the history fails, naming read `i`.
/// Makes read `i` see `value`, checks that the history fails at read `i`'s return, and
/// returns how long the check took.
fn assert_corruption_caught(history: &[Operation], i: usize, value: String) -> Duration {
    let mut corrupted = history.to_vec();
    corrupted[i].op = Op::Read { value: Some(value) };
    let started = Instant::now();
    let verdict = check(&corrupted, &HashMap::new(), BUDGET);
    let elapsed = started.elapsed();
    assert!(!verdict.linearizable, "corrupted read #{i} not caught");
    assert_eq!(verdict.failures.len(), 1, "{verdict:?}");
    let failure = &verdict.failures[0];
    assert!(failure.contains("not linearizable"), "{failure}");
    let culprit = format!("#{i} client");
    let line = failure.lines().find(|line| line.contains(&culprit));
    assert!(line.is_some_and(|l| l.ends_with("<-")), "{failure}");
    elapsed
}

/// A value written on `key` by an operation called after `after` (so no read returning by
/// then can have seen it).
fn later_value(history: &[Operation], key: &str, after: u64) -> Option<String> {
    history.iter().find_map(|o| match &o.op {
        Op::Write { value } | Op::Cas { new: value, .. } if o.key == key && o.call > after => {
            Some(value.clone())
        }
        _ => None,
    })
}

/// A value read `i` cannot have seen (values are unique): one written by a known write or
/// successful compare-and-swap that returned before another one, writing something else,
/// was called, which returned before the read was called.
fn stale_value(history: &[Operation], i: usize) -> Option<String> {
    let read = &history[i];
    let written = |o: &Operation| match &o.op {
        Op::Write { value }
        | Op::Cas {
            new: value,
            ok: true,
            ..
        } if o.key == read.key && o.ret.is_some() => Some(value.clone()),
        _ => None,
    };
    let overwrite = history
        .iter()
        .rev()
        .find(|o| o.ret.is_some_and(|ret| ret < read.call) && written(o).is_some())?;
    let newer = written(overwrite)?;
    history.iter().rev().find_map(|o| {
        let value = written(o)?;
        (o.ret? < overwrite.call && value != newer).then_some(value)
    })
}

#[test]
fn random_small_histories_pass_and_corrupted_ones_fail() {
    for seed in 0..60 {
        let history = simulate(seed, 300, 2, 2 + seed as usize % 7, 3);
        let verdict = check(&history, &HashMap::new(), BUDGET);
        assert!(verdict.linearizable, "seed {seed}: {verdict:?}");
        let reads = known_reads(&history);
        let mut rng = Rng(seed + 1000);
        let i = reads[rng.below(reads.len() as u64) as usize];
        assert_corruption_caught(&history, i, "never-written".to_string());
        let (key, ret) = (&history[i].key, history[i].ret.unwrap_or(u64::MAX));
        if let Some(value) = later_value(&history, key, ret) {
            assert_corruption_caught(&history, i, value);
        }
        if let Some(value) = stale_value(&history, i) {
            assert_corruption_caught(&history, i, value);
        }
    }
}

#[test]
fn random_10k_history_passes_and_corrupted_reads_fail() {
    for lost_percent in [1, 10] {
        let history = simulate(42, 10_000, 5, 16, lost_percent);
        let unknown = history.iter().filter(|o| o.ret.is_none()).count();
        let started = Instant::now();
        let verdict = check(&history, &HashMap::new(), BUDGET);
        let elapsed = started.elapsed();
        assert!(verdict.linearizable, "{verdict:?}");
        let reads = known_reads(&history);
        let i = reads[reads.len() / 2];
        let (key, ret) = (&history[i].key, history[i].ret.unwrap_or(u64::MAX));
        let later = later_value(&history, key, ret).expect("a later write on the key");
        let stale = stale_value(&history, i).expect("two earlier writes on the key");
        let corrupted = [
            assert_corruption_caught(&history, i, "never-written".to_string()),
            assert_corruption_caught(&history, i, later),
            assert_corruption_caught(&history, i, stale),
        ];
        eprintln!(
            "10k operations (5 keys, 16 clients, {unknown} unknown outcomes): linearizable, \
             checked in {elapsed:?}; with read #{i} corrupted (never written, written later, \
             stale): not linearizable, checked and explained in {corrupted:?}"
        );
    }
}

#[test]
fn exhausted_budget_is_undecided_not_linearizable() {
    let history = simulate(7, 2_000, 1, 8, 1);
    assert!(check(&history, &HashMap::new(), BUDGET).linearizable);
    let verdict = check(&history, &HashMap::new(), 100);
    assert!(!verdict.linearizable);
    assert_eq!(verdict.failures.len(), 1, "{verdict:?}");
    assert!(verdict.failures[0].contains("undecided"), "{verdict:?}");
}

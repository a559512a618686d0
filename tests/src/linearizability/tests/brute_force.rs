//! Cross-checks against an exhaustive search straight from the definitions, on tiny random
//! histories and on small simulated ones with one operation broken.

use std::collections::HashMap;

use super::simulate::simulate;
use super::{cas, read, write, Rng, BUDGET};
use crate::linearizability::{check, Op, Operation};

/// Whether some order of `ops` (all on one key) explains them: exhaustive, straight from the
/// definitions, for cross-checking [`check`] on tiny histories.
fn brute_force(ops: &[Operation], state: Option<String>, placed: &mut [bool]) -> bool {
    let pending_known = |placed: &[bool], j: usize| !placed[j] && ops[j].ret.is_some();
    if !(0..ops.len()).any(|j| pending_known(placed, j)) {
        return true;
    }
    for i in 0..ops.len() {
        // Real time: nothing still to place may have returned before `i` was called.
        let blocked =
            (0..ops.len()).any(|j| pending_known(placed, j) && ops[j].ret < Some(ops[i].call));
        let known = ops[i].ret.is_some();
        let next = match &ops[i].op {
            _ if placed[i] || blocked => continue,
            Op::Read { .. } if !known => continue,
            Op::Read { value } if *value == state => state.clone(),
            Op::Read { .. } => continue,
            Op::Write { value } => Some(value.clone()),
            Op::Cas { expected, new, ok } if *expected == state && (*ok || !known) => {
                Some(new.clone())
            }
            Op::Cas {
                expected,
                ok: false,
                ..
            } if *expected != state && known => state.clone(),
            Op::Cas { .. } => continue,
        };
        placed[i] = true;
        let found = brute_force(ops, next, placed);
        placed[i] = false;
        if found {
            return true;
        }
    }
    false
}

/// A tiny random history on key "x" over values a, b, c: most are not linearizable.
fn tiny_history(rng: &mut Rng) -> Vec<Operation> {
    let value = |rng: &mut Rng| ["a", "b", "c"][rng.below(3) as usize];
    (0..1 + rng.below(8) as usize)
        .map(|client| {
            let call = rng.below(20);
            let ret = (!rng.chance(25)).then(|| call + rng.below(12));
            match rng.below(3) {
                0 => read(client, rng.chance(80).then(|| value(rng)), call, ret),
                1 => write(client, value(rng), call, ret),
                _ => {
                    let expected = rng.chance(80).then(|| value(rng));
                    cas(client, (expected, value(rng), rng.chance(50)), call, ret)
                }
            }
        })
        .collect()
}

#[test]
fn agrees_with_brute_force_on_tiny_histories() {
    let mut rng = Rng(3);
    let (mut linearizable, mut not) = (0, 0);
    for case in 0..20_000 {
        let history = tiny_history(&mut rng);
        let start = rng.chance(50).then(|| "a".to_string());
        let initial: HashMap<String, String> =
            start.iter().map(|v| ("x".to_string(), v.clone())).collect();
        let expected = brute_force(&history, start, &mut vec![false; history.len()]);
        let verdict = check(&history, &initial, BUDGET);
        assert_eq!(
            verdict.linearizable, expected,
            "case {case}: {history:#?}\n{verdict:?}"
        );
        if expected {
            linearizable += 1;
        } else {
            not += 1;
        }
    }
    assert!(
        linearizable > 2_000 && not > 2_000,
        "{linearizable} vs {not}"
    );
}

/// Breaks one operation of `history` at random, or not: a read sees the last value written,
/// a compare-and-swap's result flips, a call moves later, or an outcome becomes unknown (or
/// known again).
fn perturb(rng: &mut Rng, history: &mut [Operation]) {
    let last_written = history.iter().rev().find_map(|o| match &o.op {
        Op::Write { value } => Some(value.clone()),
        _ => None,
    });
    let operation = &mut history[rng.below(history.len() as u64) as usize];
    match (rng.below(5), &mut operation.op) {
        (1, Op::Read { value }) => *value = last_written,
        (2, Op::Cas { ok, .. }) => *ok = !*ok,
        (3, _) => {
            operation.call += rng.below(6);
            operation.ret = operation.ret.map(|ret| ret.max(operation.call));
        }
        (4, _) if operation.ret.is_some() => operation.ret = None,
        (4, _) => operation.ret = Some(operation.call + rng.below(8)),
        _ => {}
    }
}

#[test]
fn agrees_with_brute_force_on_simulated_histories() {
    let (mut linearizable, mut not) = (0, 0);
    for seed in 0..3_000 {
        let mut rng = Rng(seed);
        let (count, clients) = (6 + rng.below(10) as usize, 2 + rng.below(6) as usize);
        let mut history = simulate(seed, count, 1, clients, 20);
        perturb(&mut rng, &mut history);
        let expected = brute_force(&history, None, &mut vec![false; history.len()]);
        let verdict = check(&history, &HashMap::new(), BUDGET);
        assert_eq!(
            verdict.linearizable, expected,
            "seed {seed}: {history:#?}\n{verdict:?}"
        );
        if expected {
            linearizable += 1;
        } else {
            not += 1;
        }
    }
    assert!(linearizable > 1_000 && not > 100, "{linearizable} vs {not}");
}

//! Tests of the checker: hand-written histories, and the helpers the randomized tests share.
//! `simulate`: histories recorded from a simulated store, passing, and failing once corrupted;
//! `brute_force`: agreement with an exhaustive search on tiny histories.

mod brute_force;
mod simulate;

use std::collections::HashMap;

use super::prune::mix;
use super::{check, Op, Operation};

/// Plenty for every hand-written history and the randomized ones.
const BUDGET: u64 = 50_000_000;

fn op(client: usize, key: &str, op: Op, call: u64, ret: Option<u64>) -> Operation {
    Operation {
        client,
        key: key.to_string(),
        op,
        call,
        ret,
    }
}

/// A read of key "x" by `client` over `[call, ret]` that saw `value`.
fn read(client: usize, value: Option<&str>, call: u64, ret: Option<u64>) -> Operation {
    let value = value.map(str::to_string);
    op(client, "x", Op::Read { value }, call, ret)
}

fn write(client: usize, value: &str, call: u64, ret: Option<u64>) -> Operation {
    let value = value.to_string();
    op(client, "x", Op::Write { value }, call, ret)
}

fn cas(
    client: usize,
    (expected, new, ok): (Option<&str>, &str, bool),
    call: u64,
    ret: Option<u64>,
) -> Operation {
    let (expected, new) = (expected.map(str::to_string), new.to_string());
    op(client, "x", Op::Cas { expected, new, ok }, call, ret)
}

fn initial(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A named history, the initial values, and whether it is linearizable.
type Case<'a> = (&'a str, Vec<Operation>, &'a HashMap<String, String>, bool);

#[test]
fn hand_written_histories() {
    let none = initial(&[]);
    let x_is_a = initial(&[("x", "a")]);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("empty", vec![], &none, true),
        ("sequential write then read", vec![
            write(0, "a", 0, Some(10)), read(1, Some("a"), 20, Some(30))], &none, true),
        ("read of the initial value", vec![read(0, Some("a"), 0, Some(10))], &x_is_a, true),
        ("read of an absent key", vec![read(0, None, 0, Some(10))], &none, true),
        ("absent read of a key with a value", vec![read(0, None, 0, Some(10))], &x_is_a, false),
        ("overlapping read sees the new value", vec![
            write(0, "b", 0, Some(10)), read(1, Some("b"), 5, Some(15))], &x_is_a, true),
        ("overlapping read sees the old value", vec![
            write(0, "b", 0, Some(10)), read(1, Some("a"), 5, Some(15))], &x_is_a, true),
        ("read of a value never written", vec![
            write(0, "b", 0, Some(10)), read(1, Some("c"), 5, Some(15))], &x_is_a, false),
        ("stale read after a completed write", vec![
            write(0, "b", 0, Some(10)), read(1, Some("a"), 20, Some(30))], &x_is_a, false),
        ("a return and a call at the same instant are concurrent", vec![
            write(0, "b", 0, Some(10)), read(1, Some("a"), 10, Some(20))], &x_is_a, true),
        ("read of a value written only later", vec![
            read(1, Some("b"), 0, Some(10)), write(0, "b", 20, Some(30))], &x_is_a, false),
        ("reads see two sequential writes out of order", vec![
            write(0, "a", 0, Some(10)), write(0, "b", 20, Some(30)),
            read(1, Some("b"), 40, Some(50)), read(1, Some("a"), 60, Some(70))], &none, false),
        ("reads see concurrent writes in one order", vec![
            write(0, "a", 0, Some(100)), write(1, "b", 0, Some(100)),
            read(2, Some("b"), 10, Some(20)), read(2, Some("a"), 30, Some(40))], &none, true),
        ("reads see concurrent writes in both orders", vec![
            write(0, "a", 0, Some(100)), write(1, "b", 0, Some(100)),
            read(2, Some("b"), 10, Some(20)), read(2, Some("a"), 30, Some(40)),
            read(2, Some("b"), 50, Some(60))], &none, false),
        ("cas succeeds on the expected value", vec![
            cas(0, (Some("a"), "b", true), 0, Some(10)), read(1, Some("b"), 20, Some(30))],
            &x_is_a, true),
        ("cas from absent succeeds on an absent key", vec![
            cas(0, (None, "b", true), 0, Some(10)), read(1, Some("b"), 20, Some(30))],
            &none, true),
        ("cas succeeds on another value", vec![
            cas(0, (Some("c"), "b", true), 0, Some(10))], &x_is_a, false),
        ("cas fails on the expected value", vec![
            cas(0, (Some("a"), "b", false), 0, Some(10))], &x_is_a, false),
        ("cas fails on another value", vec![
            cas(0, (Some("c"), "b", false), 0, Some(10)), read(1, Some("a"), 20, Some(30))],
            &x_is_a, true),
        ("failed cas leaves the value alone", vec![
            cas(0, (Some("c"), "b", false), 0, Some(10)), read(1, Some("b"), 20, Some(30))],
            &x_is_a, false),
        ("two concurrent cas from the same value both succeed", vec![
            cas(0, (Some("a"), "b", true), 0, Some(10)),
            cas(1, (Some("a"), "c", true), 0, Some(10))], &x_is_a, false),
        ("two concurrent cas from the same value, one fails", vec![
            cas(0, (Some("a"), "b", true), 0, Some(10)),
            cas(1, (Some("a"), "c", false), 0, Some(10)),
            read(2, Some("b"), 20, Some(30))], &x_is_a, true),
        ("chained cas", vec![
            cas(0, (Some("a"), "b", true), 0, Some(10)),
            cas(1, (Some("b"), "c", true), 5, Some(15)),
            read(2, Some("c"), 20, Some(30))], &x_is_a, true),
        ("unknown write observed later", vec![
            write(0, "b", 0, None), read(1, Some("b"), 100, Some(110))], &x_is_a, true),
        ("unknown write observed, then not", vec![
            write(0, "b", 0, None), read(1, Some("a"), 10, Some(20)),
            read(1, Some("b"), 100, Some(110)), read(1, Some("b"), 120, Some(130))],
            &x_is_a, true),
        ("unknown write nobody observes", vec![
            write(0, "b", 0, None), read(1, Some("a"), 100, Some(110))], &x_is_a, true),
        ("unknown write observed before its call", vec![
            read(1, Some("b"), 0, Some(10)), write(0, "b", 20, None)], &x_is_a, false),
        ("unknown write cannot come back after being overwritten", vec![
            write(0, "b", 0, None), read(1, Some("b"), 10, Some(20)),
            write(1, "c", 30, Some(40)), read(1, Some("b"), 50, Some(60))], &x_is_a, false),
        ("unknown cas observed", vec![
            cas(0, (Some("a"), "b", false), 0, None), read(1, Some("b"), 20, Some(30))],
            &x_is_a, true),
        ("unknown cas cannot apply to another value", vec![
            cas(0, (Some("c"), "b", true), 0, None), read(1, Some("b"), 20, Some(30))],
            &x_is_a, false),
        ("unknown cas chain", vec![
            write(0, "b", 0, None), cas(1, (Some("b"), "c", true), 5, None),
            read(2, Some("c"), 20, Some(30))], &x_is_a, true),
        ("unknown read constrains nothing", vec![read(0, Some("zzz"), 0, None)], &x_is_a, true),
        ("unknown write lets a later cas fail", vec![
            write(0, "b", 0, None), cas(1, (Some("a"), "c", false), 20, Some(30))],
            &x_is_a, true),
        ("unknown write called after a failed cas returned", vec![
            cas(1, (Some("a"), "c", false), 0, Some(10)), write(0, "b", 20, None)],
            &x_is_a, false),
        ("keys are independent", vec![
            write(0, "b", 0, Some(10)),
            op(1, "y", Op::Read { value: Some("b".into()) }, 20, Some(30))], &x_is_a, false),
    ];
    for (name, history, initial, expected) in cases {
        let verdict = check(&history, initial, BUDGET);
        assert_eq!(verdict.linearizable, expected, "{name}: {verdict:?}");
        assert_eq!(verdict.failures.is_empty(), expected, "{name}: {verdict:?}");
    }
}

#[test]
fn failure_names_the_key_and_the_shortest_failing_prefix() {
    let history = vec![
        write(0, "b", 0, Some(10)),
        read(1, Some("a"), 20, Some(30)),
        write(0, "c", 40, Some(50)),
        read(1, Some("c"), 60, Some(70)),
        op(2, "y", Op::Read { value: None }, 0, Some(5)),
    ];
    let verdict = check(&history, &initial(&[("x", "a")]), BUDGET);
    assert!(!verdict.linearizable);
    assert_eq!(verdict.failures.len(), 1, "{verdict:?}");
    let failure = &verdict.failures[0];
    assert!(
        failure.starts_with("key \"x\": not linearizable"),
        "{failure}"
    );
    assert!(failure.contains("t=30"), "{failure}");
    assert!(
        failure.contains("#1 client 1 [20, 30] read -> \"a\"  <-"),
        "{failure}"
    );
    assert!(
        failure.contains("#0 client 0 [0, 10] write \"b\""),
        "{failure}"
    );
    assert!(
        !failure.contains("#2"),
        "later operations are not listed: {failure}"
    );
}

#[test]
fn malformed_operation_is_a_failure() {
    let verdict = check(&[read(0, None, 10, Some(5))], &initial(&[]), BUDGET);
    assert!(!verdict.linearizable);
    assert!(verdict.failures[0].contains("malformed"), "{verdict:?}");
}

/// SplitMix64: a small deterministic random generator (the crate has no `rand`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0.wrapping_sub(0x9e37_79b9_7f4a_7c15))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

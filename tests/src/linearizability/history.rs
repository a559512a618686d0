//! One key's sub-history: checking it (the search, then an explanation on failure), and
//! preparing the model the search runs on.

use std::collections::{HashMap, HashSet};

use super::model::{drop_unobservable, Kind, Model, ModelOp, ABSENT, FIRST_VALUE, UNSEEN};
use super::search::{search, Outcome};
use super::{Op, Operation};

/// The operations of one key.
pub(super) struct KeyHistory<'a> {
    pub(super) history: &'a [Operation],
    /// Indices into `history`, in history order.
    pub(super) indices: Vec<usize>,
    pub(super) initial: Option<&'a str>,
}

impl<'a> KeyHistory<'a> {
    /// `Ok` when linearizable, otherwise why not.
    pub(super) fn check(&self, budget: u64) -> Result<(), String> {
        for &index in &self.indices {
            let operation = &self.history[index];
            if let Some(ret) = operation.ret.filter(|&ret| ret < operation.call) {
                return Err(format!(
                    "malformed history: #{index} returns at {ret}, before its call at {}",
                    operation.call
                ));
            }
        }
        match search(&self.model(None), budget) {
            Outcome::Linearizable => Ok(()),
            Outcome::Undecided => Err(format!(
                "undecided: gave up after {budget} search steps over {} operations",
                self.indices.len()
            )),
            Outcome::NotLinearizable { stuck_at } => Err(self.explain(budget, stuck_at)),
        }
    }

    /// The model of the history, or of its prefix up to `cut`: the operations called by then,
    /// those returning after it counted as unknown.
    pub(super) fn model(&self, cut: Option<u64>) -> Model {
        let history: &'a [Operation] = self.history;
        let mut prefix: Vec<(&'a Operation, Option<u64>)> = Vec::new();
        for &index in &self.indices {
            let operation = &history[index];
            let ret = operation
                .ret
                .filter(|&ret| cut.is_none_or(|cut| ret <= cut));
            let unknown_read = ret.is_none() && matches!(operation.op, Op::Read { .. });
            if !unknown_read && cut.is_none_or(|cut| operation.call <= cut) {
                prefix.push((operation, ret));
            }
        }
        // Values that no operation reads or expects cannot be told apart: they become one.
        let consumed: HashSet<&str> = prefix
            .iter()
            .filter_map(|(operation, _)| match &operation.op {
                Op::Read { value } => value.as_deref(),
                Op::Cas { expected, .. } => expected.as_deref(),
                Op::Write { .. } => None,
            })
            .collect();
        let mut values: HashMap<&str, u32> = HashMap::new();
        let mut intern = |value: Option<&'a str>| -> u32 {
            match value {
                None => ABSENT,
                Some(value) if !consumed.contains(value) => UNSEEN,
                Some(value) => {
                    let next = FIRST_VALUE + values.len() as u32;
                    *values.entry(value).or_insert(next)
                }
            }
        };
        let initial = intern(self.initial);
        let mut ops: Vec<ModelOp> = prefix
            .into_iter()
            .map(|(operation, ret)| {
                let kind = match &operation.op {
                    Op::Read { value } => Kind::Read(intern(value.as_deref())),
                    Op::Write { value } => Kind::Write(intern(Some(value))),
                    Op::Cas { expected, ok, .. } if !ok && ret.is_some() => {
                        Kind::CasFailed(intern(expected.as_deref()))
                    }
                    Op::Cas { expected, new, .. } => {
                        Kind::Cas(intern(expected.as_deref()), intern(Some(new)))
                    }
                };
                ModelOp {
                    call: operation.call,
                    ret,
                    kind,
                }
            })
            .collect();
        ops.sort_by_key(|op| op.call);
        drop_unobservable(&mut ops);
        Model {
            ops,
            initial,
            values: FIRST_VALUE as usize + values.len(),
        }
    }
}

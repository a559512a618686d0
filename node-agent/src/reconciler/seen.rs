//! What one pass records of a pod's parts: [`Seen`] per container, the sandbox's attempt,
//! what a step is about and what creating a container needs, and the small derivations the
//! pass makes from attempts (current and previous, a probe's kill order).
use std::collections::HashSet;
use std::time::Duration;

use bosun_shared::pod::{Container, Pod};

use crate::labels;
use crate::pod_plan::ContainerInput;
use crate::probe::ProbeView;
use crate::runtime::ObservedContainer;
use crate::status::ContainerView;
use crate::step::{Failure, ProbeKill, Step};

/// What one pass found of one container of an assigned pod.
pub(super) struct Seen<'a> {
    pub(super) container: &'a Container,
    /// The highest attempt on the engine, and the one before it.
    pub(super) current: Option<&'a ObservedContainer>,
    pub(super) previous: Option<&'a ObservedContainer>,
    pub(super) failure: Option<&'a Failure>,
    pub(super) step: Step,
    pub(super) probes: Option<ProbeView>,
    pub(super) previous_probes: Option<ProbeView>,
}

impl<'a> Seen<'a> {
    /// `container` as `input` shows it, with the step planned and what its probes found (of
    /// its current and previous attempts).
    pub(super) fn new(
        container: &'a Container,
        input: &ContainerInput<'a>,
        step: Step,
        (probes, previous_probes): (Option<ProbeView>, Option<ProbeView>),
    ) -> Self {
        let (current, previous) = current_and_previous(&input.attempts);
        Seen {
            container,
            current,
            previous,
            failure: input.failure,
            step,
            probes,
            previous_probes,
        }
    }
}

/// What a pass found of a pod's sandbox.
pub(super) struct SandboxSeen<'a> {
    pub(super) current: Option<&'a ObservedContainer>,
    pub(super) failure: Option<&'a Failure>,
}

/// What a step is about.
pub(super) enum What<'a> {
    /// A container of an assigned pod, and the sandbox it joins if it has one.
    Container(&'a Pod, &'a Container, Option<&'a str>),
    /// The sandbox of an assigned pod.
    Sandbox(&'a Pod),
    /// A container of a pod no longer assigned.
    Gone,
}

/// What a container to create needs, owned by the step's task.
pub(super) enum Prepare {
    Container(Box<(Pod, Container)>, u32, Option<String>),
    Sandbox(Box<Pod>, u32),
}

impl Prepare {
    /// The pod and container, unless it is a sandbox.
    pub(super) fn container(&self) -> Option<(&Pod, &Container)> {
        match self {
            Prepare::Container(pc, ..) => Some((&pc.0, &pc.1)),
            Prepare::Sandbox(..) => None,
        }
    }
}

/// What the status shows of a container: what the pass saw; until it has an attempt, the
/// failure of its sandbox if it has none of its own.
pub(super) fn container_view<'a>(
    s: &'a Seen<'a>,
    sandbox_failure: Option<&'a Failure>,
) -> ContainerView<'a> {
    ContainerView {
        name: &s.container.name,
        image: &s.container.image,
        current: s.current,
        previous: s.previous,
        failure: s
            .failure
            .or_else(|| sandbox_failure.filter(|_| s.current.is_none())),
        step: &s.step,
        probes: s.probes.as_ref(),
        previous_probes: s.previous_probes.as_ref(),
    }
}

/// The highest attempt and the one before it.
pub(super) fn current_and_previous<'a>(
    attempts: &[&'a ObservedContainer],
) -> (Option<&'a ObservedContainer>, Option<&'a ObservedContainer>) {
    let mut sorted = attempts.to_vec();
    sorted.sort_by_key(|o| labels::attempt_of(&o.labels));
    (sorted.pop(), sorted.pop())
}

/// Attempts a pass saw, for [`Prober::retain`].
#[derive(Default)]
pub(super) struct ProbedIds {
    /// Running current attempts: their probes go on.
    pub(super) probing: HashSet<String>,
    /// Current and previous attempts: what their probes found is kept.
    pub(super) remembered: HashSet<String>,
}

/// The kill a failed liveness or startup probe asks for: the current attempt, with the probe's
/// grace period or else the pod's.
pub(super) fn kill_order(
    current: Option<&ObservedContainer>,
    probes: Option<&ProbeView>,
    pod_grace: Duration,
) -> Option<ProbeKill> {
    let failed = probes?.failed.as_ref()?;
    Some(ProbeKill {
        id: current?.id.clone(),
        grace: failed.grace.unwrap_or(pod_grace),
    })
}

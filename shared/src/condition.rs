//! [`Condition`]: a condition in an object's status, and how conditions are set.
//!
//! Held as five strings and, boxed, the two times only some kinds set (a Node's heartbeat, a
//! Deployment's update): every version of a pod carries four conditions, and with seven
//! strings inline (168 bytes each) they were one 768-byte allocation per pod version, 22 MB
//! of every master's heap with 30,000 pods (session 19's heap profile); at 128 bytes each
//! they are 512. The JSON and the published schema are Kubernetes', as before ([`wire`]).
use compact_str::CompactString;

/// A condition in an object's status, as Kubernetes reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    /// e.g. `Ready`, `PodScheduled`.
    pub type_: CompactString,
    /// `True`, `False` or `Unknown`.
    pub status: CompactString,
    pub reason: Option<CompactString>,
    pub message: Option<CompactString>,
    pub last_transition_time: Option<CompactString>,
    /// `lastHeartbeatTime` and `lastUpdateTime`, when either is set.
    pub times: Option<Box<ConditionTimes>>,
}

/// The times of a condition only some kinds set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConditionTimes {
    pub last_heartbeat_time: Option<CompactString>,
    /// When the condition last changed in any way (Deployments' `Progressing`).
    pub last_update_time: Option<CompactString>,
}

impl Condition {
    pub fn last_heartbeat_time(&self) -> Option<&str> {
        self.times.as_ref()?.last_heartbeat_time.as_deref()
    }

    pub fn last_update_time(&self) -> Option<&str> {
        self.times.as_ref()?.last_update_time.as_deref()
    }

    pub fn set_last_heartbeat_time(&mut self, t: Option<CompactString>) {
        self.set_times(|times| times.last_heartbeat_time = t);
    }

    pub fn set_last_update_time(&mut self, t: Option<CompactString>) {
        self.set_times(|times| times.last_update_time = t);
    }

    /// Changes the rare times; nothing is boxed while neither is set.
    fn set_times(&mut self, change: impl FnOnce(&mut ConditionTimes)) {
        let mut times = self.times.take().unwrap_or_default();
        change(&mut times);
        if *times != ConditionTimes::default() {
            self.times = Some(times);
        }
    }
}

/// Finds a condition by type.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Sets a condition, keeping its transition time when the status is unchanged.
/// Returns true when anything changed.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition, now: &str) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            let same = old.status == new.status
                && old.reason == new.reason
                && old.message == new.message
                && old.times == new.times;
            if same {
                return false;
            }
            new.last_transition_time = if old.status == new.status {
                old.last_transition_time.clone()
            } else {
                Some(now.into())
            };
            *old = new;
            true
        }
        None => {
            new.last_transition_time = Some(now.into());
            conditions.push(new);
            true
        }
    }
}

/// The JSON of a condition: Kubernetes' fields, each time at the top level.
mod wire {
    use std::borrow::Cow;

    use compact_str::CompactString;
    use schemars::{JsonSchema, Schema, SchemaGenerator};
    use serde::ser::SerializeStruct;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Condition, ConditionTimes};

    /// A condition in an object's status, as Kubernetes reports them.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[schemars(rename = "Condition")]
    struct Wire {
        /// e.g. `Ready`, `PodScheduled`.
        #[serde(rename = "type")]
        type_: CompactString,
        /// `True`, `False` or `Unknown`.
        status: CompactString,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<CompactString>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<CompactString>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_transition_time: Option<CompactString>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_heartbeat_time: Option<CompactString>,
        /// When the condition last changed in any way (Deployments' `Progressing`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_update_time: Option<CompactString>,
    }

    impl<'de> Deserialize<'de> for Condition {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let w = Wire::deserialize(d)?;
            let mut c = Condition {
                type_: w.type_,
                status: w.status,
                reason: w.reason,
                message: w.message,
                last_transition_time: w.last_transition_time,
                times: None,
            };
            if w.last_heartbeat_time.is_some() || w.last_update_time.is_some() {
                c.times = Some(Box::new(ConditionTimes {
                    last_heartbeat_time: w.last_heartbeat_time,
                    last_update_time: w.last_update_time,
                }));
            }
            Ok(c)
        }
    }

    impl Serialize for Condition {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let times = self.times.as_deref();
            let optional = [
                ("reason", self.reason.as_ref()),
                ("message", self.message.as_ref()),
                ("lastTransitionTime", self.last_transition_time.as_ref()),
                (
                    "lastHeartbeatTime",
                    times.and_then(|t| t.last_heartbeat_time.as_ref()),
                ),
                (
                    "lastUpdateTime",
                    times.and_then(|t| t.last_update_time.as_ref()),
                ),
            ];
            let present = optional.iter().filter(|(_, v)| v.is_some()).count();
            let mut st = s.serialize_struct("Condition", 2 + present)?;
            st.serialize_field("type", &self.type_)?;
            st.serialize_field("status", &self.status)?;
            for (name, value) in optional {
                match value {
                    Some(v) => st.serialize_field(name, v)?,
                    None => st.skip_field(name)?,
                }
            }
            st.end()
        }
    }

    impl JsonSchema for Condition {
        fn schema_name() -> Cow<'static, str> {
            Wire::schema_name()
        }
        fn schema_id() -> Cow<'static, str> {
            Wire::schema_id()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            Wire::json_schema(generator)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_is_held_in_128_bytes() {
        assert!(
            std::mem::size_of::<Condition>() <= 128,
            "four of a pod's conditions in one 512-byte allocation, not 768: {} bytes each",
            std::mem::size_of::<Condition>()
        );
    }

    #[test]
    fn the_json_is_kubernetes_every_time_at_the_top_level() {
        let json = r#"{"type":"Ready","status":"True","reason":"KubeletReady","lastTransitionTime":"2026-12-07T10:00:00Z","lastHeartbeatTime":"2026-12-07T10:00:05Z"}"#;
        let c: Condition = serde_json::from_str(json).unwrap();
        assert_eq!(c.last_heartbeat_time(), Some("2026-12-07T10:00:05Z"));
        assert_eq!(c.last_update_time(), None);
        assert_eq!(c.reason.as_deref(), Some("KubeletReady"));
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        // A pod's condition boxes nothing.
        let pod = r#"{"type":"PodScheduled","status":"True","lastTransitionTime":"2026-12-07T10:00:00Z"}"#;
        let c: Condition = serde_json::from_str(pod).unwrap();
        assert!(c.times.is_none());
        assert_eq!(serde_json::to_string(&c).unwrap(), pod);
        // Missing required fields are named.
        let e = serde_json::from_str::<Condition>(r#"{"type":"Ready"}"#).unwrap_err();
        assert!(e.to_string().contains("status"), "{e}");
    }

    #[test]
    fn clearing_both_times_unboxes_them() {
        let mut c = Condition::default();
        c.set_last_update_time(Some("t1".into()));
        c.set_last_heartbeat_time(Some("t2".into()));
        assert_eq!(
            (c.last_update_time(), c.last_heartbeat_time()),
            (Some("t1"), Some("t2"))
        );
        c.set_last_update_time(None);
        assert!(c.times.is_some());
        c.set_last_heartbeat_time(None);
        assert!(c.times.is_none());
    }

    #[test]
    fn setting_a_condition_keeps_its_transition_time_while_its_status_holds() {
        let mut all = vec![];
        let ready = |status: &str| Condition {
            type_: "Ready".into(),
            status: status.into(),
            ..Default::default()
        };
        assert!(set_condition(&mut all, ready("True"), "t1"));
        assert!(!set_condition(&mut all, ready("True"), "t2"));
        let mut beat = ready("True");
        beat.set_last_heartbeat_time(Some("t3".into()));
        assert!(set_condition(&mut all, beat, "t3"));
        assert_eq!(all[0].last_transition_time.as_deref(), Some("t1"));
        assert!(set_condition(&mut all, ready("False"), "t4"));
        assert_eq!(all[0].last_transition_time.as_deref(), Some("t4"));
        assert_eq!(all.len(), 1);
    }
}

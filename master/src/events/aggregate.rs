//! Similar events combined, as Kubernetes' event aggregator does. Once one source has
//! reported [`MAX_SIMILAR`] events about one object with the same type and reason but
//! different messages within [`SIMILAR_WINDOW`], each further new message is marked
//! [`COMBINED`], and the writer stores all of those as one event (one series): its count
//! goes up and its message is the latest.
//!
//! Why: a ReplicaSet of 10,000 replicas reported 10,000 `SuccessfulCreate` events ("Created
//! pod: …"), each a new object in the store, about as many writes as the pods themselves.
//! Combined, they are ten events and one series that the writer counts in one update per
//! batch of events.
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bosun_shared::event::{Event, ObjectReference};

/// Distinct messages of one kind of event about one object kept apart; further ones combine.
pub const MAX_SIMILAR: usize = 10;
/// How long similar events are counted together before the count starts again.
pub const SIMILAR_WINDOW: Duration = Duration::from_secs(600);
/// What a combined event's message starts with (Kubernetes' words).
pub const COMBINED: &str = "(combined from similar events): ";
/// Kinds of events remembered; forgotten all at once beyond this.
const MEMORY: usize = 4_096;

/// Events that are alike but for their message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Similar {
    involved: ObjectReference,
    type_: String,
    reason: String,
    component: String,
    host: String,
}

/// The distinct messages seen of one [`Similar`] since `since`.
struct Seen {
    since: Instant,
    messages: HashSet<String>,
}

/// Marks events to combine; one per event writer.
#[derive(Default)]
pub struct Aggregator {
    seen: HashMap<Similar, Seen>,
}

impl Aggregator {
    /// `event` as it is to be stored at `now`: its message marked [`COMBINED`] if it is a new
    /// message beyond the first [`MAX_SIMILAR`] of its kind.
    pub fn observe(&mut self, mut event: Event, now: Instant) -> Event {
        if self.seen.len() > MEMORY {
            self.seen.clear();
        }
        let key = Similar {
            involved: event.involved_object.clone(),
            type_: event.type_.clone(),
            reason: event.reason.clone(),
            component: event.source.component.clone(),
            host: event.source.host.clone(),
        };
        let seen = self.seen.entry(key).or_insert_with(|| Seen {
            since: now,
            messages: HashSet::new(),
        });
        if now.duration_since(seen.since) > SIMILAR_WINDOW {
            seen.since = now;
            seen.messages.clear();
        }
        if seen.messages.contains(&event.message) {
            return event;
        }
        if seen.messages.len() < MAX_SIMILAR {
            seen.messages.insert(event.message.clone());
        } else {
            event.message = format!("{COMBINED}{}", event.message);
        }
        event
    }
}

/// Whether `message` is that of a combined event.
pub fn is_combined(message: &str) -> bool {
    message.starts_with(COMBINED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::event::NORMAL;

    fn created(rs: &str, pod: &str) -> Event {
        let involved = ObjectReference {
            kind: "ReplicaSet".into(),
            namespace: "default".into(),
            name: rs.into(),
            uid: format!("uid-{rs}"),
            field_path: String::new(),
        };
        let message = format!("Created pod: {pod}");
        Event::about(involved, NORMAL, "SuccessfulCreate", message, "rs")
    }

    #[test]
    fn the_first_ten_messages_stay_apart_and_later_ones_combine() {
        let mut agg = Aggregator::default();
        let now = Instant::now();
        let messages: Vec<String> = (0..25)
            .map(|i| agg.observe(created("web", &format!("p{i}")), now).message)
            .collect();
        assert!(messages[..MAX_SIMILAR].iter().all(|m| !is_combined(m)));
        assert!(messages[MAX_SIMILAR..].iter().all(|m| is_combined(m)));
        assert_eq!(messages[24], format!("{COMBINED}Created pod: p24"));
        // A repeat of one of the first ten stays its own series; another object is apart.
        assert_eq!(
            agg.observe(created("web", "p3"), now).message,
            "Created pod: p3"
        );
        assert!(!is_combined(
            &agg.observe(created("api", "p99"), now).message
        ));
        // After the window, the count starts again.
        let later = now + SIMILAR_WINDOW + Duration::from_secs(1);
        assert!(!is_combined(
            &agg.observe(created("web", "p100"), later).message
        ));
    }
}

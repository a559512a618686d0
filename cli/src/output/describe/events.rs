//! The `Events:` section that ends `describe`, and `describe` of an Event itself.
use std::time::SystemTime;

use bosun_shared::event::Event;
use bosun_shared::time::age;

use super::{clean, Writer};

/// `Events:` and a table of the events about the object (oldest first), or `<none>`.
pub(super) fn section(w: &mut Writer, events: &[&Event], now: SystemTime) {
    if events.is_empty() {
        return w.field(0, "Events", "<none>");
    }
    w.line(0, "Events:");
    w.line(1, "Type\tReason\tAge\tFrom\tMessage");
    w.line(1, "----\t------\t----\t----\t-------");
    for e in events {
        let last = crate::output::table::event_seen(e);
        let mut when = age(Some(&last), now);
        if e.count > 1 {
            let first = age(e.first_timestamp.as_deref(), now);
            when = format!("{when} (x{} over {first})", e.count);
        }
        let from = match e.source.host.as_str() {
            "" => e.source.component.clone(),
            host => format!("{}, {host}", e.source.component),
        };
        let cells = [e.type_.as_str(), &e.reason, &when, &from, &e.message];
        let cells: Vec<String> = cells.iter().map(|c| clean(c)).collect();
        w.line(1, &cells.join("\t"));
    }
}

/// `describe event NAME`.
pub(super) fn describe(w: &mut Writer, e: &Event) {
    let o = &e.involved_object;
    w.field(0, "Name", &e.metadata.name);
    w.field(0, "Namespace", &e.metadata.namespace);
    w.field(0, "Type", &e.type_);
    w.field(0, "Reason", &e.reason);
    w.field(0, "Message", &e.message);
    w.line(0, "Involved Object:");
    w.field(1, "Kind", &o.kind);
    w.field(1, "Name", &o.name);
    w.field(1, "Namespace", &o.namespace);
    w.field(1, "UID", &o.uid);
    if !o.field_path.is_empty() {
        w.field(1, "Field Path", &o.field_path);
    }
    w.line(0, "Source:");
    w.field(1, "Component", &e.source.component);
    if !e.source.host.is_empty() {
        w.field(1, "Host", &e.source.host);
    }
    w.field(0, "Count", e.count.to_string());
    w.field(
        0,
        "First Timestamp",
        e.first_timestamp.as_deref().unwrap_or("<unset>"),
    );
    w.field(
        0,
        "Last Timestamp",
        e.last_timestamp.as_deref().unwrap_or("<unset>"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(events: &[&Event], now: SystemTime) -> String {
        let mut w = Writer::default();
        section(&mut w, events, now);
        w.finish()
    }
    use bosun_shared::event::{ObjectReference, NORMAL, WARNING};
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> String {
        bosun_shared::time::to_rfc3339(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
    }

    #[test]
    fn events_table_like_kubectl() {
        let about = ObjectReference {
            kind: "Pod".into(),
            name: "web".into(),
            ..Default::default()
        };
        let mut a = Event::about(
            about.clone(),
            NORMAL,
            "Scheduled",
            "Successfully assigned default/web to n1",
            "default-scheduler",
        );
        a.last_timestamp = Some(at(1_000));
        let mut b = Event::about(
            about,
            WARNING,
            "BackOff",
            "Back-off restarting failed container c",
            "bosun-agent",
        );
        b.source.host = "n1".into();
        b.count = 5;
        b.first_timestamp = Some(at(1_000));
        b.last_timestamp = Some(at(1_050));
        let now = UNIX_EPOCH + Duration::from_secs(1_060);
        assert_eq!(
            text(&[&a, &b], now),
            "Events:\n\
             \x20 Type     Reason     Age                From               Message\n\
             \x20 ----     ------     ----               ----               -------\n\
             \x20 Normal   Scheduled  60s                default-scheduler  Successfully assigned default/web to n1\n\
             \x20 Warning  BackOff    10s (x5 over 60s)  bosun-agent, n1    Back-off restarting failed container c\n"
        );
        assert_eq!(text(&[], now), "Events:  <none>\n");
    }
}

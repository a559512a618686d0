//! The `Containers:` section, shared by pods (with their statuses) and pod templates.
use bosun_shared::pod::{Container, ContainerPort, ContainerState, ContainerStatus};
use bosun_shared::probe::{Probe, ProbeAction};
use bosun_shared::quantity::Quantity;
use bosun_shared::CompactString;

use super::timestamp::rfc1123z_or_unknown;
use super::{clean, Writer};

/// `{space}{title}:` (`Containers` or `Init Containers`) and each container; `statuses` are
/// matched by container name. `space` is `""` for a pod and `"  "` inside `Pod Template:`,
/// where names get one more space, as in kubectl's `describeContainers`.
pub(super) fn containers(
    w: &mut Writer,
    title: &str,
    containers: &[Container],
    statuses: &[ContainerStatus],
    space: &str,
) {
    w.line(0, &format!("{space}{title}:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in containers {
        let status = statuses.iter().find(|s| s.name == c.name);
        w.line(1, &format!("{name_indent}{}:", c.name));
        if let Some(id) = status.and_then(|s| s.container_id.as_deref()) {
            w.field(2, "Container ID", id);
        }
        w.field(2, "Image", &c.image);
        // What the engine actually bound (a hostPort of 0 becomes a real port) wins over the spec.
        match status.filter(|s| !s.published_ports.is_empty()) {
            Some(s) => ports(w, &s.published_ports),
            None => ports(w, &c.ports),
        }
        words(w, "Command", &c.command);
        words(w, "Args", &c.args);
        if let Some(s) = status {
            state(w, "State", &s.state);
            if let Some(last) = s.last_state.as_ref().filter(|l| l.terminated.is_some()) {
                state(w, "Last State", last);
            }
            w.field(2, "Ready", if s.ready { "True" } else { "False" });
            w.field(2, "Restart Count", s.restart_count.to_string());
        }
        for (title, probe) in [
            ("Liveness", &c.liveness_probe),
            ("Readiness", &c.readiness_probe),
            ("Startup", &c.startup_probe),
        ] {
            if let Some(p) = probe {
                w.field(2, title, probe_text(p));
            }
        }
        resources(w, "Limits", &c.resources.limits);
        resources(w, "Requests", &c.resources.requests);
        if c.env.is_empty() {
            w.field(2, "Environment", "<none>");
        } else {
            w.line(2, "Environment:");
            for e in &c.env {
                w.field(3, &e.name, &e.value);
            }
        }
    }
}

/// kubectl's probe line: `http-get http://:8080/healthz delay=0s timeout=1s period=10s
/// #success=1 #failure=3`.
fn probe_text(p: &Probe) -> String {
    let action = match p.action() {
        Some(ProbeAction::Exec(e)) => format!("exec [{}]", e.command.join(" ")),
        Some(ProbeAction::HttpGet(h)) => format!(
            "http-get {}://{}:{}{}",
            h.scheme.to_lowercase(),
            h.host.as_deref().unwrap_or(""),
            h.port,
            h.path
        ),
        Some(ProbeAction::TcpSocket(t)) => {
            format!("tcp-socket {}:{}", t.host.as_deref().unwrap_or(""), t.port)
        }
        None => "unknown".to_string(),
    };
    format!(
        "{action} delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds,
        p.timeout_seconds,
        p.period_seconds,
        p.success_threshold,
        p.failure_threshold
    )
}

/// `Port:  80/TCP -> 8080` (published on the node's port 8080), `Ports:` when several,
/// `Port:  <none>` when none.
fn ports(w: &mut Writer, ports: &[ContainerPort]) {
    let text: Vec<String> = ports.iter().map(port).collect();
    match text.as_slice() {
        [] => w.field(2, "Port", "<none>"),
        [one] => w.field(2, "Port", one),
        many => w.field(2, "Ports", many.join(", ")),
    }
}

fn port(p: &ContainerPort) -> String {
    let protocol = p.protocol.as_deref().unwrap_or("TCP");
    let mut s = format!("{}/{protocol}", p.container_port);
    if let Some(host) = p.host_port {
        if host == 0 {
            s.push_str(" -> (any free port)");
            return s;
        }
        match p.host_ip.as_deref().filter(|ip| !ip.is_empty()) {
            Some(ip) => s.push_str(&format!(" -> {ip}:{host}")),
            None => s.push_str(&format!(" -> {host}")),
        }
    }
    s
}

/// `Command:` or `Args:` with one word (or line of a word) per line.
fn words(w: &mut Writer, title: &str, words: &[String]) {
    if words.is_empty() {
        return;
    }
    w.line(2, &format!("{title}:"));
    for line in words.iter().flat_map(|word| word.split('\n')) {
        w.line(3, &line.replace('\t', " "));
    }
}

/// `State:  Running` and its details, as kubectl's `describeStatus`. Unlike kubectl, a waiting
/// container's message is shown too: it says why an image pull failed.
fn state(w: &mut Writer, title: &str, s: &ContainerState) {
    if let Some(r) = &s.running {
        w.field(2, title, "Running");
        w.field(3, "Started", rfc1123z_or_unknown(r.started_at.as_deref()));
    } else if let Some(t) = &s.terminated {
        w.field(2, title, "Terminated");
        if let Some(reason) = non_empty(&t.reason) {
            w.field(3, "Reason", reason);
        }
        if let Some(message) = non_empty(&t.message) {
            w.field(3, "Message", message);
        }
        w.field(3, "Exit Code", t.exit_code.to_string());
        w.field(3, "Started", rfc1123z_or_unknown(t.started_at.as_deref()));
        w.field(3, "Finished", rfc1123z_or_unknown(t.finished_at.as_deref()));
    } else {
        w.field(2, title, "Waiting");
        let waiting = s.waiting.as_ref();
        if let Some(reason) = waiting.and_then(|x| non_empty(&x.reason)) {
            w.field(3, "Reason", reason);
        }
        if let Some(message) = waiting.and_then(|x| non_empty(&x.message)) {
            w.field(3, "Message", message);
        }
    }
}

/// `Limits:` or `Requests:` with `cpu:  500m` lines, nothing when empty.
fn resources(w: &mut Writer, title: &str, r: &std::collections::BTreeMap<String, Quantity>) {
    if r.is_empty() {
        return;
    }
    w.line(2, &format!("{title}:"));
    for (name, q) in r {
        w.field(3, &clean(name), &q.0);
    }
}

fn non_empty(s: &Option<CompactString>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pod::{EnvVar, StateTerminated, StateWaiting};

    #[test]
    fn a_container_with_everything() {
        let c = Container {
            name: "app".into(),
            image: "busybox:1.36".into(),
            command: vec!["sh".into(), "-c".into()],
            args: vec!["echo hi\nsleep 5".into()],
            env: vec![EnvVar {
                name: "MODE".into(),
                value: "prod".into(),
                value_from: None,
            }],
            ports: vec![
                ContainerPort {
                    container_port: 80,
                    host_port: Some(8080),
                    ..Default::default()
                },
                ContainerPort {
                    container_port: 53,
                    protocol: Some("UDP".into()),
                    ..Default::default()
                },
            ],
            resources: bosun_shared::pod::ResourceRequirements {
                limits: [("memory".to_string(), "128Mi".into())].into(),
                requests: [
                    ("cpu".to_string(), "250m".into()),
                    ("memory".to_string(), "64Mi".into()),
                ]
                .into(),
            },
            ..Default::default()
        };
        let status = ContainerStatus {
            name: "app".into(),
            container_id: Some("docker://abc".into()),
            restart_count: 2,
            state: ContainerState {
                waiting: Some(Box::new(StateWaiting {
                    reason: Some("CrashLoopBackOff".into()),
                    message: Some("back-off 20s restarting failed container".into()),
                })),
                ..Default::default()
            },
            last_state: Some(Box::new(ContainerState {
                terminated: Some(Box::new(StateTerminated {
                    exit_code: 1,
                    reason: Some("Error".into()),
                    started_at: Some("2026-01-01T00:00:00Z".into()),
                    finished_at: Some("2026-01-01T00:00:05Z".into()),
                    ..Default::default()
                })),
                ..Default::default()
            })),
            ..Default::default()
        };
        let mut w = Writer::default();
        containers(&mut w, "Containers", &[c], &[status], "");
        assert_eq!(
            w.finish(),
            "Containers:
  app:
    Container ID:  docker://abc
    Image:         busybox:1.36
    Ports:         80/TCP -> 8080, 53/UDP
    Command:
      sh
      -c
    Args:
      echo hi
      sleep 5
    State:          Waiting
      Reason:       CrashLoopBackOff
      Message:      back-off 20s restarting failed container
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      Thu, 01 Jan 2026 00:00:00 +0000
      Finished:     Thu, 01 Jan 2026 00:00:05 +0000
    Ready:          False
    Restart Count:  2
    Limits:
      memory:  128Mi
    Requests:
      cpu:     250m
      memory:  64Mi
    Environment:
      MODE:  prod
"
        );
    }

    #[test]
    fn a_template_container_has_no_state() {
        let c = Container {
            name: "nginx".into(),
            image: "nginx:1.25".into(),
            ports: vec![ContainerPort {
                container_port: 80,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut w = Writer::default();
        containers(&mut w, "Containers", &[c], &[], "  ");
        assert_eq!(
            w.finish(),
            "  Containers:\n   nginx:\n    Image:        nginx:1.25\n    Port:         80/TCP\n    Environment:  <none>\n"
        );
    }
}

//! Container probes (`livenessProbe`, `readinessProbe`, `startupProbe`): the model, with
//! Kubernetes' field names and defaults, and its validation.
//!
//! Absent timing fields take Kubernetes' defaults when the object is read, so a stored probe
//! always shows them (as `kubectl get -o yaml` does) and a template's hash does not depend on
//! whether a default was written out.
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names;
use crate::pod::{Container, ContainerPort};
use crate::validate::FieldError;

/// Seconds between two runs of a probe when `periodSeconds` is absent.
pub const DEFAULT_PERIOD_SECONDS: i32 = 10;
/// Seconds a probe may take when `timeoutSeconds` is absent.
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 1;
/// Consecutive successes that make a failed probe pass when `successThreshold` is absent.
pub const DEFAULT_SUCCESS_THRESHOLD: i32 = 1;
/// Consecutive failures that make a probe fail when `failureThreshold` is absent.
pub const DEFAULT_FAILURE_THRESHOLD: i32 = 3;
/// The only `httpGet.scheme` Bosun implements.
pub const SCHEME_HTTP: &str = "HTTP";

/// A check the agent runs against a container: one handler and its timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Runs a command in the container; exit code 0 is success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    /// An HTTP GET to the pod's address; a status in 200..400 is success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
    /// A TCP connection to the pod's address; connecting is success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketAction>,
    /// Seconds after the container started before the first run (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub initial_delay_seconds: i32,
    /// Seconds between runs (default 10, at least 1).
    #[serde(default = "default_period")]
    pub period_seconds: i32,
    /// Seconds one run may take before it counts as a failure (default 1, at least 1).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: i32,
    /// Consecutive successes after a failure before the probe passes again (default 1; must be
    /// 1 for liveness and startup probes).
    #[serde(default = "default_success")]
    pub success_threshold: i32,
    /// Consecutive failures before the probe fails (default 3).
    #[serde(default = "default_failure")]
    pub failure_threshold: i32,
    /// Grace period for the kill a failed liveness or startup probe causes; overrides the
    /// pod's `terminationGracePeriodSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            exec: None,
            http_get: None,
            tcp_socket: None,
            initial_delay_seconds: 0,
            period_seconds: DEFAULT_PERIOD_SECONDS,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            termination_grace_period_seconds: None,
        }
    }
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}
fn default_period() -> i32 {
    DEFAULT_PERIOD_SECONDS
}
fn default_timeout() -> i32 {
    DEFAULT_TIMEOUT_SECONDS
}
fn default_success() -> i32 {
    DEFAULT_SUCCESS_THRESHOLD
}
fn default_failure() -> i32 {
    DEFAULT_FAILURE_THRESHOLD
}
fn default_path() -> String {
    "/".to_string()
}
fn default_scheme() -> String {
    SCHEME_HTTP.to_string()
}

/// `exec`: a command run in the container (not in a shell).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecAction {
    #[serde(default)]
    pub command: Vec<String>,
}

/// `httpGet`: a GET request to `http://<host or pod IP>:<port><path>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpGetAction {
    /// Request path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// A port number or the name of one of the container's ports.
    pub port: ProbePort,
    /// Host to connect to (default: the pod's IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `HTTP` (default); Bosun does not implement `HTTPS` probes.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Extra request headers (a `Host` header replaces the default one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

/// One header of an `httpGet` probe's request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpHeader {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// `tcpSocket`: a TCP connection to `<host or pod IP>:<port>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TcpSocketAction {
    /// A port number or the name of one of the container's ports.
    pub port: ProbePort,
    /// Host to connect to (default: the pod's IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A probe's port: a number, or the name of a container port (Kubernetes' `IntOrString`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbePort {
    Number(i32),
    Name(String),
}

impl fmt::Display for ProbePort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbePort::Number(n) => write!(f, "{n}"),
            ProbePort::Name(name) => f.write_str(name),
        }
    }
}

impl Serialize for ProbePort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ProbePort::Number(n) => s.serialize_i32(*n),
            ProbePort::Name(name) => s.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for ProbePort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ProbePort;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number or the name of a container port")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ProbePort, E> {
                i32::try_from(v)
                    .map(ProbePort::Number)
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ProbePort, E> {
                i32::try_from(v)
                    .map(ProbePort::Number)
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ProbePort, E> {
                Ok(ProbePort::Name(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl ProbePort {
    /// The port number, looking a name up among the container's `ports`.
    pub fn resolve(&self, ports: &[ContainerPort]) -> Result<u16, String> {
        let number = match self {
            ProbePort::Number(n) => *n,
            ProbePort::Name(name) => ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.container_port)
                .ok_or_else(|| format!("the container has no port named {name:?}"))?,
        };
        u16::try_from(number)
            .ok()
            .filter(|n| *n != 0)
            .ok_or_else(|| format!("port {number} is out of range"))
    }
}

/// A probe's handler: exactly one is set on a valid probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeAction<'a> {
    Exec(&'a ExecAction),
    HttpGet(&'a HttpGetAction),
    TcpSocket(&'a TcpSocketAction),
}

impl Probe {
    /// The handler; the first one set when several are (validation refuses that).
    pub fn action(&self) -> Option<ProbeAction<'_>> {
        self.exec
            .as_ref()
            .map(ProbeAction::Exec)
            .or_else(|| self.http_get.as_ref().map(ProbeAction::HttpGet))
            .or_else(|| self.tcp_socket.as_ref().map(ProbeAction::TcpSocket))
    }
}

/// The three kinds of probe, as named in a container's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 3] = [
        ProbeKind::Startup,
        ProbeKind::Liveness,
        ProbeKind::Readiness,
    ];

    /// The container field: `livenessProbe`, ...
    pub fn field(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startupProbe",
            ProbeKind::Liveness => "livenessProbe",
            ProbeKind::Readiness => "readinessProbe",
        }
    }

    /// `Liveness`, as Kubernetes starts its probe messages (`Liveness probe failed: ...`).
    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }

    /// The container's probe of this kind.
    pub fn of(self, c: &Container) -> Option<&Probe> {
        match self {
            ProbeKind::Startup => c.startup_probe.as_deref(),
            ProbeKind::Liveness => c.liveness_probe.as_deref(),
            ProbeKind::Readiness => c.readiness_probe.as_deref(),
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// Checks the probes of container `c` (`path` is `spec.containers[0]`).
pub fn validate_probes(c: &Container, path: &str, errs: &mut Vec<FieldError>) {
    for kind in ProbeKind::ALL {
        if let Some(probe) = kind.of(c) {
            validate_probe(kind, probe, c, &format!("{path}.{}", kind.field()), errs);
        }
    }
}

fn validate_probe(
    kind: ProbeKind,
    p: &Probe,
    c: &Container,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let handlers = [
        p.exec.is_some(),
        p.http_get.is_some(),
        p.tcp_socket.is_some(),
    ];
    match handlers.iter().filter(|h| **h).count() {
        0 => errs.push(FieldError::new(
            path,
            "Required value: must specify a handler type (exec, httpGet or tcpSocket)",
        )),
        1 => {}
        _ => errs.push(FieldError::forbidden(
            path,
            "may not specify more than 1 handler type",
        )),
    }
    if let Some(exec) = &p.exec {
        if exec.command.is_empty() {
            errs.push(FieldError::required(format!("{path}.exec.command")));
        }
    }
    if let Some(get) = &p.http_get {
        validate_http_get(get, c, &format!("{path}.httpGet"), errs);
    }
    if let Some(tcp) = &p.tcp_socket {
        let p = format!("{path}.tcpSocket");
        validate_port(&tcp.port, c, &format!("{p}.port"), errs);
        validate_host(tcp.host.as_deref(), &format!("{p}.host"), errs);
    }
    validate_timing(kind, p, path, errs);
}

fn validate_timing(kind: ProbeKind, p: &Probe, path: &str, errs: &mut Vec<FieldError>) {
    let mut at_least = |field: &str, value: i32, min: i32| {
        if value < min {
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                value,
                format!("must be greater than or equal to {min}"),
            ));
        }
    };
    at_least("initialDelaySeconds", p.initial_delay_seconds, 0);
    at_least("periodSeconds", p.period_seconds, 1);
    at_least("timeoutSeconds", p.timeout_seconds, 1);
    at_least("successThreshold", p.success_threshold, 1);
    at_least("failureThreshold", p.failure_threshold, 1);
    if kind != ProbeKind::Readiness && p.success_threshold > 1 {
        errs.push(FieldError::invalid(
            format!("{path}.successThreshold"),
            p.success_threshold,
            format!("must be 1 for a {kind}"),
        ));
    }
    if let Some(grace) = p.termination_grace_period_seconds {
        let field = format!("{path}.terminationGracePeriodSeconds");
        if kind == ProbeKind::Readiness {
            errs.push(FieldError::forbidden(
                field,
                "may not be set for a readinessProbe (it never kills the container)",
            ));
        } else if grace < 1 {
            errs.push(FieldError::invalid(field, grace, "must be greater than 0"));
        }
    }
}

fn validate_http_get(get: &HttpGetAction, c: &Container, path: &str, errs: &mut Vec<FieldError>) {
    validate_port(&get.port, c, &format!("{path}.port"), errs);
    validate_host(get.host.as_deref(), &format!("{path}.host"), errs);
    if get
        .path
        .chars()
        .any(|ch| ch.is_whitespace() || ch.is_control())
    {
        errs.push(FieldError::invalid(
            format!("{path}.path"),
            &get.path,
            "must not contain whitespace or control characters",
        ));
    }
    match get.scheme.as_str() {
        SCHEME_HTTP => {}
        "HTTPS" => errs.push(FieldError::new(
            format!("{path}.scheme"),
            "Unsupported value: \"HTTPS\": Bosun's probes speak plain HTTP only; \
             supported values: \"HTTP\"",
        )),
        other => errs.push(FieldError::unsupported(
            format!("{path}.scheme"),
            other,
            &[SCHEME_HTTP],
        )),
    }
    for (i, h) in get.http_headers.iter().enumerate() {
        let p = format!("{path}.httpHeaders[{i}]");
        if h.name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name")));
        } else if !h.name.bytes().all(is_token_byte) {
            errs.push(FieldError::invalid(
                format!("{p}.name"),
                &h.name,
                "must be a valid HTTP header name",
            ));
        }
        if h.value.chars().any(|ch| ch.is_control() && ch != '\t') {
            errs.push(FieldError::invalid(
                format!("{p}.value"),
                &h.value,
                "must not contain control characters",
            ));
        }
    }
}

/// A `tchar` of RFC 9110: the bytes a header name may have.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn validate_port(port: &ProbePort, c: &Container, path: &str, errs: &mut Vec<FieldError>) {
    match port {
        ProbePort::Number(n) if !(1..=65535).contains(n) => errs.push(FieldError::invalid(
            path,
            *n,
            "must be between 1 and 65535, inclusive",
        )),
        ProbePort::Number(_) => {}
        ProbePort::Name(name) => {
            if let Err(rule) = names::validate_port_name(name) {
                errs.push(FieldError::invalid(path, name, rule));
            } else if !c.ports.iter().any(|p| p.name.as_deref() == Some(name)) {
                errs.push(FieldError::invalid(
                    path,
                    name,
                    "must be the name of one of the container's ports",
                ));
            }
        }
    }
}

fn validate_host(host: Option<&str>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return;
    };
    if host.parse::<std::net::IpAddr>().is_err() {
        if let Err(rule) = names::validate_dns1123_subdomain(host) {
            errs.push(FieldError::invalid(
                path,
                host,
                format!("must be an IP address or a DNS name: {rule}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests;

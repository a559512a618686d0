//! `ports`: Compose's short syntax (`[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, ranges
//! such as `8000-8001:80-81`, `[::1]:8080:80`) and long syntax (`target`, `published`,
//! `host_ip`, `protocol`, `mode`, `name`) into Kubernetes container ports.
//!
//! A port without a published part is only a `containerPort`. A host IP with an empty host
//! port (`127.0.0.1::80`) asks Docker for any free port on that address: `hostPort: 0`, which
//! Bosun publishes on any free port.
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::names;
use super::value::{as_str, display, scalar_string, type_name};
use super::ComposeError;

/// One Kubernetes container port.
#[derive(Debug, Clone, PartialEq)]
struct Port {
    container: u16,
    /// `Some(0)`: any free port.
    host: Option<u16>,
    host_ip: Option<String>,
    /// `TCP` or `UDP`.
    protocol: &'static str,
    name: Option<String>,
}

impl Port {
    fn to_json(&self) -> Value {
        let mut p = Map::new();
        p.insert("containerPort".into(), json!(self.container));
        if let Some(host) = self.host {
            p.insert("hostPort".into(), json!(host));
        }
        if let Some(ip) = &self.host_ip {
            p.insert("hostIP".into(), json!(ip));
        }
        p.insert("protocol".into(), json!(self.protocol));
        if let Some(name) = &self.name {
            p.insert("name".into(), json!(name));
        }
        Value::Object(p)
    }
}

/// The container ports of a service's `ports` (at `path`).
pub(crate) fn convert(v: &Value, path: &str, ctx: &mut Ctx) -> Result<Vec<Value>, ComposeError> {
    let items = match v {
        Value::Array(items) => items,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a list, not {}", type_name(other)),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let ports = match item {
            Value::String(_) | Value::Number(_) => {
                let spec = scalar_string(item, &p)?;
                short(&spec)
                    .map_err(|why| ComposeError::new(&p, format!("invalid port {spec:?}: {why}")))?
            }
            Value::Object(map) => long(map, &p, ctx)?,
            other => {
                return Err(ComposeError::new(
                    p,
                    format!("must be a string or a mapping, not {}", type_name(other)),
                ))
            }
        };
        out.extend(ports.iter().map(Port::to_json));
    }
    Ok(out)
}

/// The ports of a short-syntax entry, or what is wrong with it.
fn short(spec: &str) -> Result<Vec<Port>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, proto)) => (rest, protocol(proto)?),
        None => (spec, "TCP"),
    };
    let (ip, host, container) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (ip, after) = bracketed
            .split_once(']')
            .ok_or("the IPv6 address has no closing ']'")?;
        let after = after
            .strip_prefix(':')
            .ok_or("the IPv6 address must be followed by ':'")?;
        let (host, container) = after
            .split_once(':')
            .ok_or("a host address needs a host port part (possibly empty) and a container port")?;
        (ip, host, container)
    } else {
        // As Docker splits it: the last part is the container port, the one before the host
        // port, anything before that the host IP (an IPv6 address may be unbracketed).
        let mut parts = rest.rsplitn(3, ':');
        let container = parts.next().unwrap_or_default();
        match (parts.next(), parts.next()) {
            (None, _) => ("", "", container),
            (Some(host), None) => ("", host, container),
            (Some(host), Some(ip)) => (ip, host, container),
        }
    };
    let host_ip = match ip {
        "" => None,
        ip => Some(ip_address(ip)?),
    };
    expand(container, host, host_ip, protocol, None)
}

/// The ports of a long-syntax entry.
fn long(map: &Map<String, Value>, path: &str, ctx: &mut Ctx) -> Result<Vec<Port>, ComposeError> {
    let mut target = None;
    let mut published = String::new();
    let mut host_ip = None;
    let mut protocol_name = "TCP";
    let mut name = None;
    for (key, v) in map {
        let p = format!("{path}.{key}");
        let bad = |why: String| ComposeError::new(&p, why);
        match key.as_str() {
            "target" => target = Some(scalar_string(v, &p)?),
            "published" => {
                if !v.is_null() {
                    published = scalar_string(v, &p)?;
                }
            }
            "host_ip" => {
                let ip = as_str(v, &p)?;
                if !ip.is_empty() {
                    let ip = ip
                        .strip_prefix('[')
                        .and_then(|i| i.strip_suffix(']'))
                        .unwrap_or(ip);
                    host_ip = Some(ip_address(ip).map_err(bad)?);
                }
            }
            "protocol" => protocol_name = protocol(as_str(v, &p)?).map_err(bad)?,
            "mode" => match as_str(v, &p)? {
                "host" => {}
                "ingress" => ctx.warn(format!(
                    "{p}: mode \"ingress\" (Swarm's routing mesh) is not available: the port is \
                     published on the pod's node only, as with mode \"host\""
                )),
                other => {
                    return Err(bad(format!(
                        "unknown mode {other:?}: expected \"host\" or \"ingress\""
                    )))
                }
            },
            "name" => {
                let n = as_str(v, &p)?;
                if names::is_port_name(n) {
                    name = Some(n.to_string());
                } else {
                    ctx.unsupported(
                        &p,
                        format!(
                            "{n:?} is not a valid Kubernetes port name (at most 15 characters \
                             of a-z, 0-9 and '-', with a letter)"
                        ),
                    );
                }
            }
            "app_protocol" => ctx.unsupported(&p, "Kubernetes container ports have no appProtocol"),
            k if k.starts_with("x-") => {}
            _ => ctx.unsupported(&p, "not a port attribute Bosun knows"),
        }
    }
    let target = target.ok_or_else(|| ComposeError::new(path, "target is required"))?;
    let spec = display(&Value::Object(map.clone()));
    let invalid = |why: String| ComposeError::new(path, format!("invalid port {spec}: {why}"));
    expand(&target, &published, host_ip, protocol_name, name).map_err(invalid)
}

/// `TCP` or `UDP` for Compose's `tcp`/`udp`.
fn protocol(p: &str) -> Result<&'static str, String> {
    match p.to_ascii_lowercase().as_str() {
        "tcp" => Ok("TCP"),
        "udp" => Ok("UDP"),
        "sctp" => Err("protocol sctp is not supported (Bosun publishes tcp and udp)".to_string()),
        _ => Err(format!("unknown protocol {p:?} (expected tcp or udp)")),
    }
}

fn ip_address(ip: &str) -> Result<String, String> {
    ip.parse::<IpAddr>()
        .map(|a| a.to_string())
        .map_err(|_| format!("{ip:?} is not an IP address"))
}

/// A port or a range of ports, `80` or `8000-8010`, as (first, last).
fn range(s: &str) -> Result<(u16, u16), String> {
    let s = s.trim();
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b) = (number(a)?, number(b)?);
    if b < a {
        return Err(format!("the range {s:?} ends before it starts"));
    }
    Ok((a, b))
}

fn number(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .ok()
        .filter(|n| *n != 0 && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("{s:?} is not a port number (1-65535)"))
}

/// One port per container port of `container`, paired with the host ports of `host`.
fn expand(
    container: &str,
    host: &str,
    host_ip: Option<String>,
    protocol: &'static str,
    name: Option<String>,
) -> Result<Vec<Port>, String> {
    if container.trim().is_empty() {
        return Err("the container port is missing".to_string());
    }
    let (c_first, c_last) = range(container)?;
    let count = usize::from(c_last - c_first) + 1;
    let hosts: Vec<Option<u16>> = if host.trim().is_empty() {
        // No host port: Docker picks one when a host IP says to publish, else not published.
        let any = host_ip.as_ref().map(|_| 0);
        vec![any; count]
    } else {
        let (h_first, h_last) = range(host)?;
        let host_count = usize::from(h_last - h_first) + 1;
        if host_count != count {
            return Err(if count == 1 {
                format!(
                    "a host port range ({host}) for one container port (Docker picks a free \
                     port in it) is not supported; publish one host port"
                )
            } else {
                format!(
                    "the host ports ({host}, {host_count}) and container ports ({container}, \
                     {count}) must be ranges of the same length"
                )
            });
        }
        (h_first..=h_last).map(Some).collect()
    };
    if count > 1 && name.is_some() {
        return Err("a named port must be a single port, not a range".to_string());
    }
    Ok((c_first..=c_last)
        .zip(hosts)
        .map(|(container, host)| Port {
            container,
            host,
            host_ip: host_ip.clone(),
            protocol,
            name: name.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// The objects (or ports), the unsupported keys, the warnings.
    type Outcome = (Vec<Value>, Vec<String>, Vec<String>);

    fn run(v: Value) -> Result<Outcome, ComposeError> {
        let mut ctx = Ctx::new("p", Path::new("/"), &no_env);
        let ports = convert(&v, "services.web.ports", &mut ctx)?;
        let unsupported = ctx.unsupported.iter().map(|u| u.to_string()).collect();
        Ok((ports, unsupported, ctx.warnings))
    }

    fn ports(v: Value) -> Vec<Value> {
        run(v).unwrap().0
    }

    fn err(v: Value) -> String {
        run(v).unwrap_err().to_string()
    }

    #[test]
    fn short_syntax() {
        assert_eq!(
            ports(json!([
                "80",
                53,
                "8080:80",
                "127.0.0.1:8443:443",
                "5353:53/udp"
            ])),
            [
                json!({"containerPort": 80, "protocol": "TCP"}),
                json!({"containerPort": 53, "protocol": "TCP"}),
                json!({"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}),
                json!({"containerPort": 443, "hostPort": 8443, "hostIP": "127.0.0.1",
                       "protocol": "TCP"}),
                json!({"containerPort": 53, "hostPort": 5353, "protocol": "UDP"}),
            ]
        );
    }

    #[test]
    fn short_syntax_ranges_and_ipv6() {
        assert_eq!(
            ports(json!(["8000-8001:80-81", "9000-9001"])),
            [
                json!({"containerPort": 80, "hostPort": 8000, "protocol": "TCP"}),
                json!({"containerPort": 81, "hostPort": 8001, "protocol": "TCP"}),
                json!({"containerPort": 9000, "protocol": "TCP"}),
                json!({"containerPort": 9001, "protocol": "TCP"}),
            ]
        );
        assert_eq!(
            ports(json!(["[::1]:8080:80", "::1:8081:81/UDP", "127.0.0.1::82"])),
            [
                json!({"containerPort": 80, "hostPort": 8080, "hostIP": "::1", "protocol": "TCP"}),
                json!({"containerPort": 81, "hostPort": 8081, "hostIP": "::1", "protocol": "UDP"}),
                json!({"containerPort": 82, "hostPort": 0, "hostIP": "127.0.0.1",
                       "protocol": "TCP"}),
            ]
        );
    }

    #[test]
    fn short_syntax_errors() {
        assert_eq!(
            err(json!(["80", "80:abc"])),
            "services.web.ports[1]: invalid port \"80:abc\": \"abc\" is not a port number \
             (1-65535)"
        );
        assert!(err(json!(["8000-8002:80-81"])).contains("ranges of the same length"));
        assert!(err(json!(["8000-8010:80"])).contains("host port range"));
        assert!(err(json!(["70000"])).contains("not a port number"));
        assert!(err(json!(["0"])).contains("not a port number"));
        assert!(err(json!(["81-80"])).contains("ends before it starts"));
        assert!(err(json!(["80/sctp"])).contains("sctp is not supported"));
        assert!(err(json!(["80/http"])).contains("unknown protocol"));
        assert!(err(json!(["300.1.1.1:80:80"])).contains("is not an IP address"));
        assert!(err(json!(["[::1:80:80"])).contains("closing"));
        assert!(err(json!(["8080:"])).contains("container port is missing"));
        assert!(err(json!([""])).contains("container port is missing"));
        assert!(err(json!(["+80"])).contains("not a port number"));
        assert!(err(json!([["80"]])).contains("must be a string or a mapping"));
        assert!(err(json!("80:80")).contains("must be a list"));
    }

    #[test]
    fn long_syntax() {
        let (ports, unsupported, warnings) = run(json!([
            {"target": 80, "published": 8080},
            {"target": "53", "published": "5353", "protocol": "udp", "host_ip": "10.0.0.2",
             "mode": "host"},
            {"target": 81, "published": "9000-9000", "mode": "ingress", "name": "admin"},
            {"target": 82},
            {"target": 83, "host_ip": "[::1]", "app_protocol": "http", "name": "Not_Valid"},
            {"target": "90-91", "published": "9090-9091", "x-note": "ignored"},
        ]))
        .unwrap();
        assert_eq!(
            ports,
            [
                json!({"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}),
                json!({"containerPort": 53, "hostPort": 5353, "hostIP": "10.0.0.2",
                       "protocol": "UDP"}),
                json!({"containerPort": 81, "hostPort": 9000, "protocol": "TCP",
                       "name": "admin"}),
                json!({"containerPort": 82, "protocol": "TCP"}),
                json!({"containerPort": 83, "hostPort": 0, "hostIP": "::1", "protocol": "TCP"}),
                json!({"containerPort": 90, "hostPort": 9090, "protocol": "TCP"}),
                json!({"containerPort": 91, "hostPort": 9091, "protocol": "TCP"}),
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("services.web.ports[2].mode: mode \"ingress\""));
        assert_eq!(unsupported.len(), 2, "{unsupported:?}");
        assert!(unsupported[0].starts_with("services.web.ports[4].app_protocol: "));
        assert!(unsupported[1].starts_with("services.web.ports[4].name: "));
    }

    #[test]
    fn long_syntax_errors() {
        assert_eq!(
            err(json!([{"published": 80}])),
            "services.web.ports[0]: target is required"
        );
        assert!(err(json!([{"target": 80, "published": "8000-8001"}])).contains("host port range"));
        assert!(err(json!([{"target": "x"}])).contains("\"x\" is not a port number"));
        assert_eq!(
            err(json!([{"target": 80, "protocol": "icmp"}])),
            "services.web.ports[0].protocol: unknown protocol \"icmp\" (expected tcp or udp)"
        );
        assert!(err(json!([{"target": 80, "mode": "bridge"}])).contains("unknown mode"));
        assert!(err(json!([{"target": 80, "host_ip": "nope"}])).contains("not an IP address"));
        assert!(err(json!([{"target": [80]}])).contains("must be a string, number or boolean"));
        assert!(err(json!([{"target": "80-81", "name": "web"}])).contains("single port"));
    }
}

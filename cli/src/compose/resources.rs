//! CPU and memory: Docker's notations (`cpus: 0.5`, `memory: 50M`, `1.5g`) into Kubernetes
//! quantities (`500m`, `50Mi`, bytes), and `deploy.resources` into a container's `resources`.
//!
//! Docker's byte units (`b`, `k`/`kb`, `m`/`mb`, `g`/`gb`, ..., any case, an optional `i`) are
//! all powers of 1024, as Docker's `RAMInBytes` reads them.
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::value::{as_map, display, type_name};
use super::ComposeError;

/// `limits` and `requests`, resource name to quantity.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Resources {
    pub limits: BTreeMap<String, String>,
    pub requests: BTreeMap<String, String>,
}

impl Resources {
    /// Kubernetes' `resources`, `None` when empty.
    pub fn to_json(&self) -> Option<Value> {
        let mut r = Map::new();
        if !self.limits.is_empty() {
            r.insert("limits".into(), json!(self.limits));
        }
        if !self.requests.is_empty() {
            r.insert("requests".into(), json!(self.requests));
        }
        (!r.is_empty()).then_some(Value::Object(r))
    }

    /// Sets `name` in `limits` (or `requests`); a different value already there (from the
    /// service-level `cpus`, `mem_limit`, `mem_reservation`) is an error, as in Compose.
    pub fn set(
        &mut self,
        limit: bool,
        name: &str,
        quantity: Option<String>,
        path: &str,
    ) -> Result<(), ComposeError> {
        let Some(quantity) = quantity else {
            return Ok(());
        };
        let map = if limit {
            &mut self.limits
        } else {
            &mut self.requests
        };
        match map.get(name) {
            Some(old) if *old != quantity => Err(ComposeError::new(
                path,
                format!("{quantity} differs from the {old} set for the service elsewhere"),
            )),
            _ => {
                map.insert(name.to_string(), quantity);
                Ok(())
            }
        }
    }
}

/// `deploy.resources` (at `path`) into `into`.
pub(crate) fn deploy_resources(
    v: &Value,
    path: &str,
    into: &mut Resources,
    ctx: &mut Ctx,
) -> Result<(), ComposeError> {
    if v.is_null() {
        return Ok(());
    }
    for (key, section) in as_map(v, path)? {
        let p = format!("{path}.{key}");
        let limit = match key.as_str() {
            "limits" => true,
            "reservations" => false,
            k if k.starts_with("x-") => continue,
            _ => {
                ctx.unsupported(&p, "not a resources attribute Bosun knows");
                continue;
            }
        };
        if section.is_null() {
            continue;
        }
        for (name, q) in as_map(section, &p)? {
            let qp = format!("{p}.{name}");
            match name.as_str() {
                "cpus" => into.set(limit, "cpu", cpu_quantity(q, &qp)?, &qp)?,
                "memory" => into.set(limit, "memory", memory_quantity(q, &qp)?, &qp)?,
                "pids" => ctx.unsupported(&qp, "Bosun does not limit a container's processes"),
                "devices" => ctx.unsupported(&qp, "Bosun does not give containers devices (GPUs)"),
                "generic_resources" => ctx.unsupported(&qp, "Bosun schedules only CPU and memory"),
                n if n.starts_with("x-") => {}
                _ => ctx.unsupported(&qp, "not a resource Bosun knows"),
            }
        }
    }
    Ok(())
}

/// Docker's `cpus` (`0.5`, `"1.5"`, `2`) as a Kubernetes CPU quantity (`500m`, `1500m`, `2`),
/// rounded up to a millicore; `None` for 0, which Docker reads as "no limit".
pub(crate) fn cpu_quantity(v: &Value, path: &str) -> Result<Option<String>, ComposeError> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        other => {
            return Err(ComposeError::new(
                path,
                format!(
                    "must be a number of CPUs such as 0.5, not {}",
                    type_name(other)
                ),
            ))
        }
    };
    let millis = decimal_scaled(&text, 1000, true).ok_or_else(|| {
        ComposeError::new(
            path,
            format!(
                "invalid number of CPUs {}: expected a number such as 0.5",
                display(v)
            ),
        )
    })?;
    Ok(match millis {
        0 => None,
        m if m % 1000 == 0 => Some((m / 1000).to_string()),
        m => Some(format!("{m}m")),
    })
}

/// Docker's memory size (`50M`, `1.5g`, `512mb`, `1073741824`) as a Kubernetes quantity: a
/// whole number of a unit keeps its binary suffix (`50Mi`), a fraction becomes bytes. `None`
/// for 0, which Docker reads as "no limit".
pub(crate) fn memory_quantity(v: &Value, path: &str) -> Result<Option<String>, ComposeError> {
    let invalid = || {
        ComposeError::new(
            path,
            format!(
                "invalid size {}: expected a number of bytes with an optional unit \
                 (b, k, m, g, t, p) such as \"512m\"",
                display(v)
            ),
        )
    };
    let text = match v {
        Value::Number(n) => n.as_u64().ok_or_else(invalid)?.to_string(),
        Value::String(s) => s.trim().to_string(),
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a size such as \"512m\", not {}", type_name(other)),
            ))
        }
    };
    let (number, unit) = split_size(&text).ok_or_else(invalid)?;
    let (shift, suffix) = match unit {
        "" => (0, ""),
        "k" => (10, "Ki"),
        "m" => (20, "Mi"),
        "g" => (30, "Gi"),
        "t" => (40, "Ti"),
        "p" => (50, "Pi"),
        _ => return Err(invalid()),
    };
    let whole = !number.contains('.');
    let quantity = if whole {
        let n: u64 = number.parse().map_err(|_| invalid())?;
        if n == 0 {
            return Ok(None);
        }
        if n.checked_shl(shift)
            .is_none_or(|b| b >> shift != n || b > i64::MAX as u64)
        {
            return Err(invalid());
        }
        format!("{n}{suffix}")
    } else {
        // Docker truncates the fraction of a byte.
        let bytes = decimal_scaled(number, 1u128 << shift, false).ok_or_else(invalid)?;
        if bytes == 0 {
            return Ok(None);
        }
        bytes.to_string()
    };
    Ok(Some(quantity))
}

/// The number and the lowercase unit letter (`""` for bytes) of a Docker size:
/// `^(\d+(\.\d+)?) ?([kmgtp])?i?b?$`, any case.
fn split_size(s: &str) -> Option<(&str, &str)> {
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, rest) = s.split_at(num_len);
    let rest = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let unit = match rest.as_str() {
        "" | "b" => "",
        "k" | "kb" | "ki" | "kib" => "k",
        "m" | "mb" | "mi" | "mib" => "m",
        "g" | "gb" | "gi" | "gib" => "g",
        "t" | "tb" | "ti" | "tib" => "t",
        "p" | "pb" | "pi" | "pib" => "p",
        _ => return None,
    };
    Some((number, unit))
}

/// A non-negative decimal (`1`, `0.25`, `.5`) times `scale`, rounded up (or truncated),
/// as long as it fits an `i64`.
fn decimal_scaled(s: &str, scale: u128, round_up: bool) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (int_part, frac_part) = s.split_once('.').unwrap_or((s, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || int_part.len() > 20
    {
        return None;
    }
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut value = int.checked_mul(scale)?;
    let (mut frac, mut divisor, mut rest_nonzero) = (0u128, 1u128, false);
    for (i, d) in frac_part.bytes().enumerate() {
        if i < 18 {
            frac = frac * 10 + u128::from(d - b'0');
            divisor *= 10;
        } else {
            rest_nonzero |= d != b'0';
        }
    }
    let scaled = frac.checked_mul(scale)?;
    value = value.checked_add(scaled / divisor)?;
    if round_up && (scaled % divisor != 0 || rest_nonzero) {
        value += 1;
    }
    u64::try_from(value).ok().filter(|v| *v <= i64::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cpu(v: Value) -> Option<String> {
        cpu_quantity(&v, "x").unwrap()
    }

    fn mem(v: Value) -> Option<String> {
        memory_quantity(&v, "x").unwrap()
    }

    #[test]
    fn cpus() {
        assert_eq!(cpu(json!("0.5")).as_deref(), Some("500m"));
        assert_eq!(cpu(json!(0.5)).as_deref(), Some("500m"));
        assert_eq!(cpu(json!(2)).as_deref(), Some("2"));
        assert_eq!(cpu(json!("1.5")).as_deref(), Some("1500m"));
        assert_eq!(cpu(json!("0.0001")).as_deref(), Some("1m"), "rounded up");
        assert_eq!(cpu(json!(".25")).as_deref(), Some("250m"));
        assert_eq!(cpu(json!(0)), None);
        assert_eq!(cpu(json!("0.000")), None);
        assert!(cpu_quantity(&json!("half"), "a.cpus").is_err());
        assert!(cpu_quantity(&json!("-1"), "a").is_err());
        assert!(cpu_quantity(&json!("1e3"), "a").is_err());
        assert!(cpu_quantity(&json!(true), "a").is_err());
        assert!(cpu_quantity(&json!("99999999999999999999999"), "a").is_err());
    }

    #[test]
    fn memory() {
        assert_eq!(mem(json!("50M")).as_deref(), Some("50Mi"));
        assert_eq!(mem(json!("50m")).as_deref(), Some("50Mi"));
        assert_eq!(mem(json!("512mb")).as_deref(), Some("512Mi"));
        assert_eq!(mem(json!("2GiB")).as_deref(), Some("2Gi"));
        assert_eq!(mem(json!("64 k")).as_deref(), Some("64Ki"));
        assert_eq!(mem(json!("1.5g")).as_deref(), Some("1610612736"));
        assert_eq!(mem(json!("0.5k")).as_deref(), Some("512"));
        assert_eq!(mem(json!("1024")).as_deref(), Some("1024"));
        assert_eq!(mem(json!("1024b")).as_deref(), Some("1024"));
        assert_eq!(mem(json!(1048576)).as_deref(), Some("1048576"));
        assert_eq!(mem(json!("1t")).as_deref(), Some("1Ti"));
        assert_eq!(mem(json!("0")), None);
        assert_eq!(
            memory_quantity(&json!("50X"), "services.db.deploy.resources.limits.memory")
                .unwrap_err()
                .to_string(),
            "services.db.deploy.resources.limits.memory: invalid size \"50X\": expected a \
             number of bytes with an optional unit (b, k, m, g, t, p) such as \"512m\""
        );
        assert!(memory_quantity(&json!("-1m"), "x").is_err());
        assert!(memory_quantity(&json!(1.5), "x").is_err());
        assert!(memory_quantity(&json!("m"), "x").is_err());
        assert!(memory_quantity(&json!("99999999p"), "x").is_err());
        assert!(memory_quantity(&json!("1.2.3m"), "x").is_err());
    }

    #[test]
    fn deploy_section() {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("p", Path::new("/"), &env);
        let mut r = Resources::default();
        r.set(true, "memory", Some("1Gi".into()), "services.a.mem_limit")
            .unwrap();
        let v = json!({
            "limits": {"cpus": "0.5", "memory": "1g", "pids": 100},
            "reservations": {"cpus": 0.25, "memory": "256M",
                             "devices": [{"capabilities": ["gpu"]}]},
        });
        deploy_resources(&v, "services.a.deploy.resources", &mut r, &mut ctx).unwrap();
        assert_eq!(
            r.to_json().unwrap(),
            json!({"limits": {"cpu": "500m", "memory": "1Gi"},
                   "requests": {"cpu": "250m", "memory": "256Mi"}})
        );
        let paths: Vec<_> = ctx.unsupported.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "services.a.deploy.resources.limits.pids",
                "services.a.deploy.resources.reservations.devices"
            ]
        );
        let conflict = json!({"limits": {"memory": "2g"}});
        let e = deploy_resources(&conflict, "d", &mut r, &mut ctx).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.limits.memory: 2Gi differs from the 1Gi set for the service elsewhere"
        );
        assert_eq!(Resources::default().to_json(), None);
    }
}

//! The machine's CPU time and memory from `/proc` (Linux), for the node's line of `bosun top`.
use crate::runtime::RuntimeError;

/// Busy and total CPU time (clock ticks) over every CPU, from the first line of `/proc/stat`.
pub fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(stat.lines().next()?)
}

fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
    if v.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Memory in use: `MemTotal - MemAvailable`, in bytes.
pub fn memory_used() -> Result<u64, RuntimeError> {
    let info = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| RuntimeError::Engine(format!("reading /proc/meminfo: {e}")))?;
    Ok(parse_meminfo(&info))
}

fn parse_meminfo(info: &str) -> u64 {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0)
    };
    field("MemTotal:").saturating_sub(field("MemAvailable:")) * 1024
}

/// Millicores busy between two [`cpu_times`] samples, on a machine of `cpus` CPUs.
pub fn millicores(before: (u64, u64), after: (u64, u64), cpus: u64) -> u64 {
    let busy = after.0.saturating_sub(before.0);
    let total = after.1.saturating_sub(before.1);
    if total == 0 {
        return 0;
    }
    busy * cpus * 1000 / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_formats() {
        assert_eq!(
            parse_cpu_line("cpu  100 0 50 800 50 0 0 0 0 0"),
            Some((150, 1000))
        );
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4"), None);
        let info = "MemTotal:       2048 kB\nMemFree:  10 kB\nMemAvailable:   1024 kB\n";
        assert_eq!(parse_meminfo(info), 1024 * 1024);
        // Half the ticks busy on 2 CPUs: one core.
        assert_eq!(millicores((0, 0), (100, 200), 2), 1000);
        assert_eq!(millicores((5, 5), (5, 5), 2), 0);
    }
}

//! [`Runtime::usage`](super::Runtime::usage) on Docker: one stats sample, whose CPU figure is
//! the engine's own two readings about a second apart (as `docker stats --no-stream`).
use bollard::models::{ContainerCpuStats, ContainerStatsResponse};
use bollard::query_parameters::StatsOptions;
use bollard::Docker;
use futures::StreamExt;

use super::{map_error, Subject};
use crate::runtime::{ContainerUsage, RuntimeError};

pub(super) async fn usage(docker: &Docker, id: &str) -> Result<ContainerUsage, RuntimeError> {
    let options = StatsOptions {
        stream: false,
        one_shot: false,
    };
    let sample = docker
        .stats(id, Some(options))
        .next()
        .await
        .ok_or_else(|| RuntimeError::Container {
            name: id.to_string(),
            message: "the engine sent no stats".into(),
        })?
        .map_err(|e| map_error(e, Subject::Container(id)))?;
    Ok(from_sample(&sample))
}

/// CPU as Docker's CLI computes it (the container's share of the machine's CPU time between
/// the two readings, times the CPUs online); memory less the inactive page cache (cgroup v2
/// `inactive_file`, v1 `total_inactive_file`), as the kubelet's working set.
fn from_sample(s: &ContainerStatsResponse) -> ContainerUsage {
    let total = |c: &Option<ContainerCpuStats>| {
        c.as_ref()
            .and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let system =
        |c: &Option<ContainerCpuStats>| c.as_ref().and_then(|c| c.system_cpu_usage).unwrap_or(0);
    let cpu_delta = total(&s.cpu_stats).saturating_sub(total(&s.precpu_stats));
    let system_delta = system(&s.cpu_stats).saturating_sub(system(&s.precpu_stats));
    let cpus = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.online_cpus)
        .unwrap_or(1)
        .max(1);
    let cpu_millicores = if system_delta == 0 {
        0
    } else {
        (u128::from(cpu_delta) * u128::from(cpus) * 1000 / u128::from(system_delta)) as u64
    };
    let memory_bytes = s
        .memory_stats
        .as_ref()
        .map(|m| {
            let usage = m.usage.unwrap_or(0);
            let inactive = m
                .stats
                .as_ref()
                .and_then(|st| {
                    st.get("inactive_file")
                        .or_else(|| st.get("total_inactive_file"))
                })
                .copied()
                .unwrap_or(0);
            usage.saturating_sub(inactive)
        })
        .unwrap_or(0);
    ContainerUsage {
        cpu_millicores,
        memory_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuUsage, ContainerMemoryStats};

    fn cpu(total: u64, system: u64) -> Option<ContainerCpuStats> {
        Some(ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        })
    }

    #[test]
    fn cpu_is_the_share_of_the_machine_times_its_cpus_and_memory_drops_the_cache() {
        let s = ContainerStatsResponse {
            precpu_stats: cpu(1_000, 10_000),
            // A quarter of the machine's time between the readings, on 2 CPUs: half a core.
            cpu_stats: cpu(3_500, 20_000),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(50 << 20),
                stats: Some([("inactive_file".to_string(), 10 << 20)].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let u = from_sample(&s);
        assert_eq!(u.cpu_millicores, 500);
        assert_eq!(u.memory_bytes, 40 << 20);
    }

    #[test]
    fn an_empty_sample_is_zero_not_a_division_by_zero() {
        assert_eq!(
            from_sample(&ContainerStatsResponse::default()),
            ContainerUsage::default()
        );
    }
}

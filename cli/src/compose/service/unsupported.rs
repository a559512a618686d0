//! Why a service key is not converted: the reason listed with each key Bosun leaves out.
/// Why a service key is not converted.
pub(super) fn unsupported_reason(key: &str) -> &'static str {
    match key {
        "expose" => "no effect: pods share no network",
        "depends_on" => "services start together; Bosun has no start order",
        "env_file" => "environment files are not read; list the variables under environment",
        "networks" => "Bosun has no networks: every pod is on its node's container network",
        "network_mode" => "Bosun chooses the pod's network",
        "links" | "external_links" => "Bosun has no links between containers",
        "secrets" => "Bosun does not mount secrets into containers",
        "configs" => "Bosun does not mount configs into containers",
        "container_name" => "Bosun names containers after their pod",
        "hostname" | "domainname" => "a pod's hostname is its name",
        "user" | "group_add" => "Bosun's pods have no securityContext: the image's user runs",
        "cap_add" | "cap_drop" => "Bosun does not change a container's capabilities",
        "privileged" => "Bosun does not run privileged containers",
        "security_opt" | "read_only" => {
            "Bosun's pods have no securityContext (read-only root, security options)"
        }
        "logging" => "containers log with the node's Docker defaults",
        "stop_signal" => "containers are stopped with SIGTERM",
        "tty" | "stdin_open" | "attach" => "Bosun's containers have no terminal or input",
        "extra_hosts" | "dns" | "dns_search" | "dns_opt" => {
            "Bosun does not change a container's name resolution"
        }
        "ulimits" => "Bosun does not set ulimits",
        "sysctls" => "Bosun does not set sysctls",
        "init" => "Bosun runs no init process in containers",
        "devices" | "gpus" | "device_cgroup_rules" => "Bosun does not give containers devices",
        "shm_size" => "Bosun does not size /dev/shm",
        "extends" => "extends is not resolved: write the service out in full",
        "volumes_from" => "Bosun's pods cannot share another container's volumes",
        "develop" => "development options (compose watch) have no effect",
        "post_start" | "pre_stop" => "Bosun's containers have no lifecycle hooks",
        "label_file" => "label files are not read; list the labels under labels",
        "platform" => "images are pulled for the node's own platform",
        "pid" | "ipc" | "uts" | "userns_mode" | "cgroup" | "cgroup_parent" | "isolation"
        | "runtime" | "storage_opt" | "mac_address" | "oom_kill_disable" | "oom_score_adj"
        | "mem_swappiness" | "memswap_limit" | "pids_limit" | "cpu_shares" | "cpu_quota"
        | "cpu_period" | "cpuset" | "cpu_count" | "cpu_percent" | "cpu_rt_period"
        | "cpu_rt_runtime" | "blkio_config" | "credential_spec" => {
            "Bosun does not set this container option"
        }
        _ => "not a service attribute Bosun knows",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::compose::service::fixtures::run;

    #[test]
    fn unsupported_keys_are_listed() {
        let (_, unsupported, _) = run(json!({
            "image": "a", "networks": ["front"], "depends_on": ["db"], "expose": [80],
            "env_file": ".env", "user": "1000", "privileged": true, "x-custom": 1,
            "profiles": ["debug"], "made_up": true,
        }))
        .unwrap();
        assert_eq!(
            unsupported,
            [
                "services.web.depends_on",
                "services.web.env_file",
                "services.web.expose",
                "services.web.made_up",
                "services.web.networks",
                "services.web.privileged",
                "services.web.user",
            ]
        );
        assert_eq!(
            unsupported_reason("depends_on"),
            "services start together; Bosun has no start order"
        );
        assert_eq!(
            unsupported_reason("expose"),
            "no effect: pods share no network"
        );
    }
}

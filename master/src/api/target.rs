//! [`Target`]: the container a `logs` or `exec` request names, and the node that runs it.
use bosun_shared::pod::Pod;
use bosun_shared::{Kind, Object};
use tonic::Status;

use crate::store::Store;

/// A container of a scheduled pod.
pub struct Target {
    pub pod: Pod,
    pub node: String,
    pub container: String,
}

impl Target {
    /// Finds pod `name` of namespace `ns` (empty: `default`) and its container `container`
    /// (empty: the default one, else the first), as kubectl does; errors name the pod and the container.
    pub fn find(store: &Store, ns: &str, name: &str, container: &str) -> Result<Target, Status> {
        let ns = if ns.is_empty() { "default" } else { ns };
        let pod = match store.get(Kind::Pod, ns, name).as_deref() {
            Some(Object::Pod(p)) => p.clone(),
            _ => return Err(Status::not_found(format!("pods \"{name}\" not found"))),
        };
        let node = pod.spec.node_name.clone().ok_or_else(|| {
            Status::failed_precondition(format!("pod {ns}/{name} is not scheduled yet"))
        })?;
        let container = if container.is_empty() {
            pod.spec
                .default_container(&pod.metadata)
                .unwrap_or_default()
                .to_string()
        } else if pod.spec.all_containers().any(|c| c.name == container) {
            container.to_string()
        } else {
            let names: Vec<String> = pod
                .spec
                .containers
                .iter()
                .map(|c| c.name.to_string())
                .chain(
                    pod.spec
                        .init_containers
                        .iter()
                        .map(|c| format!("{} (init)", c.name)),
                )
                .collect();
            return Err(Status::invalid_argument(format!(
                "container {container} is not valid for pod {name}: choose one of [{}]",
                names.join(" ")
            )));
        };
        Ok(Target {
            pod,
            node: node.to_string(),
            container,
        })
    }
}

//! Docker named volumes for PersistentVolumeClaims: made (idempotently) with labels, found
//! by label, removed.
use std::collections::{BTreeMap, HashMap};

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};
use bollard::Docker;

use super::{map_error, Subject};
use crate::runtime::RuntimeError;

/// Makes the volume if it does not exist; its path on the node.
pub(super) async fn ensure(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, RuntimeError> {
    let err = |e| map_error(e, Subject::Container(name));
    if let Ok(v) = docker.inspect_volume(name).await {
        return Ok(v.mountpoint);
    }
    let request = VolumeCreateRequest {
        name: Some(name.to_string()),
        driver: Some("local".into()),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    Ok(docker.create_volume(request).await.map_err(err)?.mountpoint)
}

pub(super) async fn remove(docker: &Docker, name: &str) -> Result<(), RuntimeError> {
    docker
        .remove_volume(name, None::<RemoveVolumeOptions>)
        .await
        .map_err(|e| map_error(e, Subject::Container(name)))
}

pub(super) async fn list(
    docker: &Docker,
    labels: &BTreeMap<String, String>,
) -> Result<Vec<crate::runtime::NamedVolume>, RuntimeError> {
    let filters: HashMap<String, Vec<String>> = HashMap::from([(
        "label".to_string(),
        labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    )]);
    let options = ListVolumesOptions {
        filters: Some(filters),
    };
    let found = docker
        .list_volumes(Some(options))
        .await
        .map_err(|e| map_error(e, Subject::Engine))?;
    Ok(found
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.name, v.labels.into_iter().collect()))
        .collect())
}

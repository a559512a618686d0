//! Helpers for the volume tests: a context with top-level volumes, and a service's `volumes`
//! converted in it.
use std::path::Path;

use serde_json::Value;

use super::{service_volumes, top_level, PodVolumes};
use crate::compose::context::Ctx;
use crate::compose::ComposeError;

fn env(name: &str) -> Option<String> {
    (name == "HOME").then(|| "/home/me".to_string())
}

/// A context of project `lab` in `/srv/lab` (`HOME` is `/home/me`) with top-level `volumes`.
pub(super) fn ctx_with(volumes: Value) -> Ctx<'static> {
    let mut ctx = Ctx::new("lab", Path::new("/srv/lab"), &env);
    ctx.volumes = top_level(&volumes, &mut ctx).unwrap();
    ctx
}

/// The pod volumes of a service whose `volumes` are `v`.
pub(super) fn run(ctx: &mut Ctx, v: Value) -> Result<PodVolumes, ComposeError> {
    let mut pv = PodVolumes::default();
    service_volumes(&v, "services.app.volumes", &mut pv, ctx)?;
    Ok(pv)
}

//! Helpers for the service tests: service `web` of project `lab` converted, its objects, its
//! container.
use std::path::Path;

use serde_json::Value;

use super::convert;
use crate::compose::context::Ctx;
use crate::compose::ComposeError;

/// The environment: `TZ` and `SECRET` are set.
pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "TZ" => Some("Europe/Paris".into()),
        "SECRET" => Some("s3cret".into()),
        _ => None,
    }
}

/// The objects (or ports), the unsupported keys, the warnings.
type Outcome = (Vec<Value>, Vec<String>, Vec<String>);

/// Service `web` of project `lab` converted.
pub(super) fn run(spec: Value) -> Result<Outcome, ComposeError> {
    let mut ctx = Ctx::new("lab", Path::new("/srv/lab"), &env);
    let objects = convert("web", &spec, "lab-web", &mut ctx)?;
    let unsupported = ctx.unsupported.iter().map(|u| u.path.clone()).collect();
    Ok((objects, unsupported, ctx.warnings))
}

/// The one object of service `web`.
pub(super) fn one(spec: Value) -> Value {
    let (mut objects, _, _) = run(spec).unwrap();
    assert_eq!(objects.len(), 1);
    objects.remove(0)
}

/// The container in the pod template of service `web`'s one object.
pub(super) fn container(spec: Value) -> Value {
    let o = one(spec);
    o["spec"]["template"]["spec"]["containers"][0].clone()
}

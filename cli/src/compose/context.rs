//! What converting one file accumulates while it walks the services: the unsupported keys, the
//! warnings, the top-level volumes and which of them services use.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::volumes::TopVolume;
use super::Unsupported;

/// The state of one conversion.
pub(crate) struct Ctx<'a> {
    pub project: &'a str,
    /// Directory relative bind-mount sources are resolved against.
    pub base_dir: &'a Path,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Top-level `volumes`, by key.
    pub volumes: BTreeMap<String, TopVolume>,
    /// Keys of top-level volumes some service mounts.
    pub used_volumes: BTreeSet<String>,
    pub unsupported: Vec<Unsupported>,
    pub warnings: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        project: &'a str,
        base_dir: &'a Path,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Self {
        Ctx {
            project,
            base_dir,
            env,
            volumes: BTreeMap::new(),
            used_volumes: BTreeSet::new(),
            unsupported: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records a key that was not converted.
    pub fn unsupported(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.unsupported.push(Unsupported {
            path: path.into(),
            reason: reason.into(),
        });
    }

    /// Records a warning, once.
    pub fn warn(&mut self, warning: impl Into<String>) {
        let warning = warning.into();
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }
}

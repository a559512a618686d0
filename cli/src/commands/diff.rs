//! `bosun diff -f FILE`: what `apply` would change, as a unified diff of each object's YAML
//! (live, then as the master would store it: a server-side dry run). Exit code 0 when nothing
//! would change, 1 when something would (as kubectl's), above 1 on errors.
use bosun_shared::client::ClientError;
use bosun_shared::Object;
use similar::TextDiff;

use crate::commands::apply::read_manifests;
use crate::commands::{emit, Exit};
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Manifest file, directory of manifests, or - for standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<String>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let objects = read_manifests(&args.files, &ctx.namespace).map_err(errors_exit)?;
    let client = ctx.client().await.map_err(errors_exit)?;
    let mut changed = false;
    for p in objects {
        let (kind, m) = (p.object.kind(), p.object.meta().clone());
        // The live object and the dry run must see the same version: a controller writing
        // in between (the scheduler binding a new pod) would show as a difference.
        let mut attempts = 0;
        let (live, merged) = loop {
            let live = match client.get(kind, &m.namespace, &m.name).await {
                Ok(o) => Some(o),
                Err(ClientError::NotFound(_)) => None,
                Err(e) => return Err(errors_exit(e.into())),
            };
            let merged = client
                .apply_opts(&p.object, true)
                .await
                .map_err(|e| errors_exit(e.into()))?
                .object;
            attempts += 1;
            let same_version = live
                .as_ref()
                .is_none_or(|l| l.meta().resource_version == merged.meta().resource_version);
            if same_version || attempts == 5 {
                break (live, merged);
            }
        };
        let name = format!(
            "{}.{}.{}.{}",
            kind.api_version().replace('/', "."),
            kind,
            m.namespace,
            m.name
        );
        let (old, new) = (yaml(live.as_ref()), yaml(Some(&merged)));
        if old == new {
            continue;
        }
        changed = true;
        let diff = TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("LIVE/{name}"), &format!("MERGED/{name}"))
            .to_string();
        emit(&diff)?;
    }
    if changed {
        return Err(Exit {
            code: 1,
            message: String::new(),
        }
        .into());
    }
    Ok(())
}

/// An error of `diff` itself: exit code 2, kubectl's for "diff failed".
fn errors_exit(e: anyhow::Error) -> anyhow::Error {
    Exit {
        code: 2,
        message: crate::commands::error_text(&e),
    }
    .into()
}

/// The object's YAML without what apply never changes (status) — empty for none.
fn yaml(o: Option<&Object>) -> String {
    let Some(o) = o else {
        return String::new();
    };
    let mut v = o.to_value();
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
    }
    serde_saphyr::to_string(&v).unwrap_or_default()
}

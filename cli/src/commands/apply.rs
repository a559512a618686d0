//! `bosun apply -f FILE|DIR|- [--dry-run[=client|server]] [--wait [--timeout D]]`.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bosun_shared::manifest::{parse_manifests, ParsedObject};
use bosun_shared::ToCompactString;

use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Manifest file, directory of manifests, or - for standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<String>,
    /// Only show what would happen: `client` or `server` (both ask the master, which
    /// validates and compares, and stores nothing), or `none`.
    #[arg(long, num_args = 0..=1, default_value = "none", default_missing_value = "client",
          value_parser = ["none", "client", "server"])]
    pub dry_run: String,
    /// After applying, wait until the objects are ready (pods Ready, Deployments rolled out,
    /// DaemonSets on every node, Jobs complete).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (0: forever).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Reads and parses every manifest named by `-f` (files, directories, `-`).
pub fn read_manifests(files: &[String], namespace: &str) -> anyhow::Result<Vec<ParsedObject>> {
    let mut sources: Vec<(String, String)> = Vec::new();
    for f in files {
        if f == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("reading standard input")?;
            sources.push(("-".into(), text));
            continue;
        }
        let path = Path::new(f);
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading directory {f}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yaml" | "yml" | "json")
                    )
                })
                .collect();
            entries.sort();
            for p in entries {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?;
                sources.push((p.display().to_string(), text));
            }
        } else {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("the path \"{f}\" does not exist or cannot be read"))?;
            sources.push((f.clone(), text));
        }
    }
    let mut out = Vec::new();
    for (source, text) in sources {
        let mut parsed = parse_manifests(&source, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
        for p in &mut parsed {
            let namespaced = p.object.kind().namespaced();
            let m = p.object.meta_mut();
            // The parser defaults an unset namespace to `default`; `-n` replaces that default.
            if namespaced
                && (m.namespace.is_empty() || m.namespace == "default")
                && namespace != "default"
            {
                m.namespace = namespace.to_compact_string();
            }
        }
        out.extend(parsed);
    }
    if out.is_empty() {
        anyhow::bail!("no objects passed to apply");
    }
    Ok(out)
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    // Everything is parsed and validated before anything is sent.
    let objects = read_manifests(&args.files, &ctx.namespace)?;
    for p in &objects {
        for w in &p.warnings {
            eprintln!(
                "Warning: {} {:?}: {w}",
                p.object.kind(),
                p.object.meta().name
            );
        }
    }
    let client = ctx.client().await?;
    let dry_run = args.dry_run != "none";
    let suffix = match args.dry_run.as_str() {
        "client" => " (dry run)",
        "server" => " (server dry run)",
        _ => "",
    };
    // Like kubectl: every object is tried; the command fails if any failed.
    let mut failed = 0;
    let mut applied_targets = Vec::new();
    for p in objects {
        match client.apply_opts(&p.object, dry_run).await {
            Ok(applied) => {
                let m = applied.object.meta();
                applied_targets.push((
                    p.object.kind(),
                    m.namespace.to_string(),
                    m.name.to_string(),
                ));
                println!(
                    "{}/{} {}{suffix}",
                    p.object.kind().resource_name(),
                    p.object.meta().name,
                    applied.outcome
                )
            }
            Err(e) => {
                eprintln!("{}", crate::commands::error_text(&anyhow::Error::new(e)));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} object(s) could not be applied");
    }
    if args.wait && !dry_run {
        crate::commands::wait::until_ready(&client, &applied_targets, args.timeout).await?;
    }
    Ok(())
}

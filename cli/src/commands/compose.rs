//! `bosun compose up|down|convert [-f FILE] [-p PROJECT]`: a Docker Compose file deployed on
//! the cluster as the equivalent manifests ([`crate::compose`]), removed by its project
//! label, or printed.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bosun_shared::client::ClientError;
use bosun_shared::manifest::parse_manifests;
use bosun_shared::{Kind, Object};

use crate::commands::{emit, error_text, Usage};
use crate::compose::{self, Conversion, PROJECT_LABEL};
use crate::Context;

#[derive(clap::Subcommand)]
pub enum ComposeCommand {
    /// Create or update the project's objects on the cluster.
    Up(UpArgs),
    /// Delete the project's objects (its named volumes too with --volumes).
    Down(DownArgs),
    /// Print the manifests the file converts to.
    Convert(FileArgs),
}

#[derive(clap::Args)]
pub struct FileArgs {
    /// The Compose file [default: compose.yaml, compose.yml, docker-compose.yaml or
    /// docker-compose.yml in the current directory].
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Project name [default: the file's `name:`, else its directory's name].
    #[arg(short = 'p', long = "project-name")]
    pub project: Option<String>,
}

#[derive(clap::Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Also delete the named volumes (PersistentVolumeClaims, and so their data).
    #[arg(short = 'v', long)]
    pub volumes: bool,
}

#[derive(clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Wait until the services are ready.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (0: forever).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

/// The files Compose looks for, in its order.
const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

pub async fn run(ctx: &Context, c: ComposeCommand) -> anyhow::Result<()> {
    match c {
        ComposeCommand::Convert(a) => {
            let (conversion, _) = load(&a, &ctx.namespace)?;
            let docs: Vec<String> = conversion
                .objects
                .iter()
                .map(|v| serde_saphyr::to_string(v).unwrap_or_default())
                .collect();
            emit(&docs.join("---\n"))
        }
        ComposeCommand::Up(a) => up(ctx, a).await,
        ComposeCommand::Down(a) => down(ctx, a).await,
    }
}

async fn up(ctx: &Context, a: UpArgs) -> anyhow::Result<()> {
    let (_, objects) = load(&a.file, &ctx.namespace)?;
    let client = ctx.client().await?;
    let mut failed = 0;
    let mut targets = Vec::new();
    for o in objects {
        match client.apply(&o).await {
            Ok(applied) => {
                let m = o.meta();
                targets.push((o.kind(), m.namespace.to_string(), m.name.to_string()));
                emit(&format!(
                    "{}/{} {}\n",
                    o.kind().resource_name(),
                    m.name,
                    applied.outcome
                ))?;
            }
            Err(e) => {
                eprintln!("{}", error_text(&anyhow::Error::new(e)));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} object(s) could not be applied");
    }
    if a.wait {
        crate::commands::wait::until_ready(&client, &targets, a.timeout).await?;
    }
    Ok(())
}

/// Kinds a conversion makes, owners before what they own.
const PROJECT_KINDS: [Kind; 4] = [Kind::Deployment, Kind::DaemonSet, Kind::Job, Kind::Pod];

async fn down(ctx: &Context, d: DownArgs) -> anyhow::Result<()> {
    let a = &d.file;
    let (path, text) = read(a)?;
    let project = project(a, &path, &text)?;
    let client = ctx.client().await?;
    let selector = format!("{PROJECT_LABEL}={project}");
    let mut deleted = 0;
    let claims = d.volumes.then_some(Kind::PersistentVolumeClaim);
    for kind in PROJECT_KINDS.into_iter().chain(claims) {
        let (found, _) = client
            .list(kind, Some(&ctx.namespace), Some(&selector))
            .await?;
        for o in found {
            // Pods of the project's workloads go with them.
            if kind == Kind::Pod && o.meta().controller().is_some() {
                continue;
            }
            match client.delete(kind, &ctx.namespace, &o.meta().name).await {
                Ok(_) | Err(ClientError::NotFound(_)) => {
                    deleted += 1;
                    emit(&format!(
                        "{} \"{}\" deleted\n",
                        kind.resource_name(),
                        o.meta().name
                    ))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if deleted == 0 {
        eprintln!(
            "No resources found for project {project} in {} namespace.",
            ctx.namespace
        );
    }
    Ok(())
}

/// The file's conversion and its objects, parsed and validated as `apply -f` does; what was
/// not converted is listed on stderr.
fn load(a: &FileArgs, namespace: &str) -> anyhow::Result<(Conversion, Vec<Object>)> {
    let (path, text) = read(a)?;
    let project = project(a, &path, &text)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let env = environment(&base);
    let conversion = compose::convert(&text, &project, &base, &|k| env(k))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for w in &conversion.warnings {
        eprintln!("Warning: {w}");
    }
    for u in &conversion.unsupported {
        eprintln!("Warning: {u} (not converted)");
    }
    let mut objects = Vec::new();
    let mut refused = Vec::new();
    for v in &conversion.objects {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.insert("namespace".into(), namespace.into());
        }
        let source = format!("{} (converted)", path.display());
        match parse_manifests(&source, &v.to_string()) {
            Ok(parsed) => objects.extend(parsed.into_iter().map(|p| p.object)),
            Err(e) => refused.push(e.to_string()),
        }
    }
    if !refused.is_empty() {
        anyhow::bail!(
            "the file converts to objects Bosun cannot run yet:\n{}",
            refused.join("\n")
        );
    }
    Ok((conversion, objects))
}

fn read(a: &FileArgs) -> anyhow::Result<(PathBuf, String)> {
    let path = match &a.file {
        Some(f) => f.clone(),
        None => DEFAULT_FILES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Usage("no configuration file provided: not found (compose.yaml or docker-compose.yml; or -f FILE)".into())
            })?,
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((path, text))
}

fn project(a: &FileArgs, path: &Path, text: &str) -> anyhow::Result<String> {
    if let Some(p) = &a.project {
        return Ok(p.clone());
    }
    let dir = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "default".into());
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let env = environment(&base);
    compose::project_name(text, &dir, &|k| env(k)).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Variables for interpolation: the process's environment, then the `.env` file beside the
/// Compose file (the environment wins, as in Compose).
fn environment(dir: &Path) -> impl Fn(&str) -> Option<String> {
    let file: Vec<(String, String)> = std::fs::read_to_string(dir.join(".env"))
        .map(|t| parse_dotenv(&t))
        .unwrap_or_default();
    move |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| file.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }
}

/// `KEY=value` lines; `#` comments, blank lines, `export `, and quotes around values.
fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_as_compose_reads_them() {
        let vars =
            parse_dotenv("# comment\nTAG=1.2\nexport NAME=\"web app\"\n\nQ='x=y'\nbad line\n");
        assert_eq!(
            vars,
            [
                ("TAG".to_string(), "1.2".to_string()),
                ("NAME".into(), "web app".into()),
                ("Q".into(), "x=y".into()),
            ]
        );
    }
}

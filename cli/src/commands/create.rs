//! `bosun create namespace NAME`, `bosun create configmap NAME --from-literal K=V
//! --from-file [K=]PATH`, `bosun create secret generic NAME ...` and `bosun create -f FILE`
//! (fails for objects that exist, where `apply` would update them).
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use bosun_shared::configmap::ConfigMap;
use bosun_shared::namespace::Namespace;
use bosun_shared::secret::Secret;
use bosun_shared::Object;

use crate::commands::apply::read_manifests;
use crate::commands::{emit, error_text, Usage};
use crate::Context;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub what: Option<CreateCommand>,
    /// Manifest file, directory of manifests, or - for standard input.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<String>,
}

#[derive(clap::Subcommand)]
pub enum CreateCommand {
    /// A namespace.
    #[command(alias = "ns")]
    Namespace { name: String },
    /// A ConfigMap from literal values and files.
    #[command(alias = "cm")]
    Configmap(DataArgs),
    /// A Secret: `bosun create secret generic NAME --from-literal K=V`.
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(clap::Subcommand)]
pub enum SecretCommand {
    /// An Opaque secret (or --type) from literal values and files.
    Generic {
        #[command(flatten)]
        data: DataArgs,
        /// The secret's `type`.
        #[arg(long = "type", default_value = bosun_shared::secret::OPAQUE)]
        type_: String,
    },
}

/// The name and values of a ConfigMap or Secret.
#[derive(clap::Args)]
pub struct DataArgs {
    pub name: String,
    /// KEY=VALUE (repeatable).
    #[arg(long = "from-literal")]
    pub literals: Vec<String>,
    /// [KEY=]PATH: a file's content (its name as the key), or every file of a directory.
    #[arg(long = "from-file")]
    pub files: Vec<String>,
}

/// The values `--from-literal` and `--from-file` give, by key; a key given twice is an error.
fn values(a: &DataArgs) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut put = |k: String, v: Vec<u8>| -> anyhow::Result<()> {
        bosun_shared::secret::validate_key(&k)
            .map_err(|e| anyhow::anyhow!("{k:?} is not a valid key name: {e}"))?;
        if out.insert(k.clone(), v).is_some() {
            anyhow::bail!("cannot add key {k}, another key by that name already exists");
        }
        Ok(())
    };
    for l in &a.literals {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| Usage(format!("invalid literal source {l}, expected key=value")))?;
        put(k.to_string(), v.as_bytes().to_vec())?;
    }
    for f in &a.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => (Some(k.to_string()), p),
            None => (None, f.as_str()),
        };
        let path = Path::new(path);
        let name_of = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            entries.sort();
            for p in entries {
                let v = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                put(name_of(&p), v)?;
            }
        } else {
            let v = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            put(key.unwrap_or_else(|| name_of(path)), v)?;
        }
    }
    Ok(out)
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let objects: Vec<Object> = match args.what {
        Some(CreateCommand::Namespace { name }) => vec![Namespace::new(&name).into()],
        Some(CreateCommand::Configmap(a)) => {
            let mut c = ConfigMap::new(&ctx.namespace, &a.name);
            for (k, v) in values(&a)? {
                match String::from_utf8(v) {
                    Ok(text) => {
                        c.data.insert(k, text);
                    }
                    Err(bytes) => {
                        c.binary_data.insert(k, bytes.into_bytes());
                    }
                }
            }
            vec![c.into()]
        }
        Some(CreateCommand::Secret(SecretCommand::Generic { data, type_ })) => {
            let mut s = Secret::new(&ctx.namespace, &data.name, &type_);
            s.data = values(&data)?;
            vec![s.into()]
        }
        None if !args.files.is_empty() => read_manifests(&args.files, &ctx.namespace)?
            .into_iter()
            .map(|p| p.object)
            .collect(),
        None => {
            return Err(Usage(
                "must specify one of -f or a kind to create (namespace); see 'bosun create -h'"
                    .into(),
            )
            .into())
        }
    };
    let client = ctx.client().await?;
    let mut failed = 0;
    for o in objects {
        match client.create(&o).await {
            Ok(_) => emit(&format!(
                "{}/{} created\n",
                o.kind().resource_name(),
                o.meta().name
            ))?,
            Err(e) => {
                eprintln!("{}", error_text(&anyhow::Error::new(e)));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} object(s) could not be created");
    }
    Ok(())
}

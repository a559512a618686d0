//! `bosun config`: the contexts of the config file, one per cluster. `get-contexts` lists
//! them, `use-context` switches, `current-context` names the current one, `view` prints the
//! file with keys and certificates left out (`--raw` keeps them), `delete-context` forgets one.
use bosun_shared::client_config::ClientConfig;

use crate::config::{load, write};
use crate::output::table::align;
use crate::Context;

#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// List the contexts; `*` marks the current one.
    GetContexts,
    /// Make a context the current one.
    UseContext { name: String },
    /// Print the current context's name.
    CurrentContext,
    /// Print the config file (certificates and keys omitted unless --raw).
    View {
        #[arg(long)]
        raw: bool,
    },
    /// Remove a context.
    DeleteContext { name: String },
}

const OMITTED: &str = "DATA+OMITTED";

fn known(cfg: &ClientConfig, name: &str, path: &std::path::Path) -> anyhow::Result<()> {
    if cfg.contexts.contains_key(name) {
        return Ok(());
    }
    anyhow::bail!(
        "no context {name:?} in {} (known: {})",
        path.display(),
        cfg.names().join(", ")
    )
}

pub fn run(ctx: &Context, cmd: ConfigCommand) -> anyhow::Result<()> {
    let path = &ctx.config_path;
    let mut cfg = load(path)?;
    match cmd {
        ConfigCommand::GetContexts => {
            let current = cfg.context(None, path).ok().flatten().map(|(n, _)| n);
            let mut rows = vec![vec!["CURRENT".into(), "NAME".into(), "SERVERS".into()]];
            for (name, c) in &cfg.contexts {
                let mark = if current.as_deref() == Some(name) {
                    "*"
                } else {
                    ""
                };
                rows.push(vec![mark.into(), name.clone(), c.servers().join(",")]);
            }
            crate::commands::emit(&align(&rows))?;
        }
        ConfigCommand::UseContext { name } => {
            known(&cfg, &name, path)?;
            cfg.current_context = Some(name.clone());
            write(path, &cfg)?;
            println!("Switched to context {name:?}.");
        }
        ConfigCommand::CurrentContext => match cfg.context(None, path)? {
            Some((name, _)) => println!("{name}"),
            None => anyhow::bail!("no current context in {}", path.display()),
        },
        ConfigCommand::View { raw } => {
            if !raw {
                for c in cfg.contexts.values_mut() {
                    for field in [&mut c.ca, &mut c.cert, &mut c.key] {
                        if field.is_some() {
                            *field = Some(OMITTED.into());
                        }
                    }
                }
            }
            print!("{}", serde_saphyr::to_string(&cfg)?);
        }
        ConfigCommand::DeleteContext { name } => {
            known(&cfg, &name, path)?;
            cfg.contexts.remove(&name);
            if cfg.current_context.as_deref() == Some(name.as_str()) {
                cfg.current_context = None;
            }
            write(path, &cfg)?;
            println!("Deleted context {name:?} from {}.", path.display());
        }
    }
    Ok(())
}

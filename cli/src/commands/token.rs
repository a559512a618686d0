//! `bosun token create|list|delete`: join tokens. A token is a Secret in `bosun-system`
//! holding only the hash of its secret; the full token is printed once, at creation.
use std::time::{Duration, SystemTime};

use bosun_shared::pki::token::TokenRecord;
use bosun_shared::pki::{JoinToken, Role};
use bosun_shared::secret::SYSTEM_NAMESPACE;
use bosun_shared::{Kind, Object};

use crate::output::table::align;
use crate::Context;

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Make a join token and print it (the only time its secret is shown).
    Create {
        /// Who may join with it: node or master.
        #[arg(long, default_value = "node", value_parser = parse_role)]
        role: Role,
        /// How long it is valid (`24h`, `30m`, `7d`); `0` never expires.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// A note shown by `token list`.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List join tokens (never their secrets).
    List,
    /// Revoke join tokens by id: nobody joins with them any more.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    match Role::parse(s) {
        Some(r @ (Role::Node | Role::Master)) => Ok(r),
        _ => Err(format!("role {s:?}: expected node or master")),
    }
}

pub async fn run(ctx: &Context, cmd: TokenCommand) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match cmd {
        TokenCommand::Create {
            role,
            ttl,
            description,
        } => {
            let credentials = crate::config::load(&ctx.config_path)?
                .credentials(ctx.context.as_deref(), &ctx.config_path)?;
            let token = JoinToken::generate(&credentials.ca_hash()?);
            let expiration = (!ttl.is_zero())
                .then(|| bosun_shared::time::to_rfc3339(SystemTime::now() + ttl).to_string());
            let record = TokenRecord::of(&token, role, expiration, &description);
            client.create(&Object::Secret(record.to_secret())).await?;
            println!("{token}");
        }
        TokenCommand::List => {
            let (secrets, _) = client
                .list(Kind::Secret, Some(SYSTEM_NAMESPACE), None)
                .await?;
            let mut rows = vec![["ID", "ROLE", "EXPIRES", "DESCRIPTION"]
                .map(String::from)
                .to_vec()];
            for r in secrets.iter().filter_map(|o| match o {
                Object::Secret(s) => TokenRecord::from_secret(s),
                _ => None,
            }) {
                rows.push(vec![
                    r.id,
                    r.role.to_string(),
                    r.expiration.unwrap_or_else(|| "never".into()),
                    r.description,
                ]);
            }
            crate::commands::emit(&align(&rows))?;
        }
        TokenCommand::Delete { ids } => {
            for id in ids {
                let name = format!("{}{id}", bosun_shared::pki::token::TOKEN_SECRET_PREFIX);
                client
                    .delete(Kind::Secret, SYSTEM_NAMESPACE, &name)
                    .await
                    .map_err(|e| anyhow::anyhow!("join token {id}: {e}"))?;
                println!("join token {id} deleted");
            }
        }
    }
    Ok(())
}

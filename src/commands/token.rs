//! `cj-assessment token dev`: mints a local token (HS256, signed with `CJ_JWT_SECRET`) for
//! development against the HTTP API: `admin` by default, or the roles given with `--role`.

use crate::http::auth::{mint_token, AuthSettings, Role};
use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a token for local development.
    Dev {
        /// Hours the token stays valid.
        #[arg(long, default_value_t = 8)]
        valid_hours: u64,
        /// A role the token carries (`reader`, `content-writer`, `submitter`, `admin`); repeatable.
        #[arg(long = "role", default_value = "admin", value_parser = parse_role)]
        roles: Vec<Role>,
        #[command(flatten)]
        auth: AuthSettings,
    },
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Dev {
            valid_hours,
            roles,
            auth,
        } => {
            let secret = auth
                .jwt_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .context(
                    "set CJ_JWT_SECRET (or --jwt-secret) to the secret the service verifies with",
                )?;
            let token = mint_token(
                secret,
                &auth.jwt_issuer,
                &auth.jwt_audience,
                "local-developer",
                &roles,
                std::time::Duration::from_secs(valid_hours * 3600),
            )?;
            println!("{token}");
            Ok(())
        }
    }
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name)
        .ok_or_else(|| format!("unknown role {name:?}: reader, content-writer, submitter or admin"))
}

//! `cj-assessment token dev`: mints a local admin token (HS256, signed with `CJ_JWT_SECRET`)
//! for development against the admin API.

use crate::http::auth::{mint_dev_token, AuthSettings};
use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print an admin token for local development.
    Dev {
        /// Hours the token stays valid.
        #[arg(long, default_value_t = 8)]
        valid_hours: u64,
        #[command(flatten)]
        auth: AuthSettings,
    },
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Dev { valid_hours, auth } => {
            let secret = auth
                .jwt_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .context(
                    "set CJ_JWT_SECRET (or --jwt-secret) to the secret the service verifies with",
                )?;
            let token = mint_dev_token(
                secret,
                &auth.jwt_issuer,
                &auth.jwt_audience,
                std::time::Duration::from_secs(valid_hours * 3600),
            )?;
            println!("{token}");
            Ok(())
        }
    }
}

//! `cj-assessment anchors add|list`: the anchor essays of an assignment. `add` validates the
//! grade against the assignment's scale and the text's length, stores the text, and registers
//! the anchor. The text goes to the Content Service when `--content-service-url` (or
//! `CJ_CONTENT_SERVICE_URL`) is set, otherwise straight into the built-in content store in
//! the same database, so no running service is needed.

use crate::commands::{block_on, DatabaseArgs};
use crate::content::client::{ContentClient, ContentCredentials};
use crate::content::hash::sha256_hex;
use crate::content::store::{put_text, StoredText};
use crate::http::auth::AuthSettings;
use crate::registry::{self, NewAnchor};
use crate::store::database::connect_and_migrate;
use anyhow::Context;
use clap::{Args, Subcommand};
use sqlx::PgPool;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct AnchorsArgs {
    #[command(subcommand)]
    pub command: AnchorsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AnchorsCommand {
    /// Register an anchor essay of known grade for an assignment.
    Add(Box<AddArgs>),
    /// List an assignment's anchors.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long)]
    pub assignment: String,
    /// A grade on the assignment's scale (see `instructions set`; default swedish_8_anchor).
    #[arg(long)]
    pub grade: String,
    /// A name for the anchor, unique within the assignment.
    #[arg(long)]
    pub label: String,
    /// The essay text (UTF-8, at least 100 characters).
    #[arg(long)]
    pub file: PathBuf,
    /// Store the text in this Content Service instead of the built-in store.
    #[arg(long, env = "CJ_CONTENT_SERVICE_URL")]
    pub content_service_url: Option<String>,
    /// Bearer token for that Content Service; unset, one is minted from CJ_JWT_SECRET.
    #[arg(long, env = "CJ_CONTENT_SERVICE_TOKEN", hide_env_values = true)]
    pub content_service_token: Option<String>,
    #[command(flatten)]
    pub auth: AuthSettings,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub assignment: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub fn run(args: AnchorsArgs) -> anyhow::Result<()> {
    match args.command {
        AnchorsCommand::Add(add) => block_on(run_add(*add))?,
        AnchorsCommand::List(list) => block_on(run_list(list))?,
    }
}

async fn run_add(args: AddArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let pool = connect_and_migrate(&args.database.database_url).await?;
    let anchor = NewAnchor {
        assignment_id: &args.assignment,
        label: &args.label,
        grade: &args.grade,
        text: &text,
    };
    registry::validate_anchor(&pool, &anchor).await?;
    let credentials =
        ContentCredentials::resolve(args.content_service_token.as_deref(), &args.auth);
    let stored = store_text(
        &pool,
        args.content_service_url.as_deref(),
        credentials,
        &text,
    )
    .await?;
    let added = registry::add_anchor(&pool, &anchor, &stored).await?;
    println!(
        "anchor {} registered: assignment {}, label {}, grade {}, essay id {}, text {}",
        added.id,
        added.assignment_id,
        added.label,
        added.grade,
        added.essay_id()?,
        added.text_storage_id
    );
    Ok(())
}

async fn store_text(
    pool: &PgPool,
    content_service_url: Option<&str>,
    credentials: ContentCredentials,
    text: &str,
) -> anyhow::Result<StoredText> {
    match content_service_url {
        Some(url) => {
            let storage_id = ContentClient::new(url, credentials)?
                .store(text)
                .await
                .with_context(|| format!("storing the anchor text at {url}"))?;
            Ok(StoredText {
                storage_id,
                sha256: sha256_hex(text),
            })
        }
        None => Ok(put_text(pool, text).await?),
    }
}

async fn run_list(args: ListArgs) -> anyhow::Result<()> {
    let pool = connect_and_migrate(&args.database.database_url).await?;
    let anchors = registry::list_anchors(&pool, &args.assignment).await?;
    if anchors.is_empty() {
        println!("assignment {} has no anchors", args.assignment);
        return Ok(());
    }
    println!(
        "{:>6}  {:<20} {:<6} {:<28} text",
        "id", "label", "grade", "essay id"
    );
    for anchor in anchors {
        println!(
            "{:>6}  {:<20} {:<6} {:<28} {}",
            anchor.id,
            anchor.label,
            anchor.grade,
            anchor.essay_id()?,
            anchor.text_storage_id
        );
    }
    Ok(())
}

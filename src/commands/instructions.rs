//! `cj-assessment instructions set|show|delete`: an assignment's grade scale and judging
//! instructions (instructions text, student prompt, judge rubric), read from files.

use crate::commands::{block_on, DatabaseArgs};
use crate::registry::{self, InstructionsUpdate};
use crate::store::database::connect_and_migrate;
use anyhow::Context;
use cj_aggregates::stats::grade_scale::GradeScale;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct InstructionsArgs {
    #[command(subcommand)]
    pub command: InstructionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum InstructionsCommand {
    /// Create or replace an assignment's instructions.
    Set(SetArgs),
    /// Print an assignment's instructions.
    Show(AssignmentArgs),
    /// Delete an assignment's instructions (its anchors stay).
    Delete(AssignmentArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    #[arg(long)]
    pub assignment: String,
    /// swedish_8_anchor, eng5_np_legacy_9_step or eng5_np_national_9_step.
    #[arg(long)]
    pub scale: GradeScale,
    #[arg(long)]
    pub instructions_file: Option<PathBuf>,
    #[arg(long)]
    pub prompt_file: Option<PathBuf>,
    #[arg(long)]
    pub rubric_file: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct AssignmentArgs {
    #[arg(long)]
    pub assignment: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub fn run(args: InstructionsArgs) -> anyhow::Result<()> {
    block_on(async move {
        match args.command {
            InstructionsCommand::Set(set) => run_set(set).await,
            InstructionsCommand::Show(show) => run_show(show).await,
            InstructionsCommand::Delete(delete) => run_delete(delete).await,
        }
    })?
}

async fn run_set(args: SetArgs) -> anyhow::Result<()> {
    let update = InstructionsUpdate {
        assignment_id: args.assignment,
        grade_scale: args.scale,
        instructions_text: read_optional(args.instructions_file.as_deref())?,
        student_prompt: read_optional(args.prompt_file.as_deref())?,
        judge_rubric: read_optional(args.rubric_file.as_deref())?,
    };
    let pool = connect_and_migrate(&args.database.database_url).await?;
    let saved = registry::upsert_instructions(&pool, &update).await?;
    println!(
        "instructions of assignment {} saved (scale {})",
        saved.assignment_id, saved.grade_scale
    );
    Ok(())
}

async fn run_show(args: AssignmentArgs) -> anyhow::Result<()> {
    let pool = connect_and_migrate(&args.database.database_url).await?;
    let instructions = registry::get_instructions(&pool, &args.assignment)
        .await?
        .with_context(|| format!("assignment {} has no instructions", args.assignment))?;
    let or_none = |text: &Option<String>| text.clone().unwrap_or_else(|| "(none)".into());
    println!("assignment     {}", instructions.assignment_id);
    println!("grade scale    {}", instructions.grade_scale);
    println!(
        "instructions   {}",
        or_none(&instructions.instructions_text)
    );
    println!("student prompt {}", or_none(&instructions.student_prompt));
    println!("judge rubric   {}", or_none(&instructions.judge_rubric));
    Ok(())
}

async fn run_delete(args: AssignmentArgs) -> anyhow::Result<()> {
    let pool = connect_and_migrate(&args.database.database_url).await?;
    if registry::delete_instructions(&pool, &args.assignment).await? {
        println!("instructions of assignment {} deleted", args.assignment);
    } else {
        println!("assignment {} had no instructions", args.assignment);
    }
    Ok(())
}

fn read_optional(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    path.map(|path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    })
    .transpose()
}

//! The assessment registry validates anchors against the assignment's grade scale (the
//! default scale when the assignment has no instructions) and their text length; the CLI
//! registers and lists anchors.

use crate::support::TestDatabase;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::content::store::{get_text, put_text};
use cj_assessment::registry::{self, InstructionsUpdate, NewAnchor, RegistryError};
use std::process::Command;

fn long_text(label: &str) -> String {
    format!(
        "{label}: {}",
        "A paragraph that makes a reasoned point. ".repeat(4)
    )
}

fn anchor<'a>(assignment: &'a str, label: &'a str, grade: &'a str, text: &'a str) -> NewAnchor<'a> {
    NewAnchor {
        assignment_id: assignment,
        label,
        grade,
        text,
    }
}

async fn assert_grade_refused(pool: &sqlx::PgPool, grade: &str, text: &str) {
    let refused = registry::validate_anchor(pool, &anchor("a1", "l", grade, text)).await;
    assert!(
        matches!(refused, Err(RegistryError::GradeNotOnScale { .. })),
        "{grade}: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchor_grades_must_be_on_the_assignments_scale() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    let text = long_text("anchor");

    // No instructions: the default Swedish scale.
    registry::validate_anchor(pool, &anchor("a1", "l", "C+", &text))
        .await
        .expect("C+ is on swedish_8_anchor");
    assert_grade_refused(pool, "7", &text).await;

    registry::upsert_instructions(
        pool,
        &InstructionsUpdate {
            assignment_id: "a1".into(),
            grade_scale: GradeScale::Eng5NpNational9Step,
            instructions_text: None,
            student_prompt: None,
            judge_rubric: None,
        },
    )
    .await
    .expect("instructions saved");
    assert_grade_refused(pool, "C+", &text).await;

    let stored = put_text(pool, &text).await.expect("text stored");
    let added = registry::add_anchor(pool, &anchor("a1", "seven", "7", &text), &stored)
        .await
        .expect("7 is on the national scale");
    assert!(added.essay_id().unwrap().as_str().starts_with("ANCHOR_"));
    let again = registry::add_anchor(pool, &anchor("a1", "seven", "8", &text), &stored).await;
    assert!(
        matches!(again, Err(RegistryError::DuplicateLabel { .. })),
        "{again:?}"
    );

    let short = registry::validate_anchor(pool, &anchor("a1", "s", "7", "too short")).await;
    assert!(
        matches!(short, Err(RegistryError::AnchorTextTooShort { .. })),
        "{short:?}"
    );

    let listed = registry::list_anchors(pool, "a1").await.expect("listed");
    assert_eq!(listed, vec![added]);
    assert!(registry::list_anchors(pool, "other")
        .await
        .unwrap()
        .is_empty());
    assert!(registry::delete_instructions(pool, "a1").await.unwrap());
    assert!(registry::get_instructions(pool, "a1")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_registers_anchors_in_the_built_in_store_and_lists_them() {
    let db = TestDatabase::create().await;
    let dir = std::env::temp_dir().join(format!("cj-anchor-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("anchor.txt");
    std::fs::write(&file, long_text("cli anchor")).unwrap();
    let cli = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cj-assessment"))
            .args(args)
            .args(["--database-url", &db.url])
            .env_remove("CJ_CONTENT_SERVICE_URL")
            .output()
            .expect("the binary runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (ok, _, stderr) = cli(&[
        "instructions",
        "set",
        "--assignment",
        "a9",
        "--scale",
        "eng5_np_legacy_9_step",
    ]);
    assert!(ok, "{stderr}");
    let path = file.to_str().unwrap();
    let add = |grade: &str, label: &str| {
        cli(&[
            "anchors",
            "add",
            "--assignment",
            "a9",
            "--grade",
            grade,
            "--label",
            label,
            "--file",
            path,
        ])
    };
    let (ok, _, stderr) = add("A", "top");
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = add("C", "mid");
    assert!(!ok, "C is not on the legacy scale");
    assert!(stderr.contains("not on scale"), "{stderr}");
    let (ok, stdout, stderr) = cli(&["anchors", "list", "--assignment", "a9"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("top") && !stdout.contains("mid"),
        "{stdout}"
    );

    let anchors = registry::list_anchors(&db.pool, "a9").await.unwrap();
    assert_eq!(anchors.len(), 1);
    let text = get_text(&db.pool, &anchors[0].text_storage_id)
        .await
        .unwrap();
    assert_eq!(text.as_deref(), Some(long_text("cli anchor").as_str()));
    std::fs::remove_dir_all(dir).ok();
}

//! Registers an assignment for a run: its grade scale and instructions, and anchor essays
//! whose texts (generated, see [`essay_text`]) rise in quality with their grade.

use crate::content::store::put_text;
use crate::lab::simulation::scenario::VOCABULARY;
use crate::registry::{add_anchor, upsert_instructions, InstructionsUpdate, NewAnchor};
use anyhow::Context;
use cj_aggregates::stats::grade_scale::GradeScale;
use sqlx::PgPool;

/// A generated essay whose length and vocabulary grow with `quality` — the surface features
/// `llm-sim`'s judge reads, so its [`text_quality`](crate::lab::llm_sim::judge::text_quality)
/// rises strictly with `quality` (sentences and words per sentence both grow). `salt` makes
/// texts distinct.
pub fn essay_text(quality: usize, salt: &str) -> String {
    let mut text = format!("Essay {salt}. ");
    for sentence in 0..(4 + quality) {
        let words: Vec<&str> = (0..(6 + quality / 3))
            .map(|w| VOCABULARY[(sentence * 7 + w * (1 + quality % 4)) % (8 + quality.min(16))])
            .collect();
        text.push_str(&words.join(" "));
        text.push_str(". ");
    }
    text
}

/// Anchor grades of a run on `scale`, with the quality their generated texts get: every
/// second grade of the scale, lowest to highest.
pub fn anchor_plan(scale: GradeScale) -> Vec<(&'static str, usize)> {
    let grades = scale.grades();
    grades
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0 || *i == grades.len() - 1)
        .map(|(i, grade)| (*grade, 1 + i * 16 / grades.len().max(1)))
        .collect()
}

/// Registers `assignment_id` on `scale` with the anchors of [`anchor_plan`]; returns them.
pub async fn register_assignment(
    pool: &PgPool,
    assignment_id: &str,
    scale: GradeScale,
) -> anyhow::Result<Vec<(&'static str, usize)>> {
    upsert_instructions(
        pool,
        &InstructionsUpdate {
            assignment_id: assignment_id.to_string(),
            grade_scale: scale,
            instructions_text: Some("Judge the argument, its structure and the language.".into()),
            student_prompt: None,
            judge_rubric: None,
        },
    )
    .await
    .context("registering the assignment")?;
    let plan = anchor_plan(scale);
    for (grade, quality) in &plan {
        let text = essay_text(*quality, &format!("anchor {grade} of {assignment_id}"));
        let stored = put_text(pool, &text)
            .await
            .context("storing an anchor text")?;
        add_anchor(
            pool,
            &NewAnchor {
                assignment_id,
                label: &format!("anchor-{grade}"),
                grade,
                text: &text,
            },
            &stored,
        )
        .await
        .with_context(|| format!("registering the {grade} anchor"))?;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::llm_sim::judge::text_quality;

    /// The runner's check that anchors line up with their grades relies on the judge telling
    /// neighbouring anchors apart: a quality step must be a step in what the judge reads.
    #[test]
    fn the_judge_reads_a_higher_quality_text_as_better_at_every_step() {
        for salt in ["anchor 5 of eng5-2026", "student 3 of run-1"] {
            let read: Vec<f64> = (0..=16)
                .map(|q| text_quality(&essay_text(q, salt)))
                .collect();
            for (q, step) in read.windows(2).enumerate() {
                assert!(
                    step[1] > step[0],
                    "{salt}: quality {q} → {}: {step:?}",
                    q + 1
                );
            }
        }
    }

    #[test]
    fn every_scale_s_anchors_are_at_least_half_a_logit_apart_for_the_default_judge() {
        let judge = crate::lab::llm_sim::judge::TextJudge::default();
        for scale in GradeScale::ALL {
            let plan = anchor_plan(scale);
            for pair in plan.windows(2) {
                let lower = text_quality(&essay_text(pair[0].1, "lower"));
                let higher = text_quality(&essay_text(pair[1].1, "higher"));
                let logits = judge.discrimination * (higher - lower);
                assert!(
                    logits >= 0.5,
                    "{scale}: {pair:?} only {logits:.2} logits apart"
                );
            }
        }
    }
}

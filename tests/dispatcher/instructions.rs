//! The assignment's instructions and rubric, as the registry holds them when a comparison is
//! claimed, are in every prompt the provider receives: the dispatcher reads them once per
//! claim, so a change made between two batches reaches the second batch's every request.

use super::{correlation_id_of, first_wave, scenario, scripted_provider, Running};
use axum::http::StatusCode;
use cj_aggregates::batch::settings::LlmSettings;
use cj_assessment::registry::{upsert_instructions, InstructionsUpdate, RegistryPromptContext};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::support::eventually;
use crate::support::http::{recording, RecordedBodies};
use crate::support::kafka::settings_for_test;

const ASSIGNMENT: &str = "argument-essay";

/// Saves `instructions` and `rubric` as the assignment's.
async fn set_instructions(running: &Running, instructions: &str, rubric: &str) {
    upsert_instructions(
        &running.db.pool,
        &InstructionsUpdate {
            assignment_id: ASSIGNMENT.into(),
            grade_scale: scenario().spec.scale,
            instructions_text: Some(instructions.into()),
            student_prompt: None,
            judge_rubric: Some(rubric.into()),
        },
    )
    .await
    .expect("instructions saved");
}

/// Registers a batch of the assignment and returns the user prompts of its first wave's
/// requests, once every one of them reached the provider (the wave has at least two).
async fn prompts_of_a_new_batch(running: &Running, requests: &RecordedBodies) -> Vec<String> {
    let batch = running
        .register_for(&scenario(), LlmSettings::default(), Some(ASSIGNMENT))
        .await;
    let ids: BTreeSet<_> = first_wave(running, batch).await.into_keys().collect();
    let of_wave = || -> Vec<Value> {
        requests
            .all()
            .into_iter()
            .filter(|body| ids.contains(&correlation_id_of(body)))
            .collect()
    };
    eventually(
        "every comparison of the wave reached the provider",
        || async { of_wave().len() >= ids.len() },
    )
    .await;
    of_wave()
        .iter()
        .map(|body| {
            let prompt = body["user_prompt"].as_str();
            prompt.expect("a request carries its prompt").to_string()
        })
        .collect()
}

/// Every prompt holds each of `present` and none of `absent`.
fn assert_every_prompt(prompts: &[String], present: &[&str], absent: &[&str]) {
    for prompt in prompts {
        for text in present {
            assert!(prompt.contains(text), "{text:?} missing from {prompt}");
        }
        for text in absent {
            assert!(!prompt.contains(text), "{text:?} still in {prompt}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registrys_instructions_reach_every_prompt_and_a_change_every_later_claim() {
    // Given a dispatcher reading the registry, and the assignment's instructions in it
    let (provider, requests) = recording(scripted_provider(|_, _| StatusCode::ACCEPTED));
    let running = Running::start_with(
        settings_for_test(),
        &scenario(),
        provider,
        |dispatcher, pool| {
            let registry = RegistryPromptContext { pool: pool.clone() };
            dispatcher.with_prompt_context(Arc::new(registry))
        },
    )
    .await;
    set_instructions(&running, "Reward the clearest argument.", "Rubric one.").await;

    // When a batch of the assignment is dispatched
    let first = prompts_of_a_new_batch(&running, &requests).await;
    // Then every request carries the instructions and the rubric
    assert_every_prompt(
        &first,
        &["Reward the clearest argument.", "Rubric one."],
        &[],
    );

    // When the instructions change and a second batch of the assignment is dispatched
    set_instructions(&running, "Reward the strongest evidence.", "Rubric two.").await;
    let second = prompts_of_a_new_batch(&running, &requests).await;
    // Then every one of its requests carries the new ones, none the old
    assert_every_prompt(
        &second,
        &["Reward the strongest evidence.", "Rubric two."],
        &["Reward the clearest argument.", "Rubric one."],
    );
    running.stop().await;
}

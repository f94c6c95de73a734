//! The assignment's instructions and rubric, as the registry holds them when a comparison is
//! claimed, are in every prompt the provider receives: the dispatcher reads them once per
//! claim, so a change made between two batches reaches the second batch's every request.

use super::{correlation_id_of, first_wave, scenario, scripted_provider, Running, Wave};
use axum::http::StatusCode;
use cj_aggregates::batch::settings::LlmSettings;
use cj_assessment::dispatcher::Dispatcher;
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

/// The user prompts the provider received for `wave`'s comparisons, once every one arrived.
async fn prompts_of(requests: &RecordedBodies, wave: &Wave) -> Vec<String> {
    let ids: BTreeSet<_> = wave.keys().copied().collect();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registrys_instructions_reach_every_prompt_and_a_change_every_later_claim() {
    // Given the assignment's instructions in the registry, and a dispatcher reading them
    let (provider, requests) = recording(scripted_provider(|_, _| StatusCode::ACCEPTED));
    let mut running = Running::projecting().await;
    set_instructions(&running, "Reward the clearest argument.", "Rubric one.").await;
    let settings = running
        .settings(settings_for_test(), &scenario(), provider)
        .await;
    let dispatcher = Dispatcher::from_settings(&settings)
        .expect("a dispatcher")
        .with_prompt_context(Arc::new(RegistryPromptContext {
            pool: running.db.pool.clone(),
        }));
    running.dispatcher = Some(running.spawn(dispatcher, running.shutdown.clone()));

    // When a batch of the assignment is dispatched
    let first = running
        .register_for(&scenario(), LlmSettings::default(), Some(ASSIGNMENT))
        .await;
    let first_prompts = prompts_of(&requests, &first_wave(&running, first).await).await;

    // Then every request carries the instructions and the rubric
    assert!(
        !first_prompts.is_empty(),
        "the first batch sent comparisons"
    );
    for prompt in &first_prompts {
        assert!(prompt.contains("Reward the clearest argument."), "{prompt}");
        assert!(prompt.contains("Rubric one."), "{prompt}");
    }

    // When the instructions change and a second batch of the assignment is dispatched
    set_instructions(&running, "Reward the strongest evidence.", "Rubric two.").await;
    let second = running
        .register_for(&scenario(), LlmSettings::default(), Some(ASSIGNMENT))
        .await;
    let second_prompts = prompts_of(&requests, &first_wave(&running, second).await).await;

    // Then every one of its requests carries the new ones, none the old
    assert!(
        !second_prompts.is_empty(),
        "the second batch sent comparisons"
    );
    for prompt in &second_prompts {
        assert!(
            prompt.contains("Reward the strongest evidence."),
            "{prompt}"
        );
        assert!(prompt.contains("Rubric two."), "{prompt}");
        assert!(
            !prompt.contains("Reward the clearest argument."),
            "{prompt}"
        );
        assert!(!prompt.contains("Rubric one."), "{prompt}");
    }
    running.stop().await;
}

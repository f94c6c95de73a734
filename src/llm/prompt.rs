//! The comparison prompt: assignment instructions, the judging rubric, and the two essays
//! as "Essay A" and "Essay B", asking for JSON with `winner`, `justification` and
//! `confidence`. The essay markers are fixed so a simulated provider can read the essays
//! back out (`essays_in`). [`prompt_hash`] names the template — everything but the essays —
//! so the verdicts it produced can be told apart by judge (ADR 0010).

use crate::content::hash::sha256_hex;

/// Opening and closing markers of each essay in the prompt.
const ESSAY_A_START: &str = "<<<ESSAY A>>>";
const ESSAY_A_END: &str = "<<<END ESSAY A>>>";
const ESSAY_B_START: &str = "<<<ESSAY B>>>";
const ESSAY_B_END: &str = "<<<END ESSAY B>>>";

/// Used when an assignment has no rubric of its own.
pub const DEFAULT_RUBRIC: &str = "Judge the overall quality of the writing as a response to \
the assignment: content and argument, structure, and command of language.";

/// What stands in for each essay when the template is hashed.
const ESSAY_A_PLACEHOLDER: &str = "{essay_a}";
const ESSAY_B_PLACEHOLDER: &str = "{essay_b}";

/// Separates the user prompt from a system prompt override in the hashed text.
const SYSTEM_PROMPT_MARKER: &str = "<<<SYSTEM PROMPT>>>";

/// Hex digits of SHA-256 kept in a prompt hash: 64 bits, so two of the few thousand
/// templates a deployment ever uses collide with probability below 10⁻¹¹, while the judge's
/// string form stays readable.
pub const PROMPT_HASH_HEX_DIGITS: usize = 16;

/// What goes into one comparison prompt.
#[derive(Debug, Clone, Copy)]
pub struct PromptParts<'a> {
    pub instructions: Option<&'a str>,
    pub student_prompt: Option<&'a str>,
    pub rubric: Option<&'a str>,
    pub essay_a: &'a str,
    pub essay_b: &'a str,
}

/// The user prompt sent to the provider.
pub fn render(parts: &PromptParts<'_>) -> String {
    let mut prompt = String::from(
        "You are an experienced examiner comparing two student essays written for the same assignment.\n\n",
    );
    if let Some(instructions) = parts.instructions {
        prompt.push_str(&format!("## Assessment instructions\n{instructions}\n\n"));
    }
    if let Some(student_prompt) = parts.student_prompt {
        prompt.push_str(&format!(
            "## The assignment given to students\n{student_prompt}\n\n"
        ));
    }
    prompt.push_str(&format!(
        "## How to judge\n{}\n\n",
        parts.rubric.unwrap_or(DEFAULT_RUBRIC)
    ));
    prompt.push_str(&format!(
        "{ESSAY_A_START}\n{}\n{ESSAY_A_END}\n\n{ESSAY_B_START}\n{}\n{ESSAY_B_END}\n\n",
        parts.essay_a, parts.essay_b
    ));
    prompt.push_str(
        "Which essay is better? Answer with JSON only: {\"winner\": \"Essay A\" or \"Essay B\", \
\"justification\": a brief reason, \"confidence\": a number from 1 to 5}.",
    );
    prompt
}

/// The hash of the prompt template of `parts`: the first [`PROMPT_HASH_HEX_DIGITS`] hex
/// digits of SHA-256 over the UTF-8 bytes of the prompt [`render`] makes with the essays
/// replaced by the placeholders `{essay_a}` and `{essay_b}`, followed — when the batch
/// overrides the provider's system prompt — by a newline, `<<<SYSTEM PROMPT>>>`, a newline
/// and that system prompt. It covers the template wording, the instructions, the student
/// prompt, the rubric in effect and the system prompt: what is the same for every
/// comparison of an assignment. The essays of `parts` do not change it.
pub fn prompt_hash(parts: &PromptParts<'_>, system_prompt: Option<&str>) -> String {
    let mut template = render(&PromptParts {
        essay_a: ESSAY_A_PLACEHOLDER,
        essay_b: ESSAY_B_PLACEHOLDER,
        ..*parts
    });
    if let Some(system_prompt) = system_prompt {
        template.push_str(&format!("\n{SYSTEM_PROMPT_MARKER}\n{system_prompt}"));
    }
    let mut hash = sha256_hex(&template);
    hash.truncate(PROMPT_HASH_HEX_DIGITS);
    hash
}

/// The two essay texts of a prompt made by [`render`].
pub fn essays_in(prompt: &str) -> Option<(&str, &str)> {
    let between = |start: &str, end: &str| {
        let from = prompt.find(start)? + start.len();
        let to = from + prompt[from..].find(end)?;
        Some(prompt[from..to].trim())
    };
    Some((
        between(ESSAY_A_START, ESSAY_A_END)?,
        between(ESSAY_B_START, ESSAY_B_END)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_essays_can_be_read_back_out_of_the_prompt() {
        let prompt = render(&PromptParts {
            instructions: Some("Grade fairly."),
            student_prompt: None,
            rubric: None,
            essay_a: "First essay.",
            essay_b: "Second essay.",
        });
        assert_eq!(essays_in(&prompt), Some(("First essay.", "Second essay.")));
        assert!(prompt.contains("Essay A") && prompt.contains("confidence"));
        assert!(prompt.contains(DEFAULT_RUBRIC));
        assert_eq!(essays_in("no markers"), None);
    }

    fn parts<'a>(rubric: Option<&'a str>, essay_a: &'a str) -> PromptParts<'a> {
        PromptParts {
            instructions: Some("Grade fairly."),
            student_prompt: Some("Describe your town."),
            rubric,
            essay_a,
            essay_b: "Second essay.",
        }
    }

    #[test]
    fn the_prompt_hash_ignores_the_essays_and_follows_everything_else() {
        let hash = prompt_hash(&parts(None, "First essay."), None);
        assert_eq!(hash.len(), PROMPT_HASH_HEX_DIGITS);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(prompt_hash(&parts(None, "Another essay."), None), hash);
        assert_ne!(
            prompt_hash(&parts(Some("Spelling only."), "First essay."), None),
            hash
        );
        assert_ne!(
            prompt_hash(&parts(None, "First essay."), Some("Be strict.")),
            hash
        );
        let without_instructions = PromptParts {
            instructions: None,
            ..parts(None, "First essay.")
        };
        assert_ne!(prompt_hash(&without_instructions, None), hash);
    }

    #[test]
    fn the_prompt_hash_is_sha256_of_the_template_with_placeholders() {
        let parts = parts(None, "First essay.");
        let template = render(&PromptParts {
            essay_a: "{essay_a}",
            essay_b: "{essay_b}",
            ..parts
        });
        assert!(template.contains("<<<ESSAY A>>>\n{essay_a}\n<<<END ESSAY A>>>"));
        assert_eq!(prompt_hash(&parts, None), sha256_hex(&template)[..16]);
    }
}

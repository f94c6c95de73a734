//! The comparison prompt: assignment instructions, the judging rubric, and the two essays
//! as "Essay A" and "Essay B", asking for JSON with `winner`, `justification` and
//! `confidence`. The essay markers are fixed so a simulated provider can read the essays
//! back out (`essays_in`).

/// Opening and closing markers of each essay in the prompt.
const ESSAY_A_START: &str = "<<<ESSAY A>>>";
const ESSAY_A_END: &str = "<<<END ESSAY A>>>";
const ESSAY_B_START: &str = "<<<ESSAY B>>>";
const ESSAY_B_END: &str = "<<<END ESSAY B>>>";

/// Used when an assignment has no rubric of its own.
pub const DEFAULT_RUBRIC: &str = "Judge the overall quality of the writing as a response to \
the assignment: content and argument, structure, and command of language.";

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
}

//! Structured mutations of the contract samples, driven by fuzzer bytes through
//! `arbitrary`: a sample as a `serde_json::Value`, then up to [`MAX_EDITS`] edits (replace a
//! field at any depth, remove it, insert a key or element, copy one field's value over
//! another), each value drawn from JSON built to a bounded depth with the contract's own
//! keys, enum values, ids, timestamps and boundary numbers. The result is always valid
//! JSON, so the decoders' schema and contract checks are what get exercised, not the
//! JSON syntax layer.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Map, Value};

/// Most edits applied to one sample.
pub const MAX_EDITS: usize = 8;
/// Deepest nesting of a generated value (the decoders' own limit is serde_json's 128).
const MAX_DEPTH: usize = 4;
/// Most elements of a generated array or object.
const MAX_ITEMS: usize = 6;

/// Which sample an input starts from.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Sample {
    Request,
    CallbackSuccess,
    CallbackError,
}

impl Sample {
    pub fn value(self) -> Value {
        match self {
            Sample::Request => crate::request_sample(),
            Sample::CallbackSuccess => crate::callback_sample(crate::CALLBACK_SUCCESS_SAMPLE),
            Sample::CallbackError => crate::callback_sample(crate::CALLBACK_ERROR_SAMPLE),
        }
    }
}

/// One change to the sample. `at` and `from` pick a node of the current document (every
/// node, the root included, in document order; taken modulo their number).
#[derive(Debug, Arbitrary)]
pub enum Edit {
    Replace { at: u16, with: Json },
    Remove { at: u16 },
    Insert { at: u16, key: Text, value: Json },
    Copy { from: u16, at: u16 },
}

/// A fuzzer input: a sample and the edits to make to it.
#[derive(Debug)]
pub struct Mutated {
    pub sample: Sample,
    pub edits: Vec<Edit>,
}

impl<'a> Arbitrary<'a> for Mutated {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let sample = u.arbitrary()?;
        let count = u.int_in_range(0..=MAX_EDITS)?;
        let mut edits = Vec::with_capacity(count);
        for _ in 0..count {
            if u.is_empty() {
                break;
            }
            edits.push(u.arbitrary()?);
        }
        Ok(Mutated { sample, edits })
    }
}

impl Mutated {
    /// The sample with the edits made.
    pub fn document(&self) -> Value {
        let mut document = self.sample.value();
        for edit in &self.edits {
            apply(&mut document, edit);
        }
        document
    }
}

/// A generated JSON value.
#[derive(Debug, Clone)]
pub struct Json(pub Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        json(u, 0).map(Json)
    }
}

/// A generated string: mostly the contract's own words, sometimes anything.
#[derive(Debug, Clone)]
pub struct Text(pub String);

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        text(u).map(Text)
    }
}

/// Field names of the contracts, enum values, ids and timestamps (edge cases included).
const WORDS: &[&str] = &[
    // envelope
    "event_id",
    "event_type",
    "event_timestamp",
    "source_service",
    "schema_version",
    "correlation_id",
    "data_schema_uri",
    "data",
    "metadata",
    // request
    "event_name",
    "entity_id",
    "entity_type",
    "parent_id",
    "timestamp",
    "system_metadata",
    "processing_stage",
    "started_at",
    "completed_at",
    "event",
    "error_info",
    "essays_for_cj",
    "essay_id",
    "text_storage_id",
    "spellcheck_metrics",
    "language",
    "course_code",
    "student_prompt_ref",
    "references",
    "student_prompt_text",
    "storage_id",
    "path",
    "llm_config_overrides",
    "model_override",
    "temperature_override",
    "max_tokens_override",
    "provider_override",
    "system_prompt_override",
    "judge_rubric_override",
    "reasoning_effort",
    "output_verbosity",
    "assignment_id",
    "user_id",
    "org_id",
    "max_comparisons",
    "llm_batching_mode_hint",
    "batch_config_overrides",
    // callback
    "request_id",
    "winner",
    "justification",
    "confidence",
    "error_detail",
    "error_code",
    "message",
    "service",
    "operation",
    "details",
    "stack_trace",
    "trace_id",
    "span_id",
    "provider",
    "model",
    "response_time_ms",
    "token_usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_estimate",
    "requested_at",
    "request_metadata",
    "cj_batch_id",
    "essay_a_id",
    "essay_b_id",
    // enum values
    "Essay A",
    "Essay B",
    "essay_a",
    "ENG5",
    "ENG6",
    "ENG7",
    "SV1",
    "SV2",
    "SV3",
    "eng5",
    "pending",
    "initialized",
    "processing",
    "completed",
    "failed",
    "cancelled",
    "batch",
    // ids
    "11111111-2222-3333-4444-555555555555",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "{11111111-2222-3333-4444-555555555555}",
    "urn:uuid:11111111-2222-3333-4444-555555555555",
    "111111112222333344445555555555555",
    "11111111-2222-3333-4444-55555555555",
    "e1",
    "e2",
    // timestamps
    "2026-01-01T12:00:00Z",
    "2026-01-01T12:00:00+14:00",
    "2026-01-01T12:00:00.123456789123Z",
    "2026-01-01 12:00:00z",
    "2026-12-31T23:59:60Z",
    "2026-02-30T12:00:00Z",
    "0000-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "+262143-12-31T23:59:59Z",
    "-262144-01-01T00:00:00Z",
    "2026-01-01T12:00:00",
    "2026-01-01",
    // edge text
    "",
    " ",
    "\t\n",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{200b}",
    "\u{feff}",
    "é",
    "\u{1d11e}",
    "\\",
    "\"",
];

/// Numbers at the contract's boundaries and at the edges of the types.
const NUMBERS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    0.999_999_999_999_999_9,
    1.000_000_000_000_000_2,
    2.0,
    2.000_000_000_000_000_4,
    4.2,
    4.999_999_999_999_999,
    5.0,
    5.000_000_000_000_001,
    60.0,
    100.0,
    101.0,
    256.0,
    257.0,
    4_294_967_295.0,
    4_294_967_296.0,
    1e19,
    1.8446744073709552e19,
    1e308,
    -1e308,
    f64::MAX,
    f64::MIN_POSITIVE,
    5e-324,
];

const INTEGERS: &[i128] = &[
    0,
    1,
    -1,
    5,
    60,
    u32::MAX as i128,
    u32::MAX as i128 + 1,
    i64::MAX as i128,
    i64::MIN as i128,
    u64::MAX as i128,
];

fn json(u: &mut Unstructured, depth: usize) -> Result<Value> {
    let kinds = if depth >= MAX_DEPTH { 6 } else { 8 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => number(u)?,
        3 | 4 => Value::String(text(u)?),
        5 => Value::Object(Map::new()),
        6 => {
            let len = u.int_in_range(0..=MAX_ITEMS)?;
            let mut items = Vec::with_capacity(len);
            for _ in 0..len {
                items.push(json(u, depth + 1)?);
            }
            Value::Array(items)
        }
        _ => {
            let len = u.int_in_range(0..=MAX_ITEMS)?;
            let mut map = Map::new();
            for _ in 0..len {
                map.insert(text(u)?, json(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

fn number(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.choose_index(4)? {
        0 => Value::from(*u.choose(NUMBERS)?),
        1 => {
            let n = *u.choose(INTEGERS)?;
            if let Ok(n) = i64::try_from(n) {
                Value::from(n)
            } else {
                Value::from(n as u64)
            }
        }
        // Non-finite floats become null, as serde_json makes them.
        2 => Value::from(u.arbitrary::<f64>()?),
        _ => Value::from(u.arbitrary::<i64>()?),
    })
}

fn text(u: &mut Unstructured) -> Result<String> {
    Ok(match u.choose_index(4)? {
        0 | 1 => (*u.choose(WORDS)?).to_string(),
        // Around the length limits (100 characters, 256 bytes), in one- and multi-byte
        // characters.
        2 => {
            let unit = *u.choose(&["a", "é", "\u{1d11e}", " ", "e1"])?;
            let times = *u.choose(&[99, 100, 101, 128, 129, 255, 256, 257])?;
            unit.repeat(times)
        }
        _ => u.arbitrary()?,
    })
}

/// One step of a path from the root to a node.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every node's path, root first, in document order.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(prefix.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    prefix.push(Step::Key(key.clone()));
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    prefix.push(Step::Index(i));
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'v>(mut value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    for step in path {
        value = match (step, value) {
            (Step::Key(key), Value::Object(map)) => map.get_mut(key)?,
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

fn pick(document: &Value, at: u16) -> Vec<Step> {
    let mut all = paths(document);
    let index = usize::from(at) % all.len();
    all.swap_remove(index)
}

fn apply(document: &mut Value, edit: &Edit) {
    match edit {
        Edit::Replace { at, with } => {
            let path = pick(document, *at);
            if let Some(node) = node_mut(document, &path) {
                *node = with.0.clone();
            }
        }
        Edit::Remove { at } => {
            let mut path = pick(document, *at);
            let Some(last) = path.pop() else {
                *document = Value::Null;
                return;
            };
            match (node_mut(document, &path), last) {
                (Some(Value::Object(map)), Step::Key(key)) => {
                    map.remove(&key);
                }
                (Some(Value::Array(items)), Step::Index(i)) if i < items.len() => {
                    items.remove(i);
                }
                _ => {}
            }
        }
        Edit::Insert { at, key, value } => {
            let path = pick(document, *at);
            match node_mut(document, &path) {
                Some(Value::Object(map)) => {
                    map.insert(key.0.clone(), value.0.clone());
                }
                Some(Value::Array(items)) => {
                    let index = key.0.len() % (items.len() + 1);
                    items.insert(index, value.0.clone());
                }
                Some(node) => {
                    let mut map = Map::new();
                    map.insert(key.0.clone(), value.0.clone());
                    *node = Value::Object(map);
                }
                None => {}
            }
        }
        Edit::Copy { from, at } => {
            let source = pick(document, *from);
            let target = pick(document, *at);
            let copied = node_mut(document, &source).map(|node| node.clone());
            if let (Some(copied), Some(node)) = (copied, node_mut(document, &target)) {
                *node = copied;
            }
        }
    }
}

//! Generated batches with a known truth: students of hidden quality ~ Normal(0, σ), their
//! true grade the band of the scale's population prior that contains their quality, and
//! anchors of known grade placed at the middle of their grade's band.

use super::content_store::InMemoryContentStore;
use cj_aggregates::batch::commands::{AnchorRef, EssayRef};
use cj_aggregates::ids::EssayId;
use cj_aggregates::stats::grade_scale::GradeScale;
use rand::distributions::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, Normal};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScenarioSpec {
    pub students: usize,
    pub anchors: usize,
    pub scale: GradeScale,
    /// σ of the latent quality axis (1.5 in the scenario the older service was measured on).
    pub quality_spread: f64,
    pub seed: u64,
}

impl Default for ScenarioSpec {
    fn default() -> Self {
        ScenarioSpec {
            students: 30,
            anchors: 8,
            scale: GradeScale::Swedish8Anchor,
            quality_spread: 1.5,
            seed: 7,
        }
    }
}

/// One generated essay.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedEssay {
    pub essay_id: EssayId,
    pub quality: f64,
    /// Index into `scale.grades()`: the band that contains the quality (students) or the
    /// registered grade (anchors).
    pub true_grade: usize,
    pub is_anchor: bool,
    pub text_storage_id: String,
    pub content_sha256: String,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub spec: ScenarioSpec,
    pub students: Vec<SimulatedEssay>,
    pub anchors: Vec<SimulatedEssay>,
    /// Quality cut points between consecutive grades (K − 1 of them).
    pub cut_points: Vec<f64>,
    pub content: InMemoryContentStore,
}

impl Scenario {
    pub fn generate(spec: ScenarioSpec) -> Scenario {
        let scale = spec.scale;
        let standard = Normal::new(0.0, 1.0).expect("standard normal");
        let prior = scale.prior();
        let cumulative: Vec<f64> = prior
            .iter()
            .scan(0.0, |sum, p| {
                *sum += p;
                Some(*sum)
            })
            .collect();
        let cut_points: Vec<f64> = cumulative[..cumulative.len() - 1]
            .iter()
            .map(|&c| spec.quality_spread * standard.inverse_cdf(c))
            .collect();
        let band_middle = |grade: usize| {
            let below = if grade == 0 {
                0.0
            } else {
                cumulative[grade - 1]
            };
            spec.quality_spread * standard.inverse_cdf(below + prior[grade] / 2.0)
        };

        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let quality = Normal::new(0.0, spec.quality_spread).expect("σ > 0");
        let mut content = InMemoryContentStore::default();
        let mut essay = |id: String, quality: f64, true_grade: usize, is_anchor: bool| {
            let (text_storage_id, content_sha256) = content.put(synthetic_text(&id, quality));
            SimulatedEssay {
                essay_id: EssayId::parse(id).expect("generated ids are valid"),
                quality,
                true_grade,
                is_anchor,
                text_storage_id,
                content_sha256,
            }
        };
        let students = (0..spec.students)
            .map(|i| {
                let q = quality.sample(&mut rng);
                let grade = cut_points.iter().filter(|&&c| q >= c).count();
                essay(format!("student-{i:03}"), q, grade, false)
            })
            .collect();
        let anchors = anchor_grades(spec.anchors, scale.grades().len())
            .into_iter()
            .enumerate()
            .map(|(i, grade)| {
                let id = format!("ANCHOR_{}_{i}", scale.grades()[grade]);
                essay(id, band_middle(grade), grade, true)
            })
            .collect();
        Scenario {
            spec,
            students,
            anchors,
            cut_points,
            content,
        }
    }

    pub fn essay_refs(&self) -> Vec<EssayRef> {
        self.students
            .iter()
            .map(|s| EssayRef {
                essay_id: s.essay_id.clone(),
                text_storage_id: s.text_storage_id.clone(),
                content_sha256: s.content_sha256.clone(),
            })
            .collect()
    }

    pub fn anchor_refs(&self) -> Vec<AnchorRef> {
        let grades = self.spec.scale.grades();
        self.anchors
            .iter()
            .map(|a| AnchorRef {
                essay_id: a.essay_id.clone(),
                grade: grades[a.true_grade].to_string(),
                label: format!("Anchor {}", grades[a.true_grade]),
                text_storage_id: a.text_storage_id.clone(),
                content_sha256: a.content_sha256.clone(),
            })
            .collect()
    }

    /// Every essay, students first.
    pub fn all(&self) -> impl Iterator<Item = &SimulatedEssay> {
        self.students.iter().chain(&self.anchors)
    }

    pub fn quality_of(&self, essay_id: &EssayId) -> Option<f64> {
        self.all()
            .find(|e| &e.essay_id == essay_id)
            .map(|e| e.quality)
    }
}

/// Grades for `count` anchors on a scale of `grades` steps: one per grade when the counts
/// match, otherwise spread evenly from the lowest to the highest grade.
fn anchor_grades(count: usize, grades: usize) -> Vec<usize> {
    match count {
        0 => Vec::new(),
        1 => vec![grades / 2],
        _ => (0..count)
            .map(|j| ((j * (grades - 1)) as f64 / (count - 1) as f64).round() as usize)
            .collect(),
    }
}

/// Words of generated essays: richer texts draw on more of them (see `runner::assignment`).
pub const VOCABULARY: [&str; 24] = [
    "argument",
    "evidence",
    "however",
    "therefore",
    "analysis",
    "perspective",
    "moreover",
    "illustrates",
    "nuanced",
    "structure",
    "claim",
    "counterpoint",
    "conclusion",
    "context",
    "significant",
    "consequently",
    "demonstrates",
    "furthermore",
    "implication",
    "contrast",
    "synthesis",
    "interpretation",
    "coherent",
    "rhetorical",
];

/// Text whose surface features grow with quality (length, sentence variety), so a judge
/// that reads texts — like `llm-sim`'s — has something to go on.
fn synthetic_text(essay_id: &str, quality: f64) -> String {
    let sentences = (6.0 + 2.0 * (quality + 3.0)).clamp(3.0, 24.0) as usize;
    let mut text = format!("Essay {essay_id}.");
    for s in 0..sentences {
        let length = 6 + (s * 7 + essay_id.len()) % 9;
        let words: Vec<&str> = (0..length)
            .map(|w| VOCABULARY[(s * 5 + w * 3) % 16])
            .collect();
        text.push(' ');
        text.push_str(&words.join(" "));
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_sit_one_per_grade_in_rising_order() {
        let scenario = Scenario::generate(ScenarioSpec::default());
        assert_eq!(scenario.anchors.len(), 8);
        let grades: Vec<usize> = scenario.anchors.iter().map(|a| a.true_grade).collect();
        assert_eq!(grades, (0..8).collect::<Vec<_>>());
        assert!(scenario
            .anchors
            .windows(2)
            .all(|w| w[0].quality < w[1].quality));
    }

    #[test]
    fn a_student_true_grade_is_the_band_containing_its_quality() {
        let scenario = Scenario::generate(ScenarioSpec::default());
        for student in &scenario.students {
            let g = student.true_grade;
            if g > 0 {
                assert!(student.quality >= scenario.cut_points[g - 1]);
            }
            if g < scenario.cut_points.len() {
                assert!(student.quality < scenario.cut_points[g]);
            }
        }
    }

    #[test]
    fn the_same_seed_generates_the_same_batch() {
        let one = Scenario::generate(ScenarioSpec::default());
        let two = Scenario::generate(ScenarioSpec::default());
        assert_eq!(one.students, two.students);
    }

    #[test]
    fn fewer_anchors_spread_over_the_scale() {
        assert_eq!(anchor_grades(3, 8), vec![0, 4, 7]);
        assert_eq!(anchor_grades(1, 9), vec![4]);
    }
}

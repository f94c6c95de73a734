//! Grade scales of the wire contract: their grades (low to high), population priors,
//! the grade below the lowest anchored grade, and the normalised score of each grade.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the three grade scales the pipeline knows. Serialised by its contract id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum GradeScale {
    /// Swedish national grades with the derived D+ and C+ steps (default).
    #[default]
    #[serde(rename = "swedish_8_anchor")]
    Swedish8Anchor,
    /// The legacy ENG5 national-test letter scale.
    #[serde(rename = "eng5_np_legacy_9_step")]
    Eng5NpLegacy9Step,
    /// The numeric ENG5 national-test scale ("1".."9").
    #[serde(rename = "eng5_np_national_9_step")]
    Eng5NpNational9Step,
}

/// An unknown scale id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grade scale '{0}' (known: swedish_8_anchor, eng5_np_legacy_9_step, eng5_np_national_9_step)")]
pub struct UnknownGradeScale(pub String);

const SWEDISH: [&str; 8] = ["F", "E", "D", "D+", "C", "C+", "B", "A"];
const SWEDISH_PRIOR: [f64; 8] = [0.02, 0.08, 0.15, 0.20, 0.25, 0.15, 0.10, 0.05];
const ENG5_LEGACY: [&str; 9] = ["F+", "E-", "E+", "D-", "D+", "C-", "C+", "B", "A"];
const ENG5_NATIONAL: [&str; 9] = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];

impl GradeScale {
    /// Every scale, in a stable order.
    pub const ALL: [GradeScale; 3] = [
        GradeScale::Swedish8Anchor,
        GradeScale::Eng5NpLegacy9Step,
        GradeScale::Eng5NpNational9Step,
    ];

    /// The contract id of the scale.
    pub fn id(self) -> &'static str {
        match self {
            GradeScale::Swedish8Anchor => "swedish_8_anchor",
            GradeScale::Eng5NpLegacy9Step => "eng5_np_legacy_9_step",
            GradeScale::Eng5NpNational9Step => "eng5_np_national_9_step",
        }
    }

    /// The grades of the scale, lowest first. Anchors carry one of these.
    pub fn grades(self) -> &'static [&'static str] {
        match self {
            GradeScale::Swedish8Anchor => &SWEDISH,
            GradeScale::Eng5NpLegacy9Step => &ENG5_LEGACY,
            GradeScale::Eng5NpNational9Step => &ENG5_NATIONAL,
        }
    }

    /// Population prior over `grades()` (sums to 1).
    pub fn prior(self) -> Vec<f64> {
        match self {
            GradeScale::Swedish8Anchor => SWEDISH_PRIOR.to_vec(),
            other => {
                let k = other.grades().len();
                vec![1.0 / k as f64; k]
            }
        }
    }

    /// The grade given to a score far below the lowest grade, where the scale has one.
    pub fn below_lowest(self) -> Option<&'static str> {
        match self {
            GradeScale::Swedish8Anchor => None,
            GradeScale::Eng5NpLegacy9Step => Some("F"),
            GradeScale::Eng5NpNational9Step => Some("0"),
        }
    }

    /// Position of a grade on the scale (lowest = 0), if the grade belongs to it.
    pub fn index_of(self, grade: &str) -> Option<usize> {
        self.grades().iter().position(|g| *g == grade)
    }

    /// Whether grades are numbers ("0".."9") rather than letters.
    pub fn is_numeric(self) -> bool {
        matches!(self, GradeScale::Eng5NpNational9Step)
    }

    /// The normalised score (0..1) the rich result event carries for a published grade,
    /// including the derived modifiers (`B-`, `E+`) and the below-lowest grades.
    pub fn normalized_score(self, grade: &str) -> Option<f64> {
        if self.is_numeric() {
            let g: u32 = grade.parse().ok()?;
            return (g <= 9).then(|| g as f64 / 9.0);
        }
        let score = match grade {
            "A" => 1.00,
            "A-" => 0.93,
            "B+" => 0.87,
            "B" => 0.80,
            "B-" => 0.73,
            "C+" => 0.67,
            "C" => 0.60,
            "C-" => 0.53,
            "D+" => 0.47,
            "D" => 0.40,
            "D-" => 0.33,
            "E+" => 0.27,
            "E" => 0.20,
            "E-" => 0.13,
            "F+" => 0.07,
            "F" | "U" => 0.0,
            _ => return None,
        };
        Some(score)
    }
}

impl fmt::Display for GradeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for GradeScale {
    type Err = UnknownGradeScale;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GradeScale::ALL
            .into_iter()
            .find(|scale| scale.id() == s)
            .ok_or_else(|| UnknownGradeScale(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scale_round_trips_through_its_id() {
        for scale in GradeScale::ALL {
            assert_eq!(scale.id().parse::<GradeScale>(), Ok(scale));
            let json = serde_json::to_string(&scale).unwrap();
            assert_eq!(json, format!("\"{}\"", scale.id()));
        }
    }

    #[test]
    fn priors_sum_to_one() {
        for scale in GradeScale::ALL {
            let total: f64 = scale.prior().iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{scale}");
            assert_eq!(scale.prior().len(), scale.grades().len());
        }
    }

    #[test]
    fn numeric_grades_normalise_by_nine() {
        let scale = GradeScale::Eng5NpNational9Step;
        assert_eq!(scale.normalized_score("9"), Some(1.0));
        assert_eq!(scale.normalized_score("0"), Some(0.0));
        assert!((scale.normalized_score("3").unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(scale.normalized_score("B"), None);
    }

    #[test]
    fn every_letter_grade_has_a_normalised_score() {
        for scale in [GradeScale::Swedish8Anchor, GradeScale::Eng5NpLegacy9Step] {
            for grade in scale.grades().iter().chain(scale.below_lowest().iter()) {
                assert!(scale.normalized_score(grade).is_some(), "{grade}");
            }
        }
    }
}

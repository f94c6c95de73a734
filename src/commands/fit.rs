//! `cj-assessment fit`: the service's statistics on anyone's data. Reads comparisons
//! (CSV or JSON lines: winner, loser, optional judge and first-shown id; see [`fit_input`]) or
//! scores fitted elsewhere (`essay_id,score,se`), optional anchors (`essay_id,grade`), and
//! prints JSON: per essay score, SE, infit, outfit, comparisons, wins, rank and misfit flag,
//! grades with probabilities when anchors are given (regressed toward the students' cohort,
//! as a batch's are); for the batch the estimator, SSR, separation G, split-half
//! reliability, and — when the data say who judged and what was shown first — judge misfit
//! and the order effect; the calibration.
//!
//! The default estimator is the field's reference (`sirt::btm`, [`reference`](mod@cj_aggregates::stats::reference)); a batch's
//! default (`--estimator regularised`) and choix's ILSR (`--estimator ilsr --alpha A`) are
//! selectable.
//!
//! [`fit_input`]: super::fit_input

use super::fit_input::{read_anchors, read_comparisons, read_scores, ComparisonInput, Names};
use cj_aggregates::stats::bradley_terry::{self, Outcome};
use cj_aggregates::stats::components::connected_components;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::grading::{self, AnchorPoint, CohortPrior};
use cj_aggregates::stats::misfit::{flag_misfits, judge_fits};
use cj_aggregates::stats::reference::{self, ReferenceOptions};
use cj_aggregates::stats::scale::{regularised_alpha, Estimator};
use cj_aggregates::stats::split_half::{split_half, DEFAULT_SEED, DEFAULT_SPLITS};
use cj_aggregates::stats::{finite, order_effect, reliability};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

pub use super::fit_input::InputError;

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Comparisons: CSV with columns winner (or candidate_chosen), loser (or
    /// candidate_not_chosen), optional judge, optional first (the id shown first) — or JSON
    /// lines with those keys.
    #[arg(long, conflicts_with = "scores", required_unless_present = "scores")]
    pub comparisons: Option<PathBuf>,
    /// Scores fitted by another tool: CSV essay_id,score,se.
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Anchors of known grade: CSV essay_id,grade.
    #[arg(long)]
    pub anchors: Option<PathBuf>,
    #[arg(long, default_value = "swedish_8_anchor")]
    pub scale: GradeScale,
    /// Which Bradley–Terry estimator fits the comparisons: sirt (the reference), regularised
    /// (a batch's default: I-LSR with 0.37 pseudo-comparisons of prior per essay) or ilsr
    /// (choix, --alpha).
    #[arg(long, default_value_t = Estimator::Sirt)]
    pub estimator: Estimator,
    /// Regularisation of the ILSR fit (choix's alpha; only with --estimator ilsr).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Random splits for the split-half reliability (0: none).
    #[arg(long, default_value_t = DEFAULT_SPLITS)]
    pub split_halves: usize,
    /// Base seed of the splits: split i uses R's set.seed(seed + i), so 123 draws the splits
    /// of the CJ meta-analysis.
    #[arg(long, default_value_t = DEFAULT_SEED, allow_negative_numbers = true)]
    pub seed: i32,
}

#[derive(Debug, Serialize)]
struct EssayFit {
    id: String,
    score: f64,
    se: f64,
    infit: Option<f64>,
    outfit: Option<f64>,
    comparisons: Option<u32>,
    wins: Option<f64>,
    rank: u32,
    flagged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    anchor_grade: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grade: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probabilities: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<Value>,
}

pub fn run(args: FitArgs) -> anyhow::Result<()> {
    let report = fit(&args)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Per-essay figures of whichever estimator ran.
#[derive(Default)]
struct Scores {
    scores: Vec<f64>,
    ses: Vec<f64>,
    infits: Vec<Option<f64>>,
    outfits: Vec<Option<f64>>,
    counts: Vec<Option<u32>>,
    wins: Vec<Option<f64>>,
}

/// The whole fit as JSON.
pub fn fit(args: &FitArgs) -> anyhow::Result<Value> {
    let mut ids = Names::default();
    let mut batch = serde_json::Map::new();
    let scored = match (&args.comparisons, &args.scores) {
        (Some(path), _) => {
            let input = read_comparisons(path, &mut ids)?;
            let scored = fit_comparisons(args, &ids, &input, &mut batch)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            audit(args, &ids, &input, &mut batch)?;
            scored
        }
        (None, Some(path)) => {
            let (scores, ses) = read_scores(path, &mut ids)?;
            let n = scores.len();
            Scores {
                scores,
                ses,
                infits: vec![None; n],
                outfits: vec![None; n],
                counts: vec![None; n],
                wins: vec![None; n],
            }
        }
        (None, None) => anyhow::bail!("give --comparisons or --scores"),
    };
    let Scores {
        scores,
        ses,
        infits,
        outfits,
        counts,
        wins,
    } = scored;
    let anchors = match &args.anchors {
        Some(path) => read_anchors(path, &ids, args.scale)?,
        None => HashMap::new(),
    };
    let calibration_points: Vec<AnchorPoint> = anchors
        .iter()
        .map(|(&index, grade)| AnchorPoint {
            score: scores[index],
            grade_index: args.scale.index_of(grade).unwrap_or_default(),
            standard_error: ses[index],
        })
        .collect();
    // The students' spread, as a batch has it: their probabilities are regressed toward it.
    let (student_scores, student_ses): (Vec<f64>, Vec<f64>) = (0..ids.len())
        .filter(|i| !anchors.contains_key(i))
        .map(|i| (scores[i], ses[i]))
        .unzip();
    let cohort = CohortPrior::estimate(&student_scores, &student_ses);
    let calibration = (!anchors.is_empty()).then(|| {
        grading::calibrate(args.scale, &calibration_points).map(|c| c.with_cohort(cohort))
    });
    let ranks = cj_aggregates::stats::scale::ranks(&scores);
    let flags = flag_misfits(
        &infits
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect::<Vec<_>>(),
    );
    let essays: Vec<EssayFit> = (0..ids.len())
        .map(|i| {
            let mut essay = EssayFit {
                id: ids.names[i].clone(),
                score: scores[i],
                se: ses[i],
                infit: infits[i],
                outfit: outfits[i],
                comparisons: counts[i],
                wins: wins[i],
                rank: ranks[i],
                flagged: flags[i],
                anchor_grade: anchors.get(&i).cloned(),
                grade: None,
                probabilities: None,
                confidence: None,
                label: None,
            };
            if let (Some(Ok(calibration)), None) = (&calibration, &essay.anchor_grade) {
                let projection = calibration.project(scores[i], ses[i]);
                essay.grade = Some(projection.grade);
                essay.probabilities = serde_json::to_value(projection.probabilities).ok();
                essay.confidence = Some(projection.confidence);
                essay.label = serde_json::to_value(projection.label).ok();
            }
            essay
        })
        .collect();
    let (calibration, unavailable) = match calibration {
        Some(Ok(c)) => (serde_json::to_value(c)?, Value::Null),
        Some(Err(e)) => (Value::Null, Value::String(e.to_string())),
        None => (Value::Null, Value::String("no anchors given".into())),
    };
    let mut report = serde_json::json!({
        "essays": essays,
        "ssr": reliability::ssr(&scores, &ses),
        "sep_g": reliability::separation(&scores, &ses),
        "scale": args.scale,
        "calibration": calibration,
        "calibration_unavailable": unavailable,
    });
    if let Value::Object(fields) = &mut report {
        fields.extend(batch);
    }
    Ok(report)
}

/// Fits the comparisons with the chosen estimator; records estimator, iterations and
/// convergence in `batch`.
fn fit_comparisons(
    args: &FitArgs,
    ids: &Names,
    input: &ComparisonInput,
    batch: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<Scores> {
    let n = ids.len();
    batch.insert("estimator".into(), serde_json::to_value(args.estimator)?);
    match args.estimator {
        Estimator::Sirt => {
            if args.alpha.is_some() {
                anyhow::bail!("--alpha applies to --estimator ilsr only");
            }
            let fitted = reference::fit(n, &input.comparisons, &ReferenceOptions::default());
            batch.insert("iterations".into(), fitted.iterations.into());
            batch.insert("converged".into(), fitted.converged.into());
            let items = &fitted.items;
            Ok(Scores {
                scores: items.iter().map(|i| i.theta).collect(),
                ses: items.iter().map(|i| i.se).collect(),
                infits: items.iter().map(|i| finite(i.infit)).collect(),
                outfits: items.iter().map(|i| finite(i.outfit)).collect(),
                counts: items.iter().map(|i| Some(i.comparisons)).collect(),
                wins: items.iter().map(|i| Some(i.wins)).collect(),
            })
        }
        Estimator::Ilsr | Estimator::Regularised => {
            let alpha = match args.estimator {
                Estimator::Regularised if args.alpha.is_some() => {
                    anyhow::bail!("--alpha applies to --estimator ilsr only");
                }
                Estimator::Regularised => regularised_alpha(n),
                _ => args.alpha.unwrap_or(bradley_terry::DEFAULT_ALPHA),
            };
            if !(alpha.is_finite() && alpha >= 0.0) {
                anyhow::bail!("--alpha must be a finite number ≥ 0");
            }
            let outcomes: Vec<Outcome> = input
                .comparisons
                .iter()
                .map(|c| Outcome {
                    winner: c.first,
                    loser: c.second,
                })
                .collect();
            let fitted = bradley_terry::fit(n, &outcomes, alpha)?;
            batch.insert("alpha".into(), alpha.into());
            batch.insert("iterations".into(), fitted.iterations.into());
            batch.insert("converged".into(), fitted.converged.into());
            let mut wins = vec![0.0; n];
            for outcome in &outcomes {
                wins[outcome.winner] += 1.0;
            }
            Ok(Scores {
                scores: fitted.scores,
                ses: fitted.standard_errors,
                infits: vec![None; n],
                outfits: vec![None; n],
                counts: fitted.comparison_counts.into_iter().map(Some).collect(),
                wins: wins.into_iter().map(Some).collect(),
            })
        }
    }
}

/// The audit figures of the data, whatever the estimator: split-half reliability, judge
/// misfit, the order effect and the components of a disconnected graph.
fn audit(
    args: &FitArgs,
    ids: &Names,
    input: &ComparisonInput,
    batch: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<()> {
    let n = ids.len();
    let options = ReferenceOptions::default();
    let split = (args.split_halves > 0).then(|| {
        split_half(
            n,
            &input.comparisons,
            args.split_halves,
            args.seed,
            &options,
        )
    });
    batch.insert("split_half".into(), serde_json::to_value(split)?);
    if !input.judges.is_empty() {
        let fitted = reference::fit(n, &input.comparisons, &options);
        let judges = judge_fits(&input.comparisons, &fitted.first_win_probabilities);
        let flags = flag_misfits(&judges.iter().map(|j| j.infit).collect::<Vec<_>>());
        let rows: Vec<Value> = judges
            .iter()
            .zip(flags)
            .map(|(judge, flagged)| {
                serde_json::json!({
                    "id": input.judges.names[judge.judge as usize],
                    "comparisons": judge.comparisons,
                    "infit": finite(judge.infit),
                    "outfit": finite(judge.outfit),
                    "flagged": flagged,
                })
            })
            .collect();
        batch.insert("judges".into(), rows.into());
    }
    if !input.shown.is_empty() {
        if let Some(effect) = order_effect::estimate(n, &input.shown) {
            batch.insert(
                "order_effect".into(),
                serde_json::json!({
                    "estimate": effect.estimate,
                    "se": finite(effect.se),
                    "flagged": effect.flagged(),
                    "comparisons": input.shown.len(),
                }),
            );
        }
    }
    let components = connected_components(n, &input.comparisons);
    if components.len() > 1 {
        let named: Vec<Vec<&str>> = components
            .iter()
            .map(|c| c.iter().map(|&i| ids.names[i].as_str()).collect())
            .collect();
        batch.insert("components".into(), serde_json::to_value(named)?);
    }
    Ok(())
}

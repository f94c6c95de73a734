//! Standard errors of a fit: the pseudo-inverse of the Fisher information at the fitted
//! scores, one connected group of essays at a time.

use super::tally::PairTally;
use super::{win_probability, UNIDENTIFIED_STANDARD_ERROR};
use nalgebra::DMatrix;

/// SE of every score from the Fisher information at the fit, identified by sum-to-zero through
/// the Moore–Penrose pseudo-inverse.
///
/// The information matrix is block-diagonal over groups of essays joined by informative
/// comparisons, and the pseudo-inverse of a block matrix is the block matrix of pseudo-inverses,
/// so each group is inverted on its own. Within a connected group of size k the kernel is exactly
/// the constant vector, so pinv(I) = (I + J/k)⁻¹ − J/k (J all ones) — exact, with no eigenvalue
/// cut-off to tune. Essays alone in their group (never compared, or only against opponents so far
/// away that the information underflows) get [`UNIDENTIFIED_STANDARD_ERROR`].
pub(super) fn standard_errors(
    scores: &[f64],
    pairs: &[PairTally],
    comparison_counts: &[u32],
) -> Vec<f64> {
    let mut standard_errors = vec![UNIDENTIFIED_STANDARD_ERROR; scores.len()];
    let links: Vec<InformationLink> = pairs
        .iter()
        .map(|pair| {
            let win = win_probability(scores[pair.winner], scores[pair.loser]);
            InformationLink {
                a: pair.winner,
                b: pair.loser,
                information: pair.wins * win * (1.0 - win),
            }
        })
        .filter(|link| link.information > 0.0)
        .collect();
    for group in information_groups(scores.len(), &links) {
        if group.members.len() < 2 {
            continue;
        }
        match group_variances(&group) {
            Some(variances) => {
                for (&essay, variance) in group.members.iter().zip(variances) {
                    if variance.is_finite() && variance > 0.0 && comparison_counts[essay] > 0 {
                        standard_errors[essay] = variance.sqrt();
                    }
                }
            }
            None => tracing::warn!(
                size = group.members.len(),
                "Bradley–Terry information block is numerically singular; using the unidentified SE"
            ),
        }
    }
    standard_errors
}

/// Fisher information one distinct pair contributes: wins · p · (1 − p).
#[derive(Debug, Clone, Copy)]
struct InformationLink {
    a: usize,
    b: usize,
    information: f64,
}

/// Essays joined (directly or not) by informative links, with those links re-indexed to
/// positions within the group.
struct InformationGroup {
    members: Vec<usize>,
    links: Vec<InformationLink>,
}

fn information_groups(essay_count: usize, links: &[InformationLink]) -> Vec<InformationGroup> {
    let mut neighbours = vec![Vec::new(); essay_count];
    for link in links {
        neighbours[link.a].push(link.b);
        neighbours[link.b].push(link.a);
    }
    const UNASSIGNED: usize = usize::MAX;
    let mut group_of = vec![UNASSIGNED; essay_count];
    let mut position_of = vec![0_usize; essay_count];
    let mut groups: Vec<InformationGroup> = Vec::new();
    for start in 0..essay_count {
        if group_of[start] != UNASSIGNED {
            continue;
        }
        let group_index = groups.len();
        let mut members = vec![start];
        group_of[start] = group_index;
        let mut next_to_visit = 0;
        while let Some(&essay) = members.get(next_to_visit) {
            next_to_visit += 1;
            for &neighbour in &neighbours[essay] {
                if group_of[neighbour] == UNASSIGNED {
                    group_of[neighbour] = group_index;
                    members.push(neighbour);
                }
            }
        }
        for (position, &essay) in members.iter().enumerate() {
            position_of[essay] = position;
        }
        groups.push(InformationGroup {
            members,
            links: Vec::new(),
        });
    }
    for link in links {
        groups[group_of[link.a]].links.push(InformationLink {
            a: position_of[link.a],
            b: position_of[link.b],
            information: link.information,
        });
    }
    groups
}

/// Diagonal of the pseudo-inverse of one connected group's information matrix, or `None` when
/// the block is too ill-conditioned to factorise.
fn group_variances(group: &InformationGroup) -> Option<Vec<f64>> {
    let size = group.members.len();
    let kernel_weight = 1.0 / size as f64;
    // Adding J/k fills the kernel (the constant vector) with eigenvalue 1, making the block
    // positive definite; subtracting J/k afterwards removes it again.
    let mut information = DMatrix::from_element(size, size, kernel_weight);
    for link in &group.links {
        information[(link.a, link.a)] += link.information;
        information[(link.b, link.b)] += link.information;
        information[(link.a, link.b)] -= link.information;
        information[(link.b, link.a)] -= link.information;
    }
    let diagonal = inverse_diagonal(information)?;
    Some(diagonal.into_iter().map(|d| d - kernel_weight).collect())
}

/// Diagonal of the inverse of a symmetric positive definite matrix, or `None` if Cholesky fails.
/// With M = LLᵀ, (M⁻¹)_ii = ‖L⁻¹ e_i‖², and L⁻¹ e_i is zero above row i, so this costs n³/6
/// instead of the n³ of a full inverse.
fn inverse_diagonal(matrix: DMatrix<f64>) -> Option<Vec<f64>> {
    let size = matrix.nrows();
    let lower = matrix.cholesky()?.unpack();
    let lower = lower.as_slice(); // column-major: column j is lower[j * size..(j + 1) * size]
    let mut solution = vec![0.0; size];
    let diagonal = (0..size)
        .map(|i| {
            solution[i..].fill(0.0);
            solution[i] = 1.0;
            for j in i..size {
                let value = solution[j] / lower[j * size + j];
                solution[j] = value;
                let column_below = &lower[j * size + j + 1..(j + 1) * size];
                for (entry, &l) in solution[j + 1..].iter_mut().zip(column_below) {
                    *entry -= value * l;
                }
            }
            solution[i..].iter().map(|y| y * y).sum()
        })
        .collect();
    Some(diagonal)
}

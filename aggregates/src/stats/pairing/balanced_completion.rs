//! The guard behind position balance: a planned orientation of every never-compared pair
//! such that each essay can still end a complete round robin with |A − B| ≤ 1. A commit the
//! plan cannot absorb is refused, so the orientation policy takes the other way round.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::Ledger;

/// Marks a pair without an open edge in [`CompletionPlan::pair_edge`].
const NO_EDGE: usize = usize::MAX;

/// A witness that every essay can still finish with |A − B| ≤ 1 once all never-compared
/// pairs are compared: a planned orientation of those pairs that meets, for each essay,
/// bounds on how many of its open pairs put it in position A.
///
/// With open degree r and current surplus d = A − B, an essay ends at d + 2·o − r after
/// taking A in o of its open pairs, so |end| ≤ 1 means o ∈ [⌊(r−d)/2⌋, ⌊(r−d+1)/2⌋] (clamped
/// to [0, r]). When a committed orientation breaks a bound, the plan is repaired by flipping
/// a directed path of planned pairs to an essay with room (one BFS); when no such path
/// exists the reachable set proves no orientation fits the bounds (Hakimi's condition), and
/// the commit is refused. An agreeing commit never breaks a bound, so one of the two
/// orientations of every open pair is always accepted.
pub(super) struct CompletionPlan {
    ends: Vec<(usize, usize)>,
    planned_a: Vec<usize>,
    open: Vec<bool>,
    incident: Vec<Vec<usize>>,
    /// Edge id per unordered pair (slot lower·n + higher), [`NO_EDGE`] for met pairs.
    pair_edge: Vec<usize>,
    essay_count: usize,
    planned_a_count: Vec<i64>,
    open_degree: Vec<i64>,
    a_surplus: Vec<i64>,
}

impl CompletionPlan {
    pub(super) fn build(ledger: &Ledger, rng: &mut ChaCha8Rng) -> Option<Self> {
        let n = ledger.essay_count;
        let mut ends = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if !ledger.tally(i, j).met {
                    ends.push((i, j));
                }
            }
        }
        ends.shuffle(rng);
        let mut incident = vec![Vec::new(); n];
        let mut open_degree = vec![0i64; n];
        let mut pair_edge = vec![NO_EDGE; n * n];
        for (edge, &(i, j)) in ends.iter().enumerate() {
            incident[i].push(edge);
            incident[j].push(edge);
            open_degree[i] += 1;
            open_degree[j] += 1;
            pair_edge[i * n + j] = edge;
        }
        let a_surplus: Vec<i64> = (0..n).map(|e| -ledger.a_position_owed(e)).collect();
        // Greedy start: each pair goes to the end with more A positions still wanted.
        let mut planned_a = Vec::with_capacity(ends.len());
        let mut planned_a_count = vec![0i64; n];
        for &(i, j) in &ends {
            let wanted = |e: usize| open_degree[e] - a_surplus[e] - 2 * planned_a_count[e];
            let first = if wanted(i) >= wanted(j) { i } else { j };
            planned_a.push(first);
            planned_a_count[first] += 1;
        }
        let mut plan = CompletionPlan {
            open: vec![true; ends.len()],
            ends,
            planned_a,
            incident,
            pair_edge,
            essay_count: n,
            planned_a_count,
            open_degree,
            a_surplus,
        };
        let mut flips = Vec::new();
        plan.repair(&mut flips).then_some(plan)
    }

    fn open_edge(&self, i: usize, j: usize) -> Option<usize> {
        let edge = self.pair_edge[i.min(j) * self.essay_count + i.max(j)];
        (edge != NO_EDGE && self.open[edge]).then_some(edge)
    }

    pub(super) fn planned_first(&self, i: usize, j: usize) -> Option<usize> {
        self.open_edge(i, j).map(|edge| self.planned_a[edge])
    }

    fn bounds(&self, essay: usize) -> (i64, i64) {
        let degree = self.open_degree[essay];
        let room = degree - self.a_surplus[essay];
        let low = room.div_euclid(2).clamp(0, degree);
        let high = (room + 1).div_euclid(2).clamp(0, degree);
        (low, high)
    }

    fn other_end(&self, edge: usize, essay: usize) -> usize {
        let (i, j) = self.ends[edge];
        if i == essay {
            j
        } else {
            i
        }
    }

    fn flip(&mut self, edge: usize) {
        let old = self.planned_a[edge];
        let new = self.other_end(edge, old);
        self.planned_a[edge] = new;
        self.planned_a_count[old] -= 1;
        self.planned_a_count[new] += 1;
    }

    /// Commits `essay_a` before `essay_b` if the plan can absorb it; otherwise leaves the
    /// plan untouched and returns false.
    pub(super) fn try_commit(&mut self, essay_a: usize, essay_b: usize) -> bool {
        let edge = self.open_edge(essay_a, essay_b);
        if let Some(edge) = edge {
            self.set_open(edge, false);
        }
        self.a_surplus[essay_a] += 1;
        self.a_surplus[essay_b] -= 1;
        let mut flips = Vec::new();
        if self.repair(&mut flips) {
            return true;
        }
        for edge in flips.into_iter().rev() {
            self.flip(edge);
        }
        self.a_surplus[essay_a] -= 1;
        self.a_surplus[essay_b] += 1;
        if let Some(edge) = edge {
            self.set_open(edge, true);
        }
        false
    }

    fn set_open(&mut self, edge: usize, open: bool) {
        let change = if open { 1 } else { -1 };
        let (i, j) = self.ends[edge];
        self.open[edge] = open;
        self.open_degree[i] += change;
        self.open_degree[j] += change;
        self.planned_a_count[self.planned_a[edge]] += change;
    }

    /// Brings every essay within its bounds, recording the flipped edges. False when the
    /// bounds cannot all be met.
    fn repair(&mut self, flips: &mut Vec<usize>) -> bool {
        let n = self.open_degree.len();
        for essay in 0..n {
            while self.planned_a_count[essay] > self.bounds(essay).1 {
                let Some(path) = self.path_to_room(essay, true) else {
                    return false;
                };
                for edge in path {
                    self.flip(edge);
                    flips.push(edge);
                }
            }
        }
        for essay in 0..n {
            while self.planned_a_count[essay] < self.bounds(essay).0 {
                let Some(path) = self.path_to_room(essay, false) else {
                    return false;
                };
                for edge in path {
                    self.flip(edge);
                    flips.push(edge);
                }
            }
        }
        true
    }

    /// Breadth-first search from `start` along open edges. Giving (shedding an A position):
    /// follow edges `start` plans as A, ending at an essay below its upper bound. Taking:
    /// follow edges planned the other way, ending at an essay above its lower bound.
    /// Flipping the returned edges moves one A position along the path.
    fn path_to_room(&self, start: usize, giving: bool) -> Option<Vec<usize>> {
        let n = self.open_degree.len();
        let mut arrived_by: Vec<Option<usize>> = vec![None; n];
        let mut visited = vec![false; n];
        visited[start] = true;
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(essay) = queue.pop_front() {
            for &edge in &self.incident[essay] {
                if !self.open[edge] {
                    continue;
                }
                let next = self.other_end(edge, essay);
                let a_end = if giving { essay } else { next };
                if self.planned_a[edge] != a_end || visited[next] {
                    continue;
                }
                visited[next] = true;
                arrived_by[next] = Some(edge);
                let (low, high) = self.bounds(next);
                let has_room = if giving {
                    self.planned_a_count[next] < high
                } else {
                    self.planned_a_count[next] > low
                };
                if has_room {
                    return Some(self.trace_back(next, start, &arrived_by));
                }
                queue.push_back(next);
            }
        }
        None
    }

    fn trace_back(&self, end: usize, start: usize, arrived_by: &[Option<usize>]) -> Vec<usize> {
        let mut path = Vec::new();
        let mut essay = end;
        while essay != start {
            let Some(edge) = arrived_by[essay] else {
                break;
            };
            path.push(edge);
            essay = self.other_end(edge, essay);
        }
        path
    }
}

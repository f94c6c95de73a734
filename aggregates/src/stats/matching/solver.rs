//! The state of one run of the blossom algorithm (vertices, blossoms, labels, duals, all in
//! doubled integer weights) and its main loop: pick the smallest admissible dual change
//! δ1–δ4, apply it, and act on the event it makes possible, until δ1 says the matching is
//! optimal. Ids `0..n` are vertices, ids `n..2n` non-trivial blossoms.

use super::MatchingError;

/// The tree label of a top-level blossom during a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    Unlabelled,
    /// S in the literature: even distance from a free vertex.
    Outer,
    /// T in the literature: odd distance from a free vertex.
    Inner,
}

/// An edge from a vertex of an outer blossom (`outer`) to another vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OuterEdge {
    pub(super) outer: usize,
    pub(super) other: usize,
    pub(super) weight: i64,
}

/// What the next dual adjustment leads to.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// δ1: the free vertices' duals reached zero; the matching is maximum.
    Optimal,
    /// δ2: an outer vertex now reaches an unlabelled blossom by a tight edge.
    ReachUnlabelled { outer: usize, other: usize },
    /// δ3: two outer blossoms are now joined by a tight edge.
    JoinOuter { x: usize, y: usize },
    /// δ4: an inner blossom's dual reached zero.
    ExpandInner(usize),
}

/// State of one run. Ids `0..n` are the vertices (trivial blossoms), ids `n..2n` are
/// non-trivial blossoms, recycled as blossoms are expanded.
pub(super) struct Solver {
    pub(super) vertex_count: usize,
    pub(super) adjacency: Vec<Vec<(usize, i64)>>,
    pub(super) mate: Vec<Option<usize>>,
    pub(super) vertex_dual: Vec<i64>,
    pub(super) blossom_dual: Vec<i64>,
    pub(super) parent: Vec<Option<usize>>,
    /// The sub-blossoms around the cycle, the one holding the base first.
    pub(super) children: Vec<Vec<usize>>,
    /// `links[b][k]` = (vertex in `children[b][k]`, vertex in `children[b][k + 1]`), the
    /// edges closing the cycle; odd positions are matched edges.
    pub(super) links: Vec<Vec<(usize, usize)>>,
    pub(super) base: Vec<usize>,
    pub(super) in_use: Vec<bool>,
    pub(super) unused_ids: Vec<usize>,
    /// Top-level blossom of every vertex.
    pub(super) top: Vec<usize>,
    pub(super) label: Vec<Label>,
    /// Inner blossom: (outer vertex, vertex inside) of the edge that labelled it.
    /// Outer blossom: (base of the inner blossom, its mate inside), or None for a root.
    pub(super) label_link: Vec<Option<(usize, usize)>>,
    /// Per non-outer vertex, its least-slack edge from an outer vertex (for δ2).
    pub(super) best_from_outer: Vec<Option<OuterEdge>>,
    /// Per outer blossom, candidate edges to other outer blossoms (for δ3).
    pub(super) outer_edges: Vec<Vec<OuterEdge>>,
    pub(super) best_outer_edge: Vec<Option<OuterEdge>>,
    /// Per labelled top-level blossom, the free vertex at the root of its tree.
    pub(super) tree_root: Vec<usize>,
    pub(super) visit_mark: Vec<u64>,
    pub(super) visit_stamp: u64,
    /// Scratch for [`Solver::settle_outer_edges`], all None between calls.
    pub(super) best_per_blossom: Vec<Option<(OuterEdge, i64)>>,
}

impl Solver {
    pub(super) fn new(adjacency: Vec<Vec<(usize, i64)>>) -> Self {
        let n = adjacency.len();
        let max_weight = adjacency
            .iter()
            .flatten()
            .map(|&(_, w)| w)
            .max()
            .unwrap_or(0);
        let ids = 2 * n;
        Solver {
            vertex_count: n,
            adjacency,
            mate: vec![None; n],
            // Every slack starts non-negative: u_i + u_j = max weight ≥ w_ij. The weights
            // are even, so this is a whole number.
            vertex_dual: vec![max_weight / 2; n],
            blossom_dual: vec![0; ids],
            parent: vec![None; ids],
            children: vec![Vec::new(); ids],
            links: vec![Vec::new(); ids],
            base: (0..ids).collect(),
            in_use: (0..ids).map(|id| id < n).collect(),
            unused_ids: (n..ids).rev().collect(),
            top: (0..n).collect(),
            label: vec![Label::Unlabelled; ids],
            label_link: vec![None; ids],
            best_from_outer: vec![None; n],
            outer_edges: vec![Vec::new(); ids],
            best_outer_edge: vec![None; ids],
            tree_root: (0..ids).collect(),
            visit_mark: vec![0; ids],
            visit_stamp: 0,
            best_per_blossom: vec![None; ids],
        }
    }

    pub(super) fn solve(&mut self) -> Result<(), MatchingError> {
        self.label_free_blossoms();
        loop {
            let (delta, event) = self.next_event();
            if delta > 0 {
                self.adjust_duals(delta);
            }
            match event {
                Event::Optimal => return Ok(()),
                Event::ReachUnlabelled { outer, other } => {
                    self.label_inner(self.top[other], outer, other)?
                }
                Event::JoinOuter { x, y } => self.join_outer(x, y)?,
                Event::ExpandInner(blossom) => self.expand(blossom, true)?,
            }
        }
    }

    pub(super) fn top_level_blossoms(&self) -> impl Iterator<Item = usize> + '_ {
        (0..2 * self.vertex_count).filter(|&b| self.in_use[b] && self.parent[b].is_none())
    }

    pub(super) fn blossom_vertices(&self, blossom: usize) -> Vec<usize> {
        let mut vertices = Vec::new();
        let mut stack = vec![blossom];
        while let Some(b) = stack.pop() {
            if b < self.vertex_count {
                vertices.push(b);
            } else {
                stack.extend(self.children[b].iter().copied());
            }
        }
        vertices
    }

    /// Slack of an edge whose ends lie in different top-level blossoms (no blossom dual
    /// applies to it).
    pub(super) fn slack(&self, x: usize, y: usize, weight: i64) -> i64 {
        self.vertex_dual[x] + self.vertex_dual[y] - weight
    }

    /// The smallest admissible dual change and what it makes possible.
    fn next_event(&self) -> (i64, Event) {
        let outer_duals = (0..self.vertex_count)
            .filter(|&v| self.label[self.top[v]] == Label::Outer)
            .map(|v| self.vertex_dual[v])
            .min();
        let Some(mut delta) = outer_duals else {
            return (0, Event::Optimal);
        };
        let mut event = Event::Optimal;
        for v in 0..self.vertex_count {
            if self.label[self.top[v]] != Label::Unlabelled {
                continue;
            }
            if let Some(edge) = self.best_from_outer[v] {
                let slack = self.slack(edge.outer, v, edge.weight);
                if slack < delta {
                    delta = slack;
                    event = Event::ReachUnlabelled {
                        outer: edge.outer,
                        other: v,
                    };
                }
            }
        }
        for b in self.top_level_blossoms() {
            match self.label[b] {
                Label::Outer => {
                    if let Some(edge) = self.best_outer_edge[b] {
                        // Both ends carry duals of the same parity (see the `matching` module docs), so
                        // the slack is even and halving it is exact.
                        let half = self.slack(edge.outer, edge.other, edge.weight) / 2;
                        if half < delta {
                            delta = half;
                            event = Event::JoinOuter {
                                x: edge.outer,
                                y: edge.other,
                            };
                        }
                    }
                }
                Label::Inner if b >= self.vertex_count => {
                    let half = self.blossom_dual[b] / 2;
                    if half < delta {
                        delta = half;
                        event = Event::ExpandInner(b);
                    }
                }
                _ => {}
            }
        }
        (delta, event)
    }

    fn adjust_duals(&mut self, delta: i64) {
        for v in 0..self.vertex_count {
            match self.label[self.top[v]] {
                Label::Outer => self.vertex_dual[v] -= delta,
                Label::Inner => self.vertex_dual[v] += delta,
                Label::Unlabelled => {}
            }
        }
        for b in self.vertex_count..2 * self.vertex_count {
            if !self.in_use[b] || self.parent[b].is_some() {
                continue;
            }
            match self.label[b] {
                Label::Outer => self.blossom_dual[b] += 2 * delta,
                Label::Inner => self.blossom_dual[b] -= 2 * delta,
                Label::Unlabelled => {}
            }
        }
    }
}

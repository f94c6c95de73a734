//! Growing the alternating trees: labelling blossoms outer (S) and inner (T), and the
//! least-slack bookkeeping that makes every dual adjustment O(n) — per non-outer vertex its
//! best edge from an outer vertex (δ2), per outer blossom its best edges to other outer
//! blossoms (δ3).

use super::solver::{Label, OuterEdge, Solver};
use super::MatchingError;

impl Solver {
    /// Every vertex starts free, so every vertex roots a tree.
    pub(super) fn label_free_blossoms(&mut self) {
        for vertex in 0..self.vertex_count {
            self.label_outer(vertex, None, vertex);
        }
    }

    /// Labels a top-level blossom outer in the tree of `root` and records the edges its
    /// vertices offer to the δ2/δ3 bookkeeping.
    pub(super) fn label_outer(
        &mut self,
        blossom: usize,
        link: Option<(usize, usize)>,
        root: usize,
    ) {
        self.label[blossom] = Label::Outer;
        self.label_link[blossom] = link;
        self.tree_root[blossom] = root;
        let mut candidates = Vec::new();
        if blossom < self.vertex_count {
            self.scan_new_outer_vertex(blossom, &mut candidates);
        } else {
            for vertex in self.blossom_vertices(blossom) {
                self.scan_new_outer_vertex(vertex, &mut candidates);
            }
        }
        self.settle_outer_edges(blossom, candidates);
    }

    /// A vertex has just become outer: offer its edges to the non-outer vertices' δ2
    /// bookkeeping and collect its edges to other outer blossoms. An edge between two outer
    /// blossoms is kept only by the one labelled later; δ3 takes the minimum over all outer
    /// blossoms, so one side suffices, and merged blossoms inherit their parts' edges.
    pub(super) fn scan_new_outer_vertex(&mut self, vertex: usize, candidates: &mut Vec<OuterEdge>) {
        let own = self.top[vertex];
        for index in 0..self.adjacency[vertex].len() {
            let (other, weight) = self.adjacency[vertex][index];
            let other_top = self.top[other];
            if other_top == own {
                continue;
            }
            if self.label[other_top] == Label::Outer {
                candidates.push(OuterEdge {
                    outer: vertex,
                    other,
                    weight,
                });
            } else {
                let offer = OuterEdge {
                    outer: vertex,
                    other,
                    weight,
                };
                if self.is_better(offer, self.best_from_outer[other]) {
                    self.best_from_outer[other] = Some(offer);
                }
            }
        }
    }

    pub(super) fn is_better(&self, edge: OuterEdge, current: Option<OuterEdge>) -> bool {
        current.map_or(true, |c| {
            self.slack(edge.outer, edge.other, edge.weight) < self.slack(c.outer, c.other, c.weight)
        })
    }

    /// Keeps, per neighbouring outer blossom, the least-slack candidate edge, and the
    /// overall least as the blossom's δ3 edge.
    pub(super) fn settle_outer_edges(&mut self, blossom: usize, candidates: Vec<OuterEdge>) {
        let mut best_per_blossom = std::mem::take(&mut self.best_per_blossom);
        let mut touched = Vec::new();
        for edge in candidates {
            let other_top = self.top[edge.other];
            if other_top == blossom || self.label[other_top] != Label::Outer {
                continue;
            }
            let slack = self.slack(edge.outer, edge.other, edge.weight);
            match best_per_blossom[other_top] {
                None => {
                    touched.push(other_top);
                    best_per_blossom[other_top] = Some((edge, slack));
                }
                Some((_, best_slack)) if slack < best_slack => {
                    best_per_blossom[other_top] = Some((edge, slack));
                }
                Some(_) => {}
            }
        }
        let mut kept = Vec::with_capacity(touched.len());
        let mut best: Option<(OuterEdge, i64)> = None;
        for other_top in touched {
            if let Some((edge, slack)) = best_per_blossom[other_top].take() {
                kept.push(edge);
                if best.map_or(true, |(_, best_slack)| slack < best_slack) {
                    best = Some((edge, slack));
                }
            }
        }
        self.best_per_blossom = best_per_blossom;
        self.outer_edges[blossom] = kept;
        self.best_outer_edge[blossom] = best.map(|(edge, _)| edge);
    }

    pub(super) fn label_inner(
        &mut self,
        blossom: usize,
        outer: usize,
        inside: usize,
    ) -> Result<(), MatchingError> {
        let root = self.tree_root[self.top[outer]];
        self.label[blossom] = Label::Inner;
        self.label_link[blossom] = Some((outer, inside));
        self.tree_root[blossom] = root;
        let base = self.base[blossom];
        let mate = self.mate[base].ok_or(MatchingError::BrokenInvariant(
            "an unlabelled blossom has a free base",
        ))?;
        self.label_outer(self.top[mate], Some((base, mate)), root);
        Ok(())
    }

    pub(super) fn joins_other_outer(&self, blossom: usize, edge: OuterEdge) -> bool {
        let other_top = self.top[edge.other];
        other_top != blossom && self.label[other_top] == Label::Outer
    }

    pub(super) fn rescan_best_from_outer(&mut self, vertex: usize) {
        let own = self.top[vertex];
        // The vertex's own dual is common to all candidates, so u_outer − w orders them.
        let mut best: Option<(OuterEdge, i64)> = None;
        for &(outer, weight) in &self.adjacency[vertex] {
            let outer_top = self.top[outer];
            if outer_top == own || self.label[outer_top] != Label::Outer {
                continue;
            }
            let order = self.vertex_dual[outer] - weight;
            if best.map_or(true, |(_, best_order)| order < best_order) {
                let edge = OuterEdge {
                    outer,
                    other: vertex,
                    weight,
                };
                best = Some((edge, order));
            }
        }
        self.best_from_outer[vertex] = best.map(|(edge, _)| edge);
    }
}

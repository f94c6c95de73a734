//! Augmentation: a tight edge between outer blossoms of two different trees completes an
//! augmenting path; flipping it (re-matching inside every blossom on the way) adds one pair
//! to the matching. Only the two trees it joined are dissolved afterwards; the others keep
//! their labels, duals and δ2/δ3 records (the one departure from Galil's bookkeeping).

use super::solver::{Label, Solver};
use super::MatchingError;

impl Solver {
    /// Flips the alternating path from outer vertex `start` up to its tree root, after
    /// `start` is matched to `partner`.
    pub(super) fn augment_from(
        &mut self,
        start: usize,
        partner: usize,
    ) -> Result<(), MatchingError> {
        let (mut outer_vertex, mut new_mate) = (start, partner);
        loop {
            let outer = self.top[outer_vertex];
            let link = self.label_link[outer];
            self.rotate_base(outer, outer_vertex)?;
            self.mate[outer_vertex] = Some(new_mate);
            let Some((inner_base, _)) = link else {
                return Ok(());
            };
            let inner = self.top[inner_base];
            let (next_outer, inner_entry) = self.label_link[inner].ok_or(
                MatchingError::BrokenInvariant("an inner blossom has no label edge"),
            )?;
            self.rotate_base(inner, inner_entry)?;
            self.mate[inner_entry] = Some(next_outer);
            outer_vertex = next_outer;
            new_mate = inner_entry;
        }
    }

    /// Re-matches the inside of `blossom` so that `vertex` becomes its base (the one vertex
    /// left for a partner outside). Walks the even-length way round the cycle from the
    /// sub-blossom holding `vertex` to the old base and flips it.
    fn rotate_base(&mut self, blossom: usize, vertex: usize) -> Result<(), MatchingError> {
        if blossom < self.vertex_count {
            return Ok(());
        }
        let mut child = vertex;
        while self.parent[child] != Some(blossom) {
            child = self.parent[child].ok_or(MatchingError::BrokenInvariant(
                "vertex is not inside the blossom being rotated",
            ))?;
        }
        self.rotate_base(child, vertex)?;
        let position = self.children[blossom]
            .iter()
            .position(|&c| c == child)
            .ok_or(MatchingError::BrokenInvariant(
                "child missing from its parent",
            ))?;
        if position != 0 {
            let count = self.children[blossom].len();
            let newly_matched: Vec<usize> = if position % 2 == 1 {
                (position + 1..count).step_by(2).collect()
            } else {
                (0..position - 1).step_by(2).collect()
            };
            for index in newly_matched {
                let (p, q) = self.links[blossom][index];
                let child_p = self.children[blossom][index];
                let child_q = self.children[blossom][(index + 1) % count];
                self.rotate_base(child_p, p)?;
                self.rotate_base(child_q, q)?;
                self.mate[p] = Some(q);
                self.mate[q] = Some(p);
            }
            self.children[blossom].rotate_left(position);
            self.links[blossom].rotate_left(position);
        }
        self.base[blossom] = vertex;
        Ok(())
    }

    /// After an augmentation the two trees it joined have no free root any more: their
    /// blossoms lose their labels (as at the start of a new stage in Galil's description,
    /// but without relabelling the other trees, which stay valid), blossoms among them with
    /// a zero dual are dissolved, and the δ2/δ3 bookkeeping that pointed into them is
    /// rebuilt from the adjacency of the vertices concerned.
    pub(super) fn dissolve_trees(&mut self, roots: [usize; 2]) {
        let dissolved: Vec<usize> = self
            .top_level_blossoms()
            .filter(|&b| self.label[b] != Label::Unlabelled && roots.contains(&self.tree_root[b]))
            .collect();
        let mut was_dissolved = vec![false; self.vertex_count];
        for &blossom in &dissolved {
            self.clear_label(blossom);
            for vertex in self.blossom_vertices(blossom) {
                was_dissolved[vertex] = true;
            }
        }
        self.expand_zero_dual_blossoms(
            dissolved
                .into_iter()
                .filter(|&b| b >= self.vertex_count && self.blossom_dual[b] == 0)
                .collect(),
        );
        for (vertex, dissolved_here) in was_dissolved.into_iter().enumerate() {
            if self.label[self.top[vertex]] == Label::Outer {
                continue;
            }
            let stale = self.best_from_outer[vertex]
                .is_some_and(|edge| self.label[self.top[edge.outer]] != Label::Outer);
            if stale || dissolved_here {
                self.rescan_best_from_outer(vertex);
            }
        }
        let outer_blossoms: Vec<usize> = self
            .top_level_blossoms()
            .filter(|&b| self.label[b] == Label::Outer)
            .collect();
        for blossom in outer_blossoms {
            let stale = self.best_outer_edge[blossom]
                .is_some_and(|edge| !self.joins_other_outer(blossom, edge));
            if stale {
                let mut edges = std::mem::take(&mut self.outer_edges[blossom]);
                edges.retain(|&edge| self.joins_other_outer(blossom, edge));
                let mut best = None;
                for &edge in &edges {
                    if self.is_better(edge, best) {
                        best = Some(edge);
                    }
                }
                self.outer_edges[blossom] = edges;
                self.best_outer_edge[blossom] = best;
            }
        }
    }
}

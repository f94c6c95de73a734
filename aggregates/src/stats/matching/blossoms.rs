//! Blossoms: a tight edge between two outer blossoms of one tree closes an odd cycle, which
//! is shrunk into one new outer blossom (its sub-blossoms and the edges linking them kept in
//! cycle order); an inner blossom whose dual reaches zero, or a spent blossom after an
//! augmentation, is expanded back into its sub-blossoms.

use super::solver::{Label, Solver};
use super::MatchingError;

impl Solver {
    /// The outer blossom two steps up the alternating tree, or None at a root.
    fn outer_parent(&self, outer_blossom: usize) -> Option<usize> {
        let (inner_vertex, _) = self.label_link[outer_blossom]?;
        let (outer_vertex, _) = self.label_link[self.top[inner_vertex]]?;
        Some(self.top[outer_vertex])
    }

    /// A tight edge joins two outer blossoms: shrink the blossom it closes, or augment
    /// along it and dissolve the two trees it connects.
    pub(super) fn join_outer(&mut self, x: usize, y: usize) -> Result<(), MatchingError> {
        let (bx, by) = (self.top[x], self.top[y]);
        if bx == by {
            return Err(MatchingError::BrokenInvariant(
                "a δ3 edge lies inside one blossom",
            ));
        }
        match self.common_ancestor(bx, by) {
            Some(base_blossom) => self.shrink(base_blossom, x, y),
            None => {
                let roots = [self.tree_root[bx], self.tree_root[by]];
                self.augment_from(x, y)?;
                self.augment_from(y, x)?;
                self.dissolve_trees(roots);
                Ok(())
            }
        }
    }

    /// Walks both tree paths upwards in turn; the first outer blossom seen twice is the
    /// base of the new blossom. None when the paths reach two different roots.
    fn common_ancestor(&mut self, bx: usize, by: usize) -> Option<usize> {
        self.visit_stamp += 1;
        let stamp = self.visit_stamp;
        let (mut a, mut b) = (Some(bx), Some(by));
        while a.is_some() || b.is_some() {
            if let Some(current) = a {
                if self.visit_mark[current] == stamp {
                    return Some(current);
                }
                self.visit_mark[current] = stamp;
                a = self.outer_parent(current);
            }
            std::mem::swap(&mut a, &mut b);
        }
        None
    }

    fn shrink(&mut self, base_blossom: usize, x: usize, y: usize) -> Result<(), MatchingError> {
        const BROKEN_PATH: MatchingError =
            MatchingError::BrokenInvariant("a tree path to the blossom base is broken");
        let blossom = self
            .unused_ids
            .pop()
            .ok_or(MatchingError::BrokenInvariant("ran out of blossom ids"))?;
        // Path from x's blossom up to the base, each entry with the link that enters it
        // from the blossom above.
        let mut down_x = Vec::new();
        let mut current = self.top[x];
        while current != base_blossom {
            let (inner_vertex, inside) = self.label_link[current].ok_or(BROKEN_PATH)?;
            down_x.push((current, (inner_vertex, inside)));
            let inner = self.top[inner_vertex];
            let (outer_vertex, inner_inside) = self.label_link[inner].ok_or(BROKEN_PATH)?;
            down_x.push((inner, (outer_vertex, inner_inside)));
            current = self.top[outer_vertex];
        }
        let mut children = vec![base_blossom];
        let mut links = Vec::new();
        for &(child, link) in down_x.iter().rev() {
            links.push(link);
            children.push(child);
        }
        links.push((x, y));
        let mut current = self.top[y];
        while current != base_blossom {
            children.push(current);
            let (inner_vertex, inside) = self.label_link[current].ok_or(BROKEN_PATH)?;
            links.push((inside, inner_vertex));
            let inner = self.top[inner_vertex];
            children.push(inner);
            let (outer_vertex, inner_inside) = self.label_link[inner].ok_or(BROKEN_PATH)?;
            links.push((inner_inside, outer_vertex));
            current = self.top[outer_vertex];
        }

        for &child in &children {
            self.parent[child] = Some(blossom);
        }
        self.in_use[blossom] = true;
        self.base[blossom] = self.base[base_blossom];
        self.blossom_dual[blossom] = 0;
        self.label[blossom] = Label::Outer;
        self.label_link[blossom] = self.label_link[base_blossom];
        self.tree_root[blossom] = self.tree_root[base_blossom];
        for vertex in self.blossom_vertices_of(&children) {
            self.top[vertex] = blossom;
        }
        // Outer children bring their δ3 candidates; inner children turn outer now, so
        // their vertices are scanned like any new outer vertex.
        let mut candidates = Vec::new();
        for &child in &children {
            if self.label[child] == Label::Outer {
                candidates.append(&mut self.outer_edges[child]);
                self.best_outer_edge[child] = None;
            } else {
                for vertex in self.blossom_vertices(child) {
                    self.scan_new_outer_vertex(vertex, &mut candidates);
                }
            }
        }
        self.children[blossom] = children;
        self.links[blossom] = links;
        self.settle_outer_edges(blossom, candidates);
        Ok(())
    }

    fn blossom_vertices_of(&self, blossoms: &[usize]) -> Vec<usize> {
        blossoms
            .iter()
            .flat_map(|&b| self.blossom_vertices(b))
            .collect()
    }

    /// Dissolves a top-level blossom into its sub-blossoms. During a stage (an inner
    /// blossom whose dual reached zero) the even path from the entry sub-blossom to the base
    /// sub-blossom keeps the tree alternating; the other sub-blossoms become unlabelled.
    pub(super) fn expand(
        &mut self,
        blossom: usize,
        during_stage: bool,
    ) -> Result<(), MatchingError> {
        let children = std::mem::take(&mut self.children[blossom]);
        let links = std::mem::take(&mut self.links[blossom]);
        for &child in &children {
            self.parent[child] = None;
            self.clear_label(child);
            for vertex in self.blossom_vertices(child) {
                self.top[vertex] = child;
            }
        }
        if during_stage {
            self.relabel_expanded(blossom, &children, &links)?;
        }
        self.in_use[blossom] = false;
        self.clear_label(blossom);
        self.blossom_dual[blossom] = 0;
        self.unused_ids.push(blossom);
        Ok(())
    }

    pub(super) fn clear_label(&mut self, blossom: usize) {
        self.label[blossom] = Label::Unlabelled;
        self.label_link[blossom] = None;
        self.outer_edges[blossom].clear();
        self.best_outer_edge[blossom] = None;
    }

    fn relabel_expanded(
        &mut self,
        blossom: usize,
        children: &[usize],
        links: &[(usize, usize)],
    ) -> Result<(), MatchingError> {
        let (outer_vertex, inside) = self.label_link[blossom].ok_or(
            MatchingError::BrokenInvariant("an expanding inner blossom has no label edge"),
        )?;
        let root = self.tree_root[blossom];
        let count = children.len();
        let entry = children.iter().position(|&c| c == self.top[inside]).ok_or(
            MatchingError::BrokenInvariant("entry vertex outside the blossom"),
        )?;
        self.label[children[entry]] = Label::Inner;
        self.label_link[children[entry]] = Some((outer_vertex, inside));
        self.tree_root[children[entry]] = root;
        let forward = entry % 2 == 1;
        let (mut index, mut step) = (entry, 1);
        while index != 0 {
            let (next, link) = if forward {
                ((index + 1) % count, links[index])
            } else {
                let (p, q) = links[index - 1];
                (index - 1, (q, p))
            };
            if step % 2 == 1 {
                self.label_outer(children[next], Some(link), root);
            } else {
                self.label[children[next]] = Label::Inner;
                self.label_link[children[next]] = Some(link);
                self.tree_root[children[next]] = root;
            }
            index = next;
            step += 1;
        }
        Ok(())
    }

    /// Unlabelled blossoms whose dual is zero carry no information; dissolving them (and any
    /// zero-dual sub-blossoms) keeps the blossom count low, as Galil does at each stage end.
    pub(super) fn expand_zero_dual_blossoms(&mut self, mut pending: Vec<usize>) {
        while let Some(blossom) = pending.pop() {
            let children = self.children[blossom].clone();
            // Without relabelling, expansion consults no label and cannot fail.
            let _ = self.expand(blossom, false);
            pending.extend(
                children
                    .into_iter()
                    .filter(|&c| c >= self.vertex_count && self.blossom_dual[c] == 0),
            );
        }
    }
}

//! Connected components of the comparison graph (items joined when compared at least once).
//! A graph in several pieces has no common scale: the reference estimator still fits it, but
//! the offsets between the pieces are arbitrary, so callers report the pieces by name.

use super::Comparison;

/// The components among the items that appear in `comparisons`, each as its sorted item
/// indices; components ordered by their smallest item. One entry means connected.
pub fn connected_components(items: usize, comparisons: &[Comparison]) -> Vec<Vec<usize>> {
    let items = comparisons
        .iter()
        .map(|c| c.first.max(c.second) + 1)
        .fold(items, usize::max);
    let mut parent: Vec<usize> = (0..items).collect();
    let mut present = vec![false; items];
    for comparison in comparisons {
        present[comparison.first] = true;
        present[comparison.second] = true;
        let a = root(&mut parent, comparison.first);
        let b = root(&mut parent, comparison.second);
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut components: Vec<Vec<usize>> = Vec::new();
    let mut slot = vec![usize::MAX; items];
    for item in (0..items).filter(|&i| present[i]) {
        let r = root(&mut parent, item);
        if slot[r] == usize::MAX {
            slot[r] = components.len();
            components.push(Vec::new());
        }
        components[slot[r]].push(item);
    }
    components
}

fn root(parent: &mut [usize], mut item: usize) -> usize {
    while parent[item] != item {
        parent[item] = parent[parent[item]];
        item = parent[item];
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_separate_pairs_are_two_components_and_unseen_items_none() {
        let comparisons = [Comparison::decided(0, 1), Comparison::decided(3, 2)];
        assert_eq!(
            connected_components(5, &comparisons),
            vec![vec![0, 1], vec![2, 3]]
        );
    }

    #[test]
    fn a_chain_is_one_component() {
        let comparisons = [
            Comparison::decided(0, 1),
            Comparison::decided(2, 3),
            Comparison::decided(1, 2),
        ];
        assert_eq!(
            connected_components(4, &comparisons),
            vec![vec![0, 1, 2, 3]]
        );
    }
}

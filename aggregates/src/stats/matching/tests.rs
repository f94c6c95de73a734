//! Tests of the matcher: brute-force optima on small graphs, the LP optimality certificate
//! on larger ones, blossom-heavy cases, invalid input and the speed of a dense graph.

use super::*;
use proptest::prelude::*;

fn edge(u: usize, v: usize, weight: f64) -> WeightedEdge {
    WeightedEdge { u, v, weight }
}

/// Exhaustive optimum over all matchings (n ≤ 12).
fn brute_force_weight(vertex_count: usize, edges: &[WeightedEdge]) -> f64 {
    let mut weight = vec![vec![None::<f64>; vertex_count]; vertex_count];
    for e in edges {
        let w = weight[e.u][e.v].map_or(e.weight, |old: f64| old.max(e.weight));
        weight[e.u][e.v] = Some(w);
        weight[e.v][e.u] = Some(w);
    }
    let mut memo = vec![None; 1 << vertex_count];
    fn best(mask: usize, weight: &[Vec<Option<f64>>], memo: &mut [Option<f64>]) -> f64 {
        if mask == 0 {
            return 0.0;
        }
        if let Some(value) = memo[mask] {
            return value;
        }
        let first = mask.trailing_zeros() as usize;
        let rest = mask & !(1 << first);
        let mut value = best(rest, weight, memo);
        for other in 0..weight.len() {
            if rest & (1 << other) != 0 {
                if let Some(w) = weight[first][other] {
                    value = value.max(w + best(rest & !(1 << other), weight, memo));
                }
            }
        }
        memo[mask] = Some(value);
        value
    }
    best((1 << vertex_count) - 1, &weight, &mut memo)
}

fn assert_valid_matching(vertex_count: usize, edges: &[WeightedEdge], mates: &[Option<usize>]) {
    assert_eq!(mates.len(), vertex_count);
    for (v, mate) in mates.iter().enumerate() {
        if let Some(w) = *mate {
            assert_ne!(v, w, "vertex matched to itself");
            assert_eq!(mates[w], Some(v), "mates not symmetric");
            assert!(
                edges
                    .iter()
                    .any(|e| (e.u, e.v) == (v, w) || (e.u, e.v) == (w, v)),
                "matched along a missing edge {v}-{w}"
            );
        }
    }
}

/// Checks the optimality certificate the algorithm leaves behind (on its integer
/// weights): non-negative duals and slacks, tight matched edges, zero duals on free
/// vertices, and full blossoms wherever a blossom dual is positive. Any matching with
/// such duals is a maximum-weight matching (LP duality), whatever the graph size.
fn assert_certificate(solver: &Solver) {
    let n = solver.vertex_count;
    let ancestors = |v: usize| {
        let mut chain = Vec::new();
        let mut current = solver.parent[v];
        while let Some(b) = current {
            chain.push(b);
            current = solver.parent[b];
        }
        chain
    };
    for v in 0..n {
        assert!(solver.vertex_dual[v] >= 0, "negative vertex dual");
        if solver.mate[v].is_none() {
            assert_eq!(solver.vertex_dual[v], 0, "free vertex with positive dual");
        }
    }
    for v in 0..n {
        for &(w, weight) in &solver.adjacency[v] {
            let shared: i64 = ancestors(v)
                .into_iter()
                .filter(|b| ancestors(w).contains(b))
                .map(|b| solver.blossom_dual[b])
                .sum();
            let slack = solver.vertex_dual[v] + solver.vertex_dual[w] - weight + shared;
            assert!(slack >= 0, "negative slack on {v}-{w}");
            if solver.mate[v] == Some(w) {
                let heaviest = solver.adjacency[v]
                    .iter()
                    .filter(|&&(x, _)| x == w)
                    .map(|&(_, wt)| wt)
                    .max();
                if heaviest == Some(weight) {
                    assert_eq!(slack, 0, "matched edge {v}-{w} not tight");
                }
            }
        }
    }
    for b in n..2 * n {
        if solver.in_use[b] {
            assert!(solver.blossom_dual[b] >= 0, "negative blossom dual");
            if solver.blossom_dual[b] > 0 {
                let vertices = solver.blossom_vertices(b);
                let inside = vertices
                    .iter()
                    .filter(|&&v| solver.mate[v].is_some_and(|m| vertices.contains(&m)))
                    .count();
                assert_eq!(
                    inside,
                    vertices.len() - 1,
                    "blossom with positive dual not full"
                );
            }
        }
    }
}

fn solved(vertex_count: usize, edges: &[WeightedEdge]) -> Solver {
    let mut solver = Solver::new(integer_adjacency(vertex_count, edges).unwrap());
    solver.solve().unwrap();
    solver
}

/// Random graphs with a chosen density; weights are very small integers (many ties),
/// wider integers, heavy five-vertex clusters joined by lighter edges (blossoms that
/// later turn inner and must be expanded), or spread-out reals. Blossoms form in about
/// half of the graphs with 6–12 vertices and inner blossoms expand in roughly 6%.
fn graph_strategy(max_vertices: usize) -> impl Strategy<Value = (usize, Vec<WeightedEdge>)> {
    (1..=max_vertices, 0.1f64..=1.0, 0..4_u8, any::<u64>()).prop_map(
        |(n, density, weight_kind, seed)| {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut edges = Vec::new();
            for u in 0..n {
                for v in u + 1..n {
                    if rng.gen::<f64>() < density {
                        let same_cluster = u / 5 == v / 5;
                        let weight = match weight_kind {
                            0 => f64::from(rng.gen_range(1..=3_u32)),
                            1 => f64::from(rng.gen_range(1..=100_u32)),
                            2 if same_cluster => f64::from(rng.gen_range(20..=30_u32)),
                            2 => f64::from(rng.gen_range(1..=25_u32)),
                            _ => rng.gen_range(0.01..100.0),
                        };
                        edges.push(edge(u, v, weight));
                    }
                }
            }
            (n, edges)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn total_weight_equals_brute_force_optimum((n, edges) in graph_strategy(12)) {
        let solver = solved(n, &edges);
        assert_valid_matching(n, &edges, &solver.mate);
        assert_certificate(&solver);
        let found = matching_weight(&edges, &solver.mate);
        let optimum = brute_force_weight(n, &edges);
        prop_assert!((found - optimum).abs() <= 1e-6, "found {found}, optimum {optimum}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn larger_graphs_end_with_an_optimality_certificate((n, edges) in graph_strategy(60)) {
        let solver = solved(n, &edges);
        assert_valid_matching(n, &edges, &solver.mate);
        assert_certificate(&solver);
    }
}

#[test]
fn brute_force_checks_cover_blossom_heavy_graphs() {
    // Odd cycles with a heavy chord structure force shrinking, nested blossoms and
    // expansions of inner blossoms; each is checked against brute force.
    let cases: Vec<(usize, Vec<WeightedEdge>)> = vec![
        (3, vec![edge(0, 1, 6.0), edge(1, 2, 10.0), edge(0, 2, 5.0)]),
        (4, vec![edge(0, 1, 5.0), edge(1, 2, 11.0), edge(2, 3, 5.0)]),
        (
            6,
            vec![
                edge(0, 1, 9.0),
                edge(0, 2, 8.0),
                edge(1, 2, 10.0),
                edge(0, 3, 5.0),
                edge(3, 4, 4.0),
                edge(0, 5, 3.0),
            ],
        ),
        (
            8,
            vec![
                edge(0, 1, 8.0),
                edge(0, 2, 8.0),
                edge(1, 2, 10.0),
                edge(1, 3, 12.0),
                edge(2, 4, 12.0),
                edge(3, 4, 14.0),
                edge(3, 5, 12.0),
                edge(4, 6, 12.0),
                edge(5, 6, 14.0),
                edge(6, 7, 12.0),
            ],
        ),
        (
            10,
            vec![
                edge(0, 1, 45.0),
                edge(0, 4, 45.0),
                edge(1, 2, 50.0),
                edge(2, 3, 45.0),
                edge(3, 4, 50.0),
                edge(0, 5, 30.0),
                edge(2, 8, 35.0),
                edge(3, 7, 35.0),
                edge(4, 6, 26.0),
                edge(8, 9, 5.0),
            ],
        ),
    ];
    for (n, edges) in cases {
        let solver = solved(n, &edges);
        assert_certificate(&solver);
        let found = matching_weight(&edges, &solver.mate);
        assert_eq!(found, brute_force_weight(n, &edges), "graph {edges:?}");
    }
}

#[test]
fn a_heavy_middle_edge_beats_two_light_outer_edges() {
    let edges = [edge(0, 1, 1.0), edge(1, 2, 5.0), edge(2, 3, 1.0)];
    let mates = maximum_weight_matching(4, &edges).unwrap();
    assert_eq!(mates, vec![None, Some(2), Some(1), None]);
}

#[test]
fn non_positive_weights_are_never_matched() {
    let edges = [edge(0, 1, -1.0), edge(2, 3, 0.0)];
    let mates = maximum_weight_matching(4, &edges).unwrap();
    assert!(mates.iter().all(Option::is_none));
}

#[test]
fn extreme_weight_magnitudes_neither_overflow_nor_lose_the_heaviest_edge() {
    let edges = [
        edge(0, 1, 1e-310),
        edge(1, 2, -1e300),
        edge(2, 3, 5e-311),
        edge(3, 0, f64::MAX),
    ];
    let mates = maximum_weight_matching(4, &edges).unwrap();
    assert_eq!(mates[3], Some(0));
    let tiny = [edge(0, 1, 1e-320), edge(1, 2, 3e-320)];
    assert_eq!(maximum_weight_matching(3, &tiny).unwrap()[1], Some(2));
}

#[test]
fn invalid_edges_are_reported_not_panicked_on() {
    assert_eq!(
        maximum_weight_matching(2, &[edge(0, 2, 1.0)]),
        Err(MatchingError::VertexOutOfRange {
            edge: 0,
            vertex: 2,
            vertex_count: 2
        })
    );
    assert_eq!(
        maximum_weight_matching(2, &[edge(1, 1, 1.0)]),
        Err(MatchingError::SelfLoop { edge: 0, vertex: 1 })
    );
    assert_eq!(
        maximum_weight_matching(2, &[edge(0, 1, f64::NAN)]),
        Err(MatchingError::NonFiniteWeight { edge: 0 })
    );
    assert_eq!(maximum_weight_matching(0, &[]), Ok(vec![]));
}

#[test]
fn complete_graph_of_250_is_matched_optimally_and_quickly() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let n = 250;
    let mut edges = Vec::new();
    for u in 0..n {
        for v in u + 1..n {
            edges.push(edge(u, v, rng.gen_range(1.0..2.0)));
        }
    }
    let started = std::time::Instant::now();
    let solver = solved(n, &edges);
    println!(
        "250-vertex complete graph matched in {:?}",
        started.elapsed()
    );
    assert_certificate(&solver);
    assert!(
        solver.mate.iter().all(Option::is_some),
        "weights in [1,2) force a perfect matching"
    );
}

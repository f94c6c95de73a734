//! `cj-assessment fit` as a researcher runs it: the reference values of the Bradley–Terry
//! fit through the real binary, grades with anchors, and clear errors with exit code 2.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fit")
        .join(name)
}

fn fit(args: &[&str]) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cj-assessment"))
        .arg("fit")
        .args(args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        output.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn scores(report: &Value) -> Vec<(String, f64)> {
    report["essays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_scores(report: &Value, expected: &[(&str, f64)]) {
    let actual = scores(report);
    for (id, value) in expected {
        let (_, got) = actual.iter().find(|(a, _)| a == id).expect("essay present");
        assert!((got - value).abs() < 1e-6, "{id}: {got} vs {value}");
    }
}

#[test]
fn reference_values_come_out_of_the_fit_command() {
    let path = fixture("two_essays.csv");
    let (code, report, _) = fit(&["--comparisons", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_scores(&report, &[("e0", 0.542727), ("e1", -0.542727)]);

    let path = fixture("round_robin.jsonl");
    let (code, report, _) = fit(&["--comparisons", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_scores(
        &report,
        &[
            ("e0", -4.316787),
            ("e1", -1.054058),
            ("e2", 1.562342),
            ("e3", 3.808503),
        ],
    );
    assert_eq!(report["essays"][3]["rank"], 1);

    let path = fixture("cycle.csv");
    let (code, report, _) = fit(&["--comparisons", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_scores(
        &report,
        &[("i0", 0.407573), ("i1", -0.409713), ("i2", 0.002141)],
    );
    assert!(report["essays"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["se"].as_f64().unwrap() > 0.0));
}

#[test]
fn anchors_give_students_grades_with_probabilities() {
    let dir = tempdir();
    let comparisons = dir.join("c.csv");
    let anchors = dir.join("a.csv");
    let mut rows = String::from("winner,loser\n");
    // a ladder: A > s_high > B > s_mid > C, each pair decided 3:1
    let ladder = ["A", "s_high", "B", "s_mid", "C"];
    for pair in ladder.windows(2) {
        for _ in 0..3 {
            rows.push_str(&format!("{},{}\n", pair[0], pair[1]));
        }
        rows.push_str(&format!("{},{}\n", pair[1], pair[0]));
    }
    std::fs::write(&comparisons, rows).unwrap();
    std::fs::write(&anchors, "essay_id,grade\nA,A\nB,B\nC,C\n").unwrap();
    let (code, report, stderr) = fit(&[
        "--comparisons",
        comparisons.to_str().unwrap(),
        "--anchors",
        anchors.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let essays = report["essays"].as_array().unwrap();
    let student = essays.iter().find(|e| e["id"] == "s_high").unwrap();
    let total: f64 = student["probabilities"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert!(student["grade"].as_str().unwrap().starts_with(['A', 'B']));
    let anchor = essays.iter().find(|e| e["id"] == "B").unwrap();
    assert_eq!(anchor["anchor_grade"], "B");
    assert!(report["calibration"]["boundaries"].is_array());
    assert!(report["ssr"].is_number());
}

#[test]
fn bad_input_names_the_line_and_exits_2() {
    let dir = tempdir();
    let cases = [
        ("self.csv", "winner,loser\na,b\nc,c\n", "self.csv:3"),
        ("columns.csv", "winner,looser\na,b\n", "unknown column"),
        ("empty.csv", "", "empty"),
        (
            "bad.jsonl",
            "{\"winner\":\"a\",\"loser\":\"b\"}\n{\"winner\":\"a\"}\n",
            "bad.jsonl:2",
        ),
    ];
    for (name, content, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let (code, _, stderr) = fit(&["--comparisons", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cj-fit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

//! The table-ownership guard: every table's SQL lives in the files that own it; everyone
//! else calls their functions.
//!
//! # The rule
//!
//! Each table and view the migrations create has a **home**: the files that write it
//! (`INSERT INTO`, `UPDATE`, `DELETE FROM`, `TRUNCATE`) and the files that may read it
//! (`FROM`, `JOIN`). A projection's table is written by its projection's file alone and read
//! only inside the read side (`projections/src/`), whose modules may join each other's
//! tables; the service and the lab read it through those modules' functions. Two tables
//! have a declared second party, each under a contract written in the owner's header:
//! `cj_dispatch_queue`'s lease columns are written by `src/dispatcher/queue.rs`
//! (`cj_projections::dispatch_queue`), and `cj_outbox` is read by the relay, which records
//! what it published in a table of its own (`cj_projections::outbox::projection`).
//!
//! A table added by a migration without a home here fails the guard. Comment lines are
//! skipped; SQL is matched on its upper-case keywords, whitespace collapsed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Where a table's SQL may appear: path prefixes relative to the workspace root.
struct Home {
    table: &'static str,
    writers: &'static [&'static str],
    readers: &'static [&'static str],
}

/// The read side: its modules own the projection tables and may join them.
const READ_SIDE: &str = "projections/src/";

const HOMES: &[Home] = &[
    Home {
        table: "events",
        writers: &["src/store/"],
        readers: &["projections/src/log.rs", "projections/src/lag.rs"],
    },
    Home {
        table: "projector_checkpoints",
        writers: &["projections/src/checkpoint.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_batch_states",
        writers: &["projections/src/batch_states.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_comparison_pairs",
        writers: &["projections/src/comparison_pairs.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_essays",
        writers: &["projections/src/essays.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "grade_projections",
        writers: &["projections/src/grade_projections.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_assignment_scales",
        writers: &["projections/src/assignment_scales.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_batch_monitoring",
        writers: &[],
        readers: &["projections/src/monitoring.rs"],
    },
    Home {
        table: "cj_dispatch_batches",
        writers: &["projections/src/dispatch_queue.rs"],
        readers: &[READ_SIDE, "src/dispatcher/queue.rs"],
    },
    Home {
        table: "cj_dispatch_texts",
        writers: &["projections/src/dispatch_queue.rs"],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_dispatch_queue",
        writers: &[
            "projections/src/dispatch_queue.rs",
            "src/dispatcher/queue.rs",
        ],
        readers: &[READ_SIDE],
    },
    Home {
        table: "cj_outbox",
        writers: &["projections/src/outbox/projection.rs"],
        readers: &[READ_SIDE, "src/outbox_relay/rows.rs"],
    },
    Home {
        table: "cj_outbox_published",
        writers: &["src/outbox_relay/rows.rs"],
        readers: &[],
    },
    Home {
        table: "cj_content",
        writers: &["src/content/store.rs"],
        readers: &[],
    },
    Home {
        table: "cj_assessment_instructions",
        writers: &["src/registry/instructions.rs"],
        readers: &[],
    },
    Home {
        table: "cj_anchor_essays",
        writers: &["src/registry/anchors.rs"],
        readers: &[],
    },
];

/// The crates' sources scanned; integration tests set up their own rows and are not.
const SOURCES: &[&str] = &["src", "projections/src", "aggregates/src", "contracts/src"];

const WRITES: &[&str] = &[
    "INSERT INTO",
    "UPDATE",
    "DELETE FROM",
    "TRUNCATE",
    "TRUNCATE TABLE",
];
const READS: &[&str] = &["FROM", "JOIN"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comment lines, every run of whitespace one space.
fn flattened(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `code` has `keyword table` with `table` a whole name.
fn names(code: &str, keywords: &[&str], table: &str) -> bool {
    keywords.iter().any(|keyword| {
        let needle = format!("{keyword} {table}");
        code.match_indices(&needle).any(|(at, _)| {
            let before = code[..at].chars().next_back();
            let after = code[at + needle.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !ident(before) && !ident(after)
        })
    })
}

fn allowed(relative: &str, homes: &[&str]) -> bool {
    homes.iter().any(|home| relative.starts_with(home))
}

/// Every breach in one file, as messages.
fn breaches(relative: &str, source: &str) -> Vec<String> {
    let code = flattened(source);
    let mut found = Vec::new();
    for home in HOMES {
        if names(&code, WRITES, home.table) && !allowed(relative, home.writers) {
            found.push(format!("{relative} writes {} outside its home", home.table));
        }
        let readers: Vec<&str> = home.writers.iter().chain(home.readers).copied().collect();
        if names(&code, READS, home.table) && !allowed(relative, &readers) {
            found.push(format!("{relative} reads {} outside its home", home.table));
        }
    }
    found
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Names of the tables and views the migrations create.
fn migrated_tables() -> BTreeSet<String> {
    let mut tables = BTreeSet::new();
    for entry in fs::read_dir(workspace().join("migrations")).unwrap() {
        let sql = fs::read_to_string(entry.unwrap().path()).unwrap();
        let words: Vec<&str> = sql.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            if *word == "TABLE" || *word == "VIEW" {
                let created = words[..i].ends_with(&["CREATE"])
                    || words[..i].ends_with(&["CREATE", "OR", "REPLACE"]);
                if created {
                    let mut name = words.get(i + 1).copied().unwrap_or_default();
                    if name == "IF" {
                        name = words.get(i + 4).copied().unwrap_or_default();
                    }
                    tables.insert(name.trim_end_matches('(').to_string());
                }
            }
        }
    }
    tables
}

#[test]
fn every_migrated_table_has_a_home() {
    let tables = migrated_tables();
    assert!(tables.contains("cj_batch_states"), "{tables:?}");
    let homeless: Vec<&String> = tables
        .iter()
        .filter(|table| HOMES.iter().all(|home| home.table != table.as_str()))
        .collect();
    assert!(homeless.is_empty(), "tables without a home: {homeless:?}");
}

#[test]
fn table_sql_lives_in_its_home() {
    let root = workspace();
    let mut files = Vec::new();
    for source in SOURCES {
        rust_files(&root.join(source), &mut files);
    }
    let found: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let relative = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            breaches(&relative, &fs::read_to_string(file).unwrap())
        })
        .collect();
    assert!(
        found.is_empty(),
        "SQL outside its table's home (call the owner's function instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_guard_sees_sql_split_over_lines_and_whole_names_only() {
    let inline = "let n = sqlx::query(\"SELECT count(*)\n   FROM   cj_batch_states\").fetch();";
    assert_eq!(
        breaches("src/commands/serve.rs", inline),
        ["src/commands/serve.rs reads cj_batch_states outside its home"]
    );
    let write = "const W: &str = \"DELETE FROM cj_dispatch_queue WHERE x\";";
    assert_eq!(breaches("src/monitor/sweep.rs", write).len(), 2);
    assert!(breaches("src/dispatcher/queue.rs", "\"UPDATE cj_dispatch_queue q\"").is_empty());
    let longer_name = "\"SELECT 1 FROM cj_outbox_published p\"";
    assert!(breaches("src/outbox_relay/rows.rs", longer_name).is_empty());
    assert!(breaches("src/http/mod.rs", "// reads FROM cj_essays in a comment").is_empty());
}

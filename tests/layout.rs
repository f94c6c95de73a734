//! The layout guard: production code does not stand on the lab.
//!
//! # The rule
//!
//! The **lab** is `src/lab/`: what demonstrates, measures and drives the service from
//! outside (simulation, simulated provider, harness, runner, benchmarks, and the `demo`,
//! `simulate`, `bench`, `run-eng5` and `llm-sim` commands). The **CLI dispatch** is
//! `src/main.rs` and `src/cli.rs`; the **operator commands** are `src/commands/`.
//! Everything else under `src/` is **production**.
//!
//! 1. No file outside the lab and the CLI dispatch names the lab — by `crate::`,
//!    `cj_assessment::` or `super::` path, inline or in a (possibly multi-line) `use` tree.
//!    An operator command does not borrow from `demo` or `simulate` either.
//! 2. No production file names `crate::commands`: the arrows point from the commands down
//!    into the service, never back up.
//!
//! The lab may use anything. `lib.rs` declares the lab (`pub mod lab;` is a declaration,
//! not a path, so it passes). Comments (`//`, `///`, `//!`, `/* */`) and string literals
//! are blanked before the scan, so a doc link or a log message naming the lab is not an
//! import. `super::` resolves against the file's module, which is exact for a file's items
//! and one level off inside an inline module (`mod tests`): the guard may then see a path
//! one module too high, never miss a lab path it can name.

use std::fs;
use std::path::{Path, PathBuf};

/// The lab's module, directly under the crate root.
const LAB: &str = "lab";
/// Files that dispatch to every command, lab ones included.
const DISPATCH: &[&str] = &["main.rs", "cli.rs"];

/// A `.rs` file's module path inside the crate: `src/store/mod.rs` → `[store]`,
/// `src/lab/commands/demo.rs` → `[lab, commands, demo]`, `src/lib.rs` → `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().expect("a file name");
    let stem = file.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

fn is_lab(module: &[String]) -> bool {
    module.first().is_some_and(|first| first == LAB)
}

fn is_dispatch(relative: &Path) -> bool {
    DISPATCH.iter().any(|file| relative == Path::new(file))
}

fn is_command(module: &[String]) -> bool {
    module.first().is_some_and(|first| first == "commands")
}

/// The source with comments, string and char literals replaced by spaces (newlines kept,
/// so offsets still map to lines).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && starts_raw_string(&chars, i)
        {
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            let body = i + 2 + hashes;
            let mut end = body;
            while end < chars.len()
                && !(chars[end] == '"'
                    && chars[end + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes)
            {
                end += 1;
            }
            let stop = (end + 1 + hashes).min(chars.len());
            chars[i..stop].iter().for_each(|&ch| blank(&mut out, ch));
            i = stop;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('a', '\n', '\u{..}'); a lifetime ('a) has no closing quote.
            // Past the quote and the first char (both, for an escape: '\'' holds a quote).
            let mut end = if next == Some('\\') { i + 3 } else { i + 2 };
            while end < chars.len() && chars[end] != '\'' {
                end += 1;
            }
            let stop = (end + 1).min(chars.len());
            chars[i..stop].iter().for_each(|&ch| blank(&mut out, ch));
            i = stop;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `r"…"` or `r#"…"#` starting at `i`, and not the tail of an identifier (`for"`, `bar#`).
fn starts_raw_string(chars: &[char], i: usize) -> bool {
    let after_hashes = chars[i + 1..].iter().find(|&&h| h != '#');
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    after_hashes == Some(&'"') && (i == 0 || !is_ident(chars[i - 1]))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Other,
}

/// Tokens with their line numbers (1-based).
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            out.push((
                Token::Ident(ident.trim_start_matches("r#").to_string()),
                line,
            ));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            let token = match c {
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                _ => Token::Other,
            };
            out.push((token, line));
            i += 1;
        }
    }
    out
}

/// Every path rooted at `crate`, `cj_assessment` or `super`, flattened out of `use` trees,
/// resolved to crate-absolute segments, each with the line of its last segment.
fn crate_paths(tokens: &[(Token, usize)], module: &[String]) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let root = match &tokens[i].0 {
            Token::Ident(name) if matches!(name.as_str(), "crate" | "cj_assessment" | "super") => {
                name.clone()
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let preceded_by_path = i > 0 && tokens[i - 1].0 == Token::PathSep;
        if preceded_by_path || tokens.get(i + 1).map(|t| &t.0) != Some(&Token::PathSep) {
            i += 1;
            continue;
        }
        let mut prefix: Vec<String> = match root.as_str() {
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => Vec::new(),
        };
        let mut j = i + 2;
        // Further `super::` hops.
        while let (Some((Token::Ident(name), _)), Some((Token::PathSep, _))) =
            (tokens.get(j), tokens.get(j + 1))
        {
            if name != "super" {
                break;
            }
            prefix.pop();
            j += 2;
        }
        let line = tokens[i].1;
        i = parse_tree(tokens, j, prefix, line, &mut found);
    }
    found
}

/// Parses one use-tree (or an inline path) at `i` under `prefix`; returns the index after it.
fn parse_tree(
    tokens: &[(Token, usize)],
    mut i: usize,
    mut prefix: Vec<String>,
    mut line: usize,
    found: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    loop {
        match tokens.get(i) {
            Some((Token::Ident(name), at)) => {
                if name != "self" {
                    prefix.push(name.clone());
                }
                line = *at;
                i += 1;
                if tokens.get(i).map(|t| &t.0) == Some(&Token::PathSep) {
                    i += 1;
                    continue;
                }
                found.push((prefix, line));
                return i;
            }
            Some((Token::Open, _)) => {
                i += 1;
                while i < tokens.len() {
                    match tokens[i].0 {
                        Token::Close => return i + 1,
                        Token::Comma => i += 1,
                        _ => {
                            let before = i;
                            i = parse_tree(tokens, i, prefix.clone(), tokens[i].1, found);
                            // `as name` and anything else up to the next `,` or `}`.
                            while i < tokens.len()
                                && !matches!(tokens[i].0, Token::Comma | Token::Close)
                            {
                                i += 1;
                            }
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
                return i;
            }
            _ => {
                // `*` or the end of the path.
                found.push((prefix, line));
                return i;
            }
        }
    }
}

/// What is wrong with naming `path` (crate-absolute) from a file at `module`, if anything.
fn violation(path: &[String], module: &[String], dispatch: bool) -> Option<String> {
    let joined = path.join("::");
    match path {
        [first, ..] if first == LAB && !dispatch => {
            Some(format!("production code names the lab: `{joined}`"))
        }
        [first, ..] if first == "commands" && !dispatch && !is_command(module) => Some(format!(
            "`{}` reaches up into the commands: `{joined}`",
            module.join("::")
        )),
        _ => None,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// Every violation in one file's source, as `line: message`.
fn check_source(relative: &Path, source: &str) -> Vec<(usize, String)> {
    let module = module_path(relative);
    if is_lab(&module) {
        return Vec::new();
    }
    let dispatch = is_dispatch(relative);
    let tokens = tokens(&code_only(source));
    crate_paths(&tokens, &module)
        .into_iter()
        .filter_map(|(path, line)| {
            violation(&path, &module, dispatch).map(|message| (line, message))
        })
        .collect()
}

#[test]
fn production_code_does_not_import_the_lab() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "src/ should hold the crate's files");
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("a file under src/");
        let source = fs::read_to_string(file).expect("a readable source file");
        for (line, message) in check_source(relative, &source) {
            violations.push(format!("src/{}:{line}: {message}", relative.display()));
        }
    }
    assert!(
        violations.is_empty(),
        "production modules import lab code or reach up into the commands \
         (see tests/layout.rs for the rule):\n{}",
        violations.join("\n")
    );
}

fn caught(file: &str, source: &str) -> Vec<usize> {
    check_source(Path::new(file), source)
        .into_iter()
        .map(|(line, _)| line)
        .collect()
}

#[test]
fn the_guard_catches_every_form_of_path() {
    let source = "\
use crate::lab::simulation::content_store::sha256_hex;
use crate::{
    clock::Clock,
    lab::bench::{self, BenchEnvironment},
};
use super::super::lab::runner::follow;
const X: u32 = crate::commands::serve::DEFAULT;
fn f() { cj_assessment::lab::harness::spawn(); }
use crate::{lab};
";
    assert_eq!(caught("store/x.rs", source), vec![1, 4, 4, 6, 7, 8, 9]);
}

#[test]
fn the_guard_is_not_fooled_by_comments_or_strings() {
    let source = "\
//! Uses [`crate::lab::simulation::driver`].
/// See `crate::lab::commands::demo`.
// use crate::lab::simulation::content_store::sha256_hex;
/* use crate::lab::bench; */
const NOTE: &str = \"crate::lab::runner::follow\";
const RAW: &str = r#\"crate::lab \"quoted\"\"#;
fn f<'a>(x: &'a str) -> [char; 2] { let _ = x; ['c', '\\''] }
use crate::store::CommandMetadata; // not crate::lab::harness
use crate::laboratory::Other;
";
    assert_eq!(caught("store/x.rs", source), Vec::<usize>::new());
}

#[test]
fn the_cli_and_the_lab_have_their_own_rules() {
    let dispatch = "use crate::commands::{anchors, serve};\nuse crate::lab::commands::demo;\n";
    assert!(caught("cli.rs", dispatch).is_empty());
    // An operator command may use its sibling helpers, not a lab command or lab module.
    let operator = "use super::progress::Progress;\nuse crate::lab::commands::demo::grade_position;\nuse crate::lab::simulation::judge;\n";
    assert_eq!(caught("commands/replay.rs", operator), vec![2, 3]);
    let lab = "use super::demo::grade_position;\nuse crate::commands::progress::Progress;\n";
    assert!(caught("lab/commands/simulate.rs", lab).is_empty());
    // A production module may not reach up into the commands at all.
    assert_eq!(
        caught("config.rs", "use crate::commands::serve::X;\n"),
        vec![1]
    );
}

//! The test suite stays one binary: cargo would build a new `tests/*.rs`
//! file as a binary of its own (minutes of linking on CI), and would never
//! compile a file in `tests/it/` that `main.rs` does not declare (a test
//! that silently never runs).

use std::path::Path;

const TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");

/// File names in `dir` ending in `.rs`, sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    names.sort();
    names
}

#[test]
fn no_test_file_is_a_binary_of_its_own() {
    let loose = rust_files(Path::new(TESTS));
    assert!(
        loose.is_empty(),
        "move {loose:?} to tests/it/ and declare it in tests/it/main.rs"
    );
    let other_binaries: Vec<String> = std::fs::read_dir(TESTS)
        .expect("tests/")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("main.rs").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name != "it")
        .collect();
    assert!(
        other_binaries.is_empty(),
        "tests/{other_binaries:?}/main.rs is a second test binary: make it a module of tests/it/"
    );
}

#[test]
fn every_file_in_the_crate_is_declared() {
    let declared: Vec<String> = include_str!("main.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .map(|name| format!("{name}.rs"))
        .collect();
    let dir = Path::new(TESTS).join("it");
    let undeclared: Vec<String> = rust_files(&dir)
        .into_iter()
        .filter(|name| name != "main.rs" && !declared.contains(name))
        .collect();
    assert!(
        undeclared.is_empty(),
        "tests/it/main.rs does not declare {undeclared:?}: add `mod <name>;` or they never run"
    );
}

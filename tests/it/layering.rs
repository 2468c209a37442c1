//! Dependencies point one way. Each top-level module of `src/` sits in a
//! layer, and a file may import (`crate::x`) only its own module or a module
//! of a layer below; so no module can reach one above it, and no two can
//! import each other. A module missing from [`LAYERS`] fails too: a new
//! module is placed on purpose, not by accident.

use std::collections::BTreeSet;
use std::path::Path;

/// Lowest first. `app` alone knows the whole application.
const LAYERS: &[&[&str]] = &[
    &[
        "problem", "config", "shutdown", "memory", "origin", "text", "hub",
    ],
    &["connections", "limits", "chat", "learner_table"],
    &["backplane"],
    &["feed", "traffic"],
    &["drops"],
    &["transports"],
    &["lab", "grader"],
    &["lessons"],
    &["storage"],
    &["app"],
];

/// Files of the crate root that are not modules of a layer.
const ROOT_FILES: &[&str] = &["lib", "main", "bin"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules a piece of Rust source names with `crate::`
/// (paths and `use crate::{a, b::c}` groups); comments are skipped.
fn imported_modules(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = after;
    }
    found
}

/// `(file, its top-level module)` for every `.rs` file under `dir`.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src");
            let first = relative.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            out.push((relative.display().to_string(), module));
        }
    }
}

/// Every import that breaks the layering, as "file imports module".
fn violations(files: &[(String, String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (file, module, source) in files {
        if ROOT_FILES.contains(&module.as_str()) {
            continue;
        }
        let Some(own) = layer_of(module) else {
            found.push(format!(
                "{file}: module `{module}` is in no layer of LAYERS"
            ));
            continue;
        };
        for imported in imported_modules(source) {
            if imported == *module {
                continue;
            }
            match layer_of(&imported) {
                Some(layer) if layer < own => {}
                Some(_) => found.push(format!(
                    "{file} imports `{imported}`, which is not below `{module}`"
                )),
                // Not a module of the crate (e.g. `crate::Config`, a re-export).
                None => {}
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut listed = Vec::new();
    rust_files(&src, &src, &mut listed);
    let files: Vec<(String, String, String)> = listed
        .into_iter()
        .map(|(file, module)| {
            let source = std::fs::read_to_string(src.join(&file)).expect("readable");
            (file, module, source)
        })
        .collect();
    let broken = violations(&files);
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_sees_an_upward_import_and_a_module_without_a_layer() {
    let file = |path: &str, module: &str, source: &str| {
        (path.to_owned(), module.to_owned(), source.to_owned())
    };
    let upward = file(
        "transports/sse.rs",
        "transports",
        "use crate::hub::Hub;\nuse crate::{problem, app::state::AppState};",
    );
    assert_eq!(
        violations(&[upward]),
        ["transports/sse.rs imports `app`, which is not below `transports`"]
    );
    let commented = file(
        "lab/mod.rs",
        "lab",
        "// see crate::lessons\nuse crate::traffic::Tap;",
    );
    assert!(violations(&[commented]).is_empty());
    let sideways = file("lab/x.rs", "lab", "fn f() { crate::grader::run() }");
    assert_eq!(violations(&[sideways]).len(), 1);
    let stray = file("extra.rs", "extra", "");
    assert_eq!(violations(&[stray]).len(), 1);
}

//! The module layers of shared/DESIGN.md, checked on the source: every top-level module of
//! `src/` has a layer, imports only modules of its own layer or below, and no modules import
//! each other in a cycle. A new module fails this test until it is given its layer here.

#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, bottom first.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation",
        &[
            "error",
            "config",
            "db",
            "keyfile",
            "integrity",
            "core",
            "metrics",
            "ratelimit",
            "telemetry",
            "events",
        ],
    ),
    ("verification", &["auth"]),
    (
        "storage domains",
        &["audit", "users", "tenants", "fields", "files", "apps"],
    ),
    ("use cases", &["signin", "session", "profiles", "seed"]),
    ("surfaces", &["graphql", "http", "web"]),
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no layer in tests/layers.rs"))
}

/// Top-level modules of the library and the modules each one names as `crate::…`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut used = BTreeSet::new();
        for file in rust_files(&path) {
            used.extend(crate_paths(&std::fs::read_to_string(file).unwrap()));
        }
        used.remove(&name);
        graph.insert(name, used);
    }
    // Items of the crate root (`crate::AppState`) are the composition root, not a module.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for used in graph.values_mut() {
        used.retain(|name| modules.contains(name));
    }
    graph
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    std::fs::read_dir(path)
        .unwrap()
        .flat_map(|entry| rust_files(&entry.unwrap().path()))
        .filter(|file| file.extension().is_some_and(|ext| ext == "rs"))
        .collect()
}

/// Module names after `crate::` (also inside `crate::{a, b::c}`), outside line comments.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    for (start, _) in code.match_indices("crate::") {
        let rest = &code[start + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            names.extend(top_level_items(group).filter_map(|part| ident(part.trim_start())));
        } else if let Some(name) = ident(rest) {
            names.insert(name);
        }
    }
    names
}

/// The comma-separated items of a `{…}` group up to its closing brace, nested groups whole.
fn top_level_items(group: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0;
    let mut items = Vec::new();
    let mut start = 0;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..at]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.into_iter()
}

fn ident(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn no_module_imports_one_above_it() {
    let mut upward = Vec::new();
    for (module, used) in imports() {
        for dependency in used {
            if layer_of(&dependency) > layer_of(&module) {
                upward.push(format!(
                    "{module} ({}) imports {dependency} ({})",
                    LAYERS[layer_of(&module)].0,
                    LAYERS[layer_of(&dependency)].0
                ));
            }
        }
    }
    assert!(upward.is_empty(), "imports against the layers: {upward:#?}");
}

#[test]
fn no_modules_import_each_other_in_a_cycle() {
    let graph = imports();
    for start in graph.keys() {
        // Every module reachable from `start`; a path back to it is a cycle.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Vec<&str>> = vec![vec![start.as_str()]];
        while let Some(path) = stack.pop() {
            let last = *path.last().unwrap();
            for next in graph.get(last).into_iter().flatten() {
                assert!(
                    next != start,
                    "module cycle: {} -> {start}",
                    path.join(" -> ")
                );
                if seen.insert(next.as_str()) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
}

#[test]
fn the_scanner_sees_grouped_and_nested_imports() {
    let found = crate_paths(
        "use crate::{tenants::{a, b}, users::get};\n// crate::ignored\nlet x = crate::fields::f();",
    );
    assert_eq!(
        found,
        ["fields", "tenants", "users"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

//! The floor plan, checked: every `crate::` path in `src/` (outside tests and the binary) is read, each
//! file is placed in its layer by its folder, and a layer may use only the layers below it. The core
//! (`protocol`, `image`, `types`, `rpc`, `session`, `api`, `face`) never uses a face, and no two files
//! use each other, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

/// Each top-level module of the library and the modules it may use, lowest layers first.
const ALLOWED: &[(&str, &[&str])] = &[
    ("protocol", &[]),
    ("image", &[]),
    ("types", &["image"]),
    ("rpc", &["protocol"]),
    ("session", &["types", "rpc", "protocol", "image"]),
    ("api", &["session", "types", "image"]),
    ("face", &["api", "types", "image"]),
    (
        "bridge",
        &["face", "api", "types", "image", "rpc", "protocol"],
    ),
    ("mcp", &["face", "api", "types", "image"]),
    ("http", &["face", "api", "types", "image"]),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            if !path.ends_with("bin") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/session/live.rs` is `session::live`, `src/rpc/mod.rs` is `rpc`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The `crate::a::b` paths a file's non-test code names, as module paths as deep as `depth`.
fn uses(text: &str, depth: usize) -> BTreeSet<Vec<String>> {
    // Unit tests may reach anywhere; only the code that ships is held to the layers.
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let path: Vec<String> = rest
            .split("::")
            .map(|seg| {
                seg.chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|seg| !seg.is_empty())
            .take(depth)
            .collect();
        if !path.is_empty() {
            found.insert(path);
        }
    }
    found
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if module.is_empty() {
            continue; // lib.rs: the re-exports
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let targets = uses(&text, module.len().max(2));
        graph.insert(module, targets);
    }
    graph
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, targets) in graph() {
        let top = module[0].as_str();
        let Some(may) = allowed.get(top) else {
            wrong.push(format!(
                "src/{top} is not in the floor plan (ALLOWED in this test)"
            ));
            continue;
        };
        for target in targets {
            let to = target[0].as_str();
            if to != top && !may.contains(&to) {
                wrong.push(format!(
                    "{} uses crate::{}",
                    module.join("::"),
                    target.join("::")
                ));
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

/// No file uses another that uses it back, directly or through others: each file can be read
/// knowing only the ones below it.
#[test]
fn no_two_files_use_each_other() {
    let graph = graph();
    let files: BTreeSet<&Vec<String>> = graph.keys().collect();
    // A use of `crate::a::b::Item` points at the file `a::b` (or `a` when `a::b` is an item of `a`).
    let edges: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = graph
        .iter()
        .map(|(from, targets)| {
            let to = targets
                .iter()
                .filter_map(|t| {
                    (1..=t.len())
                        .rev()
                        .map(|n| t[..n].to_vec())
                        .find_map(|p| files.get(&p).copied())
                })
                .filter(|to| *to != from)
                .collect();
            (from, to)
        })
        .collect();
    let mut cycles = Vec::new();
    for start in edges.keys() {
        // Every file reachable from `start`; a cycle exists when `start` is among them.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Vec<String>> = edges[start].iter().copied().collect();
        while let Some(next) = stack.pop() {
            if seen.insert(next) {
                stack.extend(edges.get(next).into_iter().flatten().copied());
            }
        }
        if seen.contains(start) {
            cycles.push(start.join("::"));
        }
    }
    assert_eq!(cycles, Vec::<String>::new(), "files on an import cycle");
}

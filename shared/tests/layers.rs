//! The shared crate's layers (ARCHITECTURE.md): each module may use modules of its own layer or
//! below, never above, and no modules use each other in a circle. Read from the source, so a new
//! `use` that breaks the order fails here.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};

/// Every module of `shared/src`, lowest layer first. A module missing here fails the test.
const LAYERS: [(&str, &[&str]); 5] = [
    (
        "types",
        &[
            "lib", "error", "phone", "values", "model", "ncco", "request",
        ],
    ),
    ("config", &["config"]),
    (
        "adapters",
        &[
            "aws",
            "ports",
            "store",
            "stream",
            "vonage",
            "files",
            "signature",
            "seal",
            "sms_signature",
            "hook",
            "secrets",
            "scheduler",
            "table",
            "telemetry",
        ],
    ),
    // `domain/x.rs` is checked as `domain::x`, so the use cases cannot form a circle either.
    ("domain", &["domain"]),
    ("http kit", &["http", "problem", "runtime"]),
];

fn layer_of(module: &str) -> usize {
    let module = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
        .unwrap_or_else(|| {
            panic!("module {module} is in no layer: add it to LAYERS and ARCHITECTURE.md")
        })
}

/// The modules each module of `shared/src` names through `crate::`, comments left out.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = format!("{}/src", env!("CARGO_MANIFEST_DIR"));
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![std::path::PathBuf::from(&src)];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        // `store/numbers.rs` belongs to `store`; `bin/*` are tools, above every layer.
        let relative = path.strip_prefix(&src).unwrap();
        let mut parts = relative
            .components()
            .map(|c| c.as_os_str().to_str().unwrap());
        let first = parts.next().unwrap();
        if first == "bin" {
            continue;
        }
        let mut module = first.trim_end_matches(".rs").to_owned();
        if module == "domain"
            && let Some(file) = parts.next()
            && file != "mod.rs"
        {
            module = format!("domain::{}", file.trim_end_matches(".rs"));
        }
        let deps = found.entry(module.clone()).or_default();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let code = line.split("//").next().unwrap();
            for (i, _) in code.match_indices("crate::") {
                let mut name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let after = &code[i + 7 + name.len()..];
                // `crate::now()` and the like are the crate root's own items.
                let is_module =
                    after.starts_with("::") || after.starts_with(['{', ';', ',', ' ', '}']);
                if name == "domain"
                    && let Some(rest) = after.strip_prefix("::")
                {
                    let sub: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    // `crate::domain::Retention` is the domain root's own item.
                    if sub.starts_with(|c: char| c.is_ascii_lowercase()) {
                        name = format!("domain::{sub}");
                    }
                }
                if name != module && is_module && !name.is_empty() {
                    deps.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn no_module_uses_a_higher_layer() {
    let imports = imports();
    let mut wrong = Vec::new();
    for (module, deps) in &imports {
        for dep in deps {
            if !imports.contains_key(dep) {
                continue; // a root item such as `crate::now`
            }
            if layer_of(dep) > layer_of(module) {
                wrong.push(format!(
                    "{module} ({}) uses {dep} ({})",
                    LAYERS[layer_of(module)].0,
                    LAYERS[layer_of(dep)].0
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "lower layers use higher ones: {wrong:#?}");
}

#[test]
fn no_modules_use_each_other_in_a_circle() {
    let imports = imports();
    // Depth-first search from every module; a module met again on the current path is a circle.
    fn visit(
        m: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut circle = path[at..].to_vec();
            circle.push(m.to_owned());
            return Some(circle);
        }
        if !done.insert(m.to_owned()) {
            return None;
        }
        path.push(m.to_owned());
        for dep in imports.get(m).into_iter().flatten() {
            if imports.contains_key(dep)
                && let Some(circle) = visit(dep, imports, path, done)
            {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in imports.keys() {
        if let Some(circle) = visit(module, &imports, &mut Vec::new(), &mut done) {
            panic!(
                "modules use each other in a circle: {}",
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn every_module_has_a_layer() {
    for module in imports().keys() {
        layer_of(module);
    }
}

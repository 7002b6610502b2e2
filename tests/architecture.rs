//! The shape of `src/` that `docs/ARCHITECTURE.md` promises: no two top-level
//! modules name each other (no cycles of two), and the call core stays
//! sans-IO (it names no thread, socket, lock, async runtime or clock).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Top-level module of `src/` → the other top-level modules its files name
/// as `crate::<module>`.
fn module_refs() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let entry = refs.entry(module.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                entry.insert(name);
            }
        }
    }
    refs
}

#[test]
fn no_two_modules_of_src_import_each_other() {
    let refs = module_refs();
    assert!(
        refs.contains_key("calls") && refs.contains_key("api"),
        "{refs:?}"
    );
    let mut cycles = Vec::new();
    for (a, deps) in &refs {
        for b in deps {
            if a < b && refs.get(b).is_some_and(|d| d.contains(a)) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules importing each other: {cycles:?}"
    );
}

#[test]
fn the_sans_io_cores_do_no_io() {
    let refs = module_refs();
    for core in ["calls", "callmodel", "registrar", "contact"] {
        for io in ["runtime", "api", "live", "serve", "sip_driver", "recording"] {
            assert!(
                !refs[core].contains(io),
                "the sans-IO {core} names crate::{io}"
            );
        }
    }
    let mut files = Vec::new();
    for core in ["src/calls", "src/callmodel", "src/contact"] {
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(core),
            &mut files,
        );
    }
    for file in files {
        if file.ends_with("tests.rs") || file.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // A file's unit tests may read the clock to start a simulated one.
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for io in [
            "tokio::",
            "std::thread",
            "UdpSocket",
            "Mutex",
            "Instant::now",
            "SystemTime",
            "async fn",
            ".await",
        ] {
            assert!(
                !text.contains(io),
                "{} uses {io}: the cores are sans-IO",
                file.display()
            );
        }
    }
}

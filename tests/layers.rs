//! The layers point one way (`ui`/`app` → `model` → `net` → `proto`; `i18n` beside `model`,
//! below it; the command line beside the UI, not on it): each file of a layer may name only
//! the layers below it. Within `net`, the OS layer (`net/sys`) names nothing of the portable
//! `net::kernel` built on it; within `ui`, no panel names another. Read from the sources, so
//! a stray `use` fails here, not in review.

use std::path::Path;

/// What files under `dir` (or the file `dir` itself) must not name, as `crate::X`.
const RULES: &[(&str, &[&str])] = &[
    (
        "src/proto",
        &["net", "model", "i18n", "ui", "app", "cli", "fonts"],
    ),
    ("src/net", &["model", "i18n", "ui", "app", "cli", "fonts"]),
    // The OS layer owns its data types: it reports to `net::kernel`, never the reverse too.
    ("src/net/sys", &["net::kernel"]),
    ("src/lab", &["model", "i18n", "ui", "app", "cli", "fonts"]),
    ("src/i18n", &["model", "ui", "app", "cli"]),
    ("src/model", &["ui", "app", "cli"]),
    ("src/cli", &["ui", "app"]),
];

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(path).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn layers_point_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for (dir, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        assert!(!files.is_empty(), "{dir} has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for layer in *forbidden {
                    if code.contains(&format!("crate::{layer}::"))
                        || code.contains(&format!("crate::{layer};"))
                        || (code.contains("use crate::{") && code.contains(layer))
                    {
                        broken.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layers:\n{}",
        broken.join("\n")
    );
}

#[test]
fn net_and_proto_know_nothing_of_egui() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["src/net", "src/proto", "src/lab"] {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                assert!(
                    !code.contains("egui") && !code.contains("eframe"),
                    "{}:{}: {}",
                    file.display(),
                    n + 1,
                    line.trim()
                );
            }
        }
    }
}

/// No panel imports another panel: what two panels share lives in the shared UI modules
/// (widgets, plumbing, frame) or below the UI (model, proto).
#[test]
fn no_panel_imports_another() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    // A panel is `src/ui/NAME_panel.rs` or a folder `src/ui/NAME_panel/` of files.
    let mut panels: Vec<(String, Vec<std::path::PathBuf>)> = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if let Some(panel) = name.strip_suffix(".rs").filter(|n| n.ends_with("_panel")) {
            panels.push((panel.to_owned(), vec![path]));
        } else if name.ends_with("_panel") && path.is_dir() {
            let files = std::fs::read_dir(&path)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "rs"))
                .collect();
            panels.push((name, files));
        }
    }
    assert!(panels.len() >= 7, "{panels:?}");
    let names: Vec<String> = panels.iter().map(|(n, _)| n.clone()).collect();
    let mut broken = Vec::new();
    for (panel, files) in &panels {
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for other in names.iter().filter(|o| *o != panel) {
                    if code.contains(&format!("super::{other}"))
                        || code.contains(&format!("ui::{other}"))
                    {
                        broken.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "panels importing panels:\n{}",
        broken.join("\n")
    );
}

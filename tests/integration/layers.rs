//! The layering the code claims, kept true: the judges, the reporters and the pure models
//! never reach into the network layer or do I/O, and the registry depends on nothing.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The code of a file, comments and the test module (last, by convention) left out.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a source file");
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files that hold no I/O: everything but the network layer, the command line, the
/// binary, the library's run, the writing of `--output` files and the `--state` file's reading
/// and writing.
fn pure(src: &Path, path: &Path) -> bool {
    let rel = path.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    ![
        "net",
        "net.rs",
        "cli.rs",
        "main.rs",
        "lib.rs",
        "run.rs",
        "state.rs",
        "output.rs",
    ]
    .contains(&name.as_ref())
}

#[test]
fn pure_modules_never_touch_the_network_layer_or_do_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "crate::net",
        "tokio::",
        "reqwest",
        "hickory_resolver::TokioResolver",
        "std::fs",
        "std::net::TcpStream",
    ];
    let mut checked = 0;
    for path in sources(&src).into_iter().filter(|p| pure(&src, p)) {
        let code = code(&path);
        for word in forbidden {
            assert!(
                !code.contains(word),
                "{} uses {word}: keep I/O and the network layer below it",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 10, "only {checked} files checked");
}

#[test]
fn the_registry_depends_on_nothing_of_the_findings() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let checks = code(&src.join("checks.rs"));
    assert!(
        !checks.contains("crate::finding"),
        "checks.rs and finding.rs must not be a circle"
    );
}

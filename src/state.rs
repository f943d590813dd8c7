//! The `--state` file: each domain's last [`Snapshot`], read once before a run and written
//! once after it, atomically (a temporary file in the same directory, then a rename). A
//! file that is not ours, of another version or corrupt is refused and left as it is.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::snapshot::Snapshot;

/// What the file says it is.
pub const SCHEMA: &str = "mtasts-state";
/// The layout this version reads and writes.
pub const VERSION: u64 = 1;

/// The file's layout.
#[derive(Serialize, Deserialize)]
struct Layout {
    schema: String,
    version: u64,
    /// By domain (ASCII, lower case).
    domains: BTreeMap<String, Snapshot>,
}

/// The state read, and where it goes back.
#[derive(Debug)]
pub struct State {
    path: PathBuf,
    domains: BTreeMap<String, Snapshot>,
}

impl State {
    /// Reads the state at `path`; a file that does not exist yet is an empty state.
    pub fn read(path: &Path) -> anyhow::Result<State> {
        let shown = path.display();
        let limit = crate::limits::MAX_STATE_BYTES;
        let mut bytes = Vec::new();
        match std::fs::File::open(path) {
            Ok(f) => {
                f.take(limit as u64 + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| anyhow::anyhow!("reading the state file {shown}: {e}"))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    path: path.to_path_buf(),
                    domains: BTreeMap::new(),
                });
            }
            Err(e) => anyhow::bail!("reading the state file {shown}: {e}"),
        }
        if bytes.len() > limit {
            anyhow::bail!(
                "the state file {shown} is larger than {limit} bytes: it was left as it is"
            );
        }
        let domains = parse(&bytes).map_err(|why| {
            anyhow::anyhow!(
                "the state file {shown} {why}: it was left as it is (move it away to start afresh)"
            )
        })?;
        Ok(State {
            path: path.to_path_buf(),
            domains,
        })
    }

    /// The last snapshot of `domain`.
    pub fn get(&self, domain: &str) -> Option<&Snapshot> {
        self.domains.get(domain)
    }

    /// Writes the state with `seen` in place of what it held for those domains (the
    /// others are kept): to a temporary file beside it, then renamed over it, so that a
    /// reader or a crash never sees half a file.
    pub fn write(mut self, seen: BTreeMap<String, Snapshot>) -> anyhow::Result<()> {
        self.domains.extend(seen);
        let shown = self.path.display().to_string();
        let layout = Layout {
            schema: SCHEMA.into(),
            version: VERSION,
            domains: self.domains,
        };
        let mut text = serde_json::to_vec_pretty(&layout)?;
        text.push(b'\n');
        let mut file = crate::output::AtomicFile::create(&self.path)
            .with_context(|| format!("writing the state file {shown}"))?;
        file.write_all(&text)
            .with_context(|| format!("writing the state file {shown}"))?;
        file.commit()
            .with_context(|| format!("writing the state file {shown}"))
    }
}

/// The domains of a state file's bytes, or what is wrong with them.
fn parse(bytes: &[u8]) -> Result<BTreeMap<String, Snapshot>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("is not JSON ({e})"))?;
    if value.get("schema").and_then(|s| s.as_str()) != Some(SCHEMA) {
        return Err(format!(
            "is not an mtasts state file (no \"schema\": \"{SCHEMA}\")"
        ));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "is of version {v}; this mtasts reads version {VERSION}"
            ));
        }
        None => return Err("has no version".into()),
    }
    serde_json::from_value::<Layout>(value)
        .map(|l| l.domains)
        .map_err(|e| format!("is corrupt ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tests::snapshot;

    #[test]
    fn a_state_round_trips_and_keeps_the_domains_not_seen() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("state.json");
        let state = State::read(&path).expect("no file yet is an empty state");
        assert!(state.get("a.example").is_none());
        let seen = BTreeMap::from([
            ("a.example".to_string(), snapshot("1", &["mx.a.example"])),
            ("b.example".to_string(), snapshot("2", &["mx.b.example"])),
        ]);
        state.write(seen).expect("written");
        let state = State::read(&path).expect("read back");
        assert_eq!(
            state.get("a.example"),
            Some(&snapshot("1", &["mx.a.example"]))
        );
        let seen = BTreeMap::from([("a.example".to_string(), snapshot("3", &["mx.a.example"]))]);
        state.write(seen).expect("written");
        let state = State::read(&path).expect("read back");
        assert_eq!(
            state.get("a.example").and_then(|s| s.id.as_deref()),
            Some("3")
        );
        assert_eq!(
            state.get("b.example").and_then(|s| s.id.as_deref()),
            Some("2")
        );
        // Nothing is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("listed").collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn files_not_ours_of_another_version_or_corrupt_are_refused() {
        for (bytes, why) in [
            (&b""[..], "is not JSON"),
            (b"{\"domains\": {}}", "is not an mtasts state file"),
            (b"[1, 2]", "is not an mtasts state file"),
            (
                b"{\"schema\": \"mtasts-state\", \"version\": 2, \"domains\": {}}",
                "is of version 2; this mtasts reads version 1",
            ),
            (
                b"{\"schema\": \"mtasts-state\", \"domains\": {}}",
                "has no version",
            ),
            (
                b"{\"schema\": \"mtasts-state\", \"version\": 1, \"domains\": {\"a\": 3}}",
                "is corrupt",
            ),
        ] {
            let e = parse(bytes).expect_err("refused");
            assert!(e.starts_with(why), "{e}");
        }
    }
}

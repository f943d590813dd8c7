//! Where a report goes with `--output FILE`: a temporary file beside FILE, renamed over it
//! once the report is complete, so that a reader (node_exporter's textfile collector, a
//! dashboard, a script) sees the old report or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Tries at a free temporary name before giving up.
const NAME_TRIES: u32 = 16;

/// A report being written; it replaces its target on [`AtomicFile::commit`], and is
/// removed if dropped before.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl AtomicFile {
    /// A new temporary file in `target`'s directory (a rename is atomic only within one
    /// file system). Its name starts with a dot and does not end in `.prom`, so the
    /// textfile collector never reads it. It is made with the process's umask, as any file
    /// we write, not 0600 as temporary-file libraries do: the collector runs as another
    /// user and must be able to read what replaces the target.
    pub fn create(target: &Path) -> anyhow::Result<AtomicFile> {
        let name = target
            .file_name()
            .with_context(|| format!("{}: not a file name", target.display()))?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut last = None;
        for attempt in 0..NAME_TRIES {
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}.{attempt}.tmp", std::process::id()));
            let temp = dir.join(temp_name);
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        target: target.to_path_buf(),
                        temp,
                        file: BufWriter::new(file),
                        committed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(e).with_context(|| format!("writing {}", temp.display()));
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free name")))
            .with_context(|| format!("no free temporary name beside {}", target.display()))
    }

    /// Writes out what is buffered, makes it durable, and renames it over the target.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let written = self.temp.display().to_string();
        self.file
            .flush()
            .and_then(|()| self.file.get_ref().sync_all())
            .with_context(|| format!("writing {written}"))?;
        fs::rename(&self.temp, &self.target)
            .with_context(|| format!("replacing {}", self.target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Runs `render` with standard output (`to` is `None`) or a new [`AtomicFile`] at `to`,
/// committed when `render` succeeds, whatever exit code it returns: the report it wrote
/// is complete. On an error the old file stays as it was.
pub fn written(
    to: Option<&Path>,
    stdout: &mut dyn Write,
    render: impl FnOnce(&mut dyn Write) -> anyhow::Result<u8>,
) -> anyhow::Result<u8> {
    let Some(path) = to else {
        return render(stdout);
    };
    let mut file = AtomicFile::create(path)?;
    let code = render(&mut file)?;
    file.commit()?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("the directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_target_is_replaced_only_when_the_report_is_complete() {
        let dir = tempfile::tempdir().expect("a directory");
        let target = dir.path().join("mtasts.prom");
        fs::write(&target, "old\n").expect("the old report");

        let mut file = AtomicFile::create(&target).expect("a temporary file");
        file.write_all(b"new\n").expect("written");
        assert_eq!(fs::read_to_string(&target).expect("read"), "old\n");
        let temp = entries(dir.path());
        assert_eq!(temp.len(), 2, "{temp:?}");
        assert!(
            temp.iter()
                .any(|n| n.starts_with(".mtasts.prom.") && n.ends_with(".tmp")),
            "{temp:?}"
        );
        file.commit().expect("committed");
        assert_eq!(fs::read_to_string(&target).expect("read"), "new\n");
        assert_eq!(entries(dir.path()), ["mtasts.prom"]);
    }

    #[test]
    fn a_failed_report_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().expect("a directory");
        let target = dir.path().join("out.json");
        fs::write(&target, "old\n").expect("the old report");
        let failed = written(Some(&target), &mut io::sink(), |out| {
            out.write_all(b"half")?;
            anyhow::bail!("the run broke")
        });
        assert!(failed.is_err());
        assert_eq!(fs::read_to_string(&target).expect("read"), "old\n");
        assert_eq!(entries(dir.path()), ["out.json"]);

        let code = written(Some(&target), &mut io::sink(), |out| {
            out.write_all(b"whole\n")?;
            Ok(1)
        });
        assert_eq!(code.ok(), Some(1));
        assert_eq!(fs::read_to_string(&target).expect("read"), "whole\n");
    }

    #[test]
    fn without_a_file_the_report_goes_to_standard_output() {
        let mut stdout = Vec::new();
        let code = written(None, &mut stdout, |out| {
            out.write_all(b"report\n")?;
            Ok(0)
        });
        assert_eq!(code.ok(), Some(0));
        assert_eq!(stdout, b"report\n");
    }

    /// node_exporter runs as its own user: the report must be as readable as any file
    /// this process writes, not 0600.
    #[cfg(unix)]
    #[test]
    fn the_report_gets_the_permissions_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a directory");
        let plain = dir.path().join("plain");
        File::create(&plain).expect("a plain file");
        let target = dir.path().join("mtasts.prom");
        AtomicFile::create(&target)
            .and_then(AtomicFile::commit)
            .expect("committed");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&target), mode(&plain));
    }

    #[test]
    fn a_directory_that_does_not_exist_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().expect("a directory");
        let target = dir.path().join("missing").join("out.prom");
        let e = AtomicFile::create(&target).err().expect("an error");
        assert!(format!("{e:#}").contains("missing"), "{e:#}");
    }
}

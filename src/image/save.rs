//! Putting image bytes on disk atomically and, unless asked otherwise, without replacing anything.
//!
//! The bytes go to a hidden temp file in the target's own directory (so the final step is a same-filesystem
//! rename or link), are flushed to the disk, and only then appear under the target name: with a no-clobber
//! link or `RENAME_NOREPLACE` by default, with a rename over the old file when overwriting. A reader never
//! sees a partial image, and the temp file is removed on every error path because it is a
//! [`tempfile::NamedTempFile`] that is dropped. A target that is a symlink is refused outright, even when
//! overwriting: writing through a link could land the image anywhere the link points.

use std::fs;
use std::io::{self, Write};
use std::path::{is_separator, Path, PathBuf};

use super::SaveError;

/// What saving does when a regular file already exists at the target.
///
/// Symlinks and directories at the target are refused whichever is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum IfExists {
    /// Fail with an `exists` error and leave the file alone, also when it appears while the bytes are
    /// being written. The default.
    #[default]
    Fail,
    /// Replace the file atomically: a reader sees the old image or the new one, never a mix.
    Replace,
}

/// Writes `bytes` to `target` atomically and returns the path written (`target` as given).
///
/// The parent directory must already exist; it is never created. With [`IfExists::Fail`] an existing
/// target is [`SaveError::Exists`], also when it appears while the bytes are being written.
pub fn save_atomic(bytes: &[u8], target: &Path, opts: IfExists) -> Result<PathBuf, SaveError> {
    let dir = check_target(target, opts)?;
    write_and_persist(bytes, dir, target, opts)?;
    Ok(target.to_path_buf())
}

fn invalid(target: &Path, reason: impl Into<String>) -> SaveError {
    SaveError::InvalidTarget {
        path: target.to_path_buf(),
        reason: reason.into(),
    }
}

fn write_failed(target: &Path, source: io::Error) -> SaveError {
    SaveError::WriteFailed {
        path: target.to_path_buf(),
        source,
    }
}

/// Checks, before any image exists, that [`save_atomic`] could write `target` as asked: the same refusals
/// it makes, plus proof that a file can be created in the target's directory. Callers run this before
/// spending quota; the save checks again, so a file that appears meanwhile is still not clobbered.
pub fn precheck(target: &Path, opts: IfExists) -> Result<(), SaveError> {
    let dir = check_target(target, opts)?;
    tempfile::Builder::new()
        .prefix(".codex-img-probe-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            invalid(
                target,
                format!("cannot create files in {}: {e}", dir.display()),
            )
        })
}

/// Refuses targets that can never be written as asked and returns the directory to write in.
fn check_target(target: &Path, opts: IfExists) -> Result<&Path, SaveError> {
    // `Path` normalizes away a trailing separator or `.`, so look at the text as given.
    let text = target.as_os_str().to_string_lossy();
    let last = text.rsplit(is_separator).next().unwrap_or_default();
    if text.is_empty() {
        return Err(invalid(target, "the path is empty; give a file path"));
    }
    if last.is_empty() || last == "." || last == ".." {
        return Err(invalid(
            target,
            "the path names a directory; add a file name",
        ));
    }
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(invalid(
                target,
                format!("{} is not a directory", dir.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let reason = format!(
                "the directory {} does not exist; create it first",
                dir.display()
            );
            return Err(invalid(target, reason));
        }
        Err(e) => return Err(write_failed(target, e)),
    }
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() => Err(invalid(
            target,
            "it is a symbolic link, and codex-img never writes through links; give the real path",
        )),
        Ok(meta) if meta.is_dir() => Err(invalid(target, "it is a directory; add a file name")),
        Ok(meta) if !meta.is_file() => Err(invalid(target, "it exists and is not a regular file")),
        // Refuse early rather than write the bytes only to have the no-clobber link fail.
        Ok(_) if opts == IfExists::Fail => Err(SaveError::Exists {
            path: target.to_path_buf(),
        }),
        Ok(_) => Ok(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(dir),
        Err(e) => Err(write_failed(target, e)),
    }
}

/// The write itself, with no checks on `target` beyond what the final link or rename enforces, so tests
/// can exercise the race where the target appears while the bytes are being written.
fn write_and_persist(
    bytes: &[u8],
    dir: &Path,
    target: &Path,
    opts: IfExists,
) -> Result<(), SaveError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".codex-img-").suffix(".tmp");
    // The mode passed at creation is masked by the umask, so the image ends up with the permissions any
    // newly created file would get, instead of tempfile's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder
        .tempfile_in(dir)
        .map_err(|e| write_failed(target, e))?;
    temp.write_all(bytes).map_err(|e| write_failed(target, e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| write_failed(target, e))?;

    // On failure `PersistError` carries the temp file back; dropping it with the error removes it.
    let persisted = if opts == IfExists::Replace {
        temp.persist(target)
    } else {
        temp.persist_noclobber(target)
    };
    match persisted {
        Ok(file) => drop(file),
        Err(e) if opts == IfExists::Fail && e.error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(SaveError::Exists {
                path: target.to_path_buf(),
            })
        }
        Err(e) => return Err(write_failed(target, e.error)),
    }
    sync_dir(dir);
    Ok(())
}

/// Makes the new directory entry durable. Best effort: the image is already in place and readable, and
/// some filesystems refuse to fsync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const OVERWRITE: IfExists = IfExists::Replace;

    /// The names in `dir`, sorted, so a stray temp file shows up as a difference.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// A comparable summary of a save result: the error code and path, or the path written.
    fn outcome(result: Result<PathBuf, SaveError>) -> Result<PathBuf, (&'static str, PathBuf)> {
        result.map_err(|e| (e.variant(), e.path().to_path_buf()))
    }

    #[test]
    fn saves_new_file_with_normal_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("cat.png");
        assert_eq!(
            outcome(save_atomic(b"image", &target, IfExists::Fail)),
            Ok(target.clone())
        );
        assert_eq!(fs::read(&target).expect("read"), b"image");
        assert_eq!(listing(dir.path()), vec!["cat.png"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&target)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o666 & !current_umask());
        }
    }

    /// The umask read without changing it (`umask(2)` can only set it, which would race other tests).
    #[cfg(unix)]
    fn current_umask() -> u32 {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("Umask:"))?;
                u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).ok()
            })
            .unwrap_or(0o022)
    }

    #[test]
    fn no_clobber_refuses_and_keeps_original() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("cat.png");
        fs::write(&target, b"original").expect("write");
        let err = save_atomic(b"new", &target, IfExists::Fail);
        assert_eq!(outcome(err), Err(("Exists", target.clone())));
        assert_eq!(fs::read(&target).expect("read"), b"original");
        assert_eq!(listing(dir.path()), vec!["cat.png"]);
    }

    #[test]
    fn no_clobber_loses_the_race_cleanly() {
        // The target appears after the checks but before the link: persist_noclobber must refuse.
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("cat.png");
        fs::write(&target, b"original").expect("write");
        let err = write_and_persist(b"new", dir.path(), &target, IfExists::Fail);
        assert_eq!(err.map_err(|e| e.variant()), Err("Exists"));
        assert_eq!(fs::read(&target).expect("read"), b"original");
        assert_eq!(listing(dir.path()), vec!["cat.png"]);
    }

    #[test]
    fn failed_persist_removes_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("missing").join("cat.png");
        let err = write_and_persist(b"new", dir.path(), &target, OVERWRITE);
        assert_eq!(err.map_err(|e| e.variant()), Err("WriteFailed"));
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn overwrite_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("cat.png");
        fs::write(&target, b"original").expect("write");
        assert_eq!(
            outcome(save_atomic(b"new", &target, OVERWRITE)),
            Ok(target.clone())
        );
        assert_eq!(fs::read(&target).expect("read"), b"new");
        assert_eq!(listing(dir.path()), vec!["cat.png"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_target_is_refused_even_with_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.png");
        let link = dir.path().join("link.png");
        let dangling = dir.path().join("dangling.png");
        fs::write(&real, b"original").expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("nowhere.png"), &dangling).expect("symlink");
        let results = vec![
            outcome(save_atomic(b"new", &link, IfExists::Fail)),
            outcome(save_atomic(b"new", &link, OVERWRITE)),
            outcome(save_atomic(b"new", &dangling, IfExists::Fail)),
            outcome(save_atomic(b"new", &dangling, OVERWRITE)),
        ];
        assert_eq!(
            results,
            vec![
                Err(("InvalidTarget", link.clone())),
                Err(("InvalidTarget", link.clone())),
                Err(("InvalidTarget", dangling.clone())),
                Err(("InvalidTarget", dangling.clone())),
            ]
        );
        assert_eq!(fs::read(&real).expect("read"), b"original");
        assert_eq!(fs::read_link(&link).expect("read_link"), real);
        assert_eq!(
            listing(dir.path()),
            vec!["dangling.png", "link.png", "real.png"]
        );
    }

    #[test]
    fn directory_like_and_orphan_targets_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).expect("mkdir");
        let file = dir.path().join("file");
        fs::write(&file, b"x").expect("write");
        let with_slash = PathBuf::from(format!("{}/", dir.path().join("new.png").display()));
        let cases = [
            PathBuf::new(),
            sub.clone(),
            with_slash,
            sub.join("."),
            sub.join(".."),
            dir.path().join("missing").join("cat.png"),
            file.join("cat.png"),
        ];
        for if_exists in [IfExists::Fail, IfExists::Replace] {
            let got: Vec<_> = cases
                .iter()
                .map(|path| outcome(save_atomic(b"new", path, if_exists)))
                .collect();
            let want: Vec<_> = cases
                .iter()
                .map(|path| Err(("InvalidTarget", path.clone())))
                .collect();
            assert_eq!(got, want);
        }
        assert_eq!(listing(dir.path()), vec!["file", "sub"]);
        assert_eq!(listing(&sub), Vec::<String>::new());
    }

    #[test]
    fn relative_target_in_current_directory_has_a_parent() {
        assert_eq!(
            check_target(Path::new("codex-img-never-created.png"), IfExists::Fail)
                .map_err(|e| e.variant()),
            Ok(Path::new("."))
        );
    }

    #[test]
    fn save_error_messages_say_what_to_do() {
        let path = PathBuf::from("out/cat.png");
        let errors = [
            SaveError::Exists { path: path.clone() },
            SaveError::InvalidTarget {
                path: path.clone(),
                reason: "it is a directory; add a file name".to_string(),
            },
            SaveError::WriteFailed {
                path,
                source: io::Error::other("disk full"),
            },
        ];
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "out/cat.png already exists; pass --overwrite or choose another path",
                "cannot save to out/cat.png: it is a directory; add a file name",
                "could not write out/cat.png; check that its directory is writable and has free space",
            ]
        );
        let source = std::error::Error::source(&errors[2]).map(ToString::to_string);
        assert_eq!(source, Some("disk full".to_string()));
    }
}

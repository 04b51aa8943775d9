//! Saving a generated image so that nothing paid for is lost: checked before any quota is spent, written
//! atomically without replacing a file unasked or following a link, and kept in the recovery folder when
//! the save fails.

use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::output::GeneratedImage;
use super::recovery;
use crate::image::{self, IfExists};

/// Checks, before any quota is spent, that an image could be saved at `target`: a file path, or an
/// existing directory where [`GeneratedImage::resolve_target`] will name the file. The CLI and the bridge
/// both run it; the save checks again when it writes, so a file that appears meanwhile is not clobbered.
pub fn precheck_target(target: &Path, opts: IfExists) -> Result<()> {
    let checked = match std::fs::symlink_metadata(target) {
        // The generated name is not known yet; a hidden placeholder proves the folder takes new files.
        Ok(meta) if meta.is_dir() => image::precheck(&target.join(".codex-img-target-check"), opts),
        _ => image::precheck(target, opts),
    };
    Ok(checked?)
}

impl GeneratedImage {
    /// Writes the image to `path` atomically (temp file, fsync, rename). An existing file is an
    /// `output/exists` error unless `if_exists` is [`IfExists::Replace`]; a symlink at the target is
    /// always refused. Returns the path written.
    ///
    /// When the save fails, the image is not lost: the bytes are written to
    /// [`recovery_dir`](Self::recovery_dir) and the error is [`Error::NotSaved`], with the code of the
    /// failure and the file it was kept in ([`Error::recovered_path`]).
    pub fn save(&self, path: &Path, if_exists: IfExists) -> Result<PathBuf> {
        image::save_atomic(&self.bytes, path, if_exists).map_err(|e| self.kept(e.into()))
    }

    /// Like [`save`](Self::save), but off the async runtime's worker threads.
    pub async fn save_async(&self, path: PathBuf, if_exists: IfExists) -> Result<PathBuf> {
        let image = self.clone();
        let target = path.clone();
        match tokio::task::spawn_blocking(move || image.save(&target, if_exists)).await {
            Ok(saved) => saved,
            Err(e) => Err(self.kept(Error::OutputWriteFailed {
                path,
                source: std::io::Error::other(e.to_string()),
            })),
        }
    }

    /// `error`, once the bytes are kept in the recovery folder (or that failed too).
    fn kept(&self, error: Error) -> Error {
        let recovery = recovery::keep(
            &self.bytes,
            &self.default_file_name(),
            self.recovery_dir.as_deref(),
        );
        match recovery.path() {
            Some(kept) => tracing::warn!(
                "saving the image failed ({error}); it was kept at {}",
                kept.display()
            ),
            None => tracing::error!("saving the image failed ({error}) and no copy could be kept"),
        }
        let unsaved = recovery.path().is_none().then(|| Box::new(self.clone()));
        Error::NotSaved {
            source: Box::new(error),
            recovery,
            unsaved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::precheck_target;
    use crate::image::IfExists::{self, Fail, Replace};
    use pretty_assertions::assert_eq;
    use std::path::Path;

    fn code(target: &Path, if_exists: IfExists) -> &'static str {
        match precheck_target(target, if_exists) {
            Ok(()) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn targets_are_checked_by_the_save_rules_before_any_image_exists() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let file = dir.join("a.png");
        std::fs::write(&file, b"x").expect("write");
        let cases = [
            (dir.join("new.png"), Fail, "ok"),
            (dir.to_path_buf(), Fail, "ok"),
            (file.clone(), Fail, "output/exists"),
            (file.clone(), Replace, "ok"),
            (dir.join("missing/new.png"), Fail, "output/invalid_target"),
            (file.join("x.png"), Fail, "output/invalid_target"),
            (Path::new("").to_path_buf(), Fail, "output/invalid_target"),
        ];
        for (target, if_exists, expected) in cases {
            assert_eq!(code(&target, if_exists), expected, "{}", target.display());
        }
        #[cfg(unix)]
        {
            let link = dir.join("link.png");
            std::os::unix::fs::symlink(&file, &link).expect("link");
            assert_eq!(code(&link, Replace), "output/invalid_target");
            let dir_link = dir.join("dir-link");
            std::os::unix::fs::symlink(dir, &dir_link).expect("link");
            assert_eq!(code(&dir_link, Fail), "output/invalid_target");
            let dangling = dir.join("dangling.png");
            std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).expect("link");
            assert_eq!(code(&dangling, Fail), "output/invalid_target");
        }
        // The writability probe leaves nothing behind.
        let left: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".codex-img"))
            .collect();
        assert_eq!(left, Vec::<String>::new());
    }
}

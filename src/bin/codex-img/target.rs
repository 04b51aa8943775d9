//! Checks the `-o` target before any quota is spent.
//!
//! The library's save refuses the same things, but only after the image exists; by then the turn has
//! been paid for. So `codex_img::image::precheck` runs first, with the save's own rules: an existing file
//! needs `--overwrite`, a symlink is never written through, the parent directory must exist, and a file
//! must be creatable there. An existing directory is accepted: the image then gets a generated name in it.

use std::path::Path;

use codex_img::image::{precheck, SaveOptions};
use codex_img::Error;

/// Whether the image could be saved at `target` (a file path or an existing directory).
pub fn check(target: &Path, overwrite: bool) -> Result<(), Error> {
    let opts = SaveOptions { overwrite };
    let checked = match std::fs::symlink_metadata(target) {
        // The generated name is not known yet; a hidden placeholder proves the folder takes new files.
        Ok(meta) if meta.is_dir() => precheck(&target.join(".codex-img-target-check"), opts),
        _ => precheck(target, opts),
    };
    checked.map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<(), Error>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn rules() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("a.png");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(code(check(&dir.join("new.png"), false)), "ok");
        assert_eq!(code(check(dir, false)), "ok");
        assert_eq!(code(check(&file, false)), "output/exists");
        assert_eq!(code(check(&file, true)), "ok");
        assert_eq!(
            code(check(&dir.join("missing/new.png"), false)),
            "output/invalid_target"
        );
        assert_eq!(
            code(check(&file.join("x.png"), false)),
            "output/invalid_target"
        );
        assert_eq!(code(check(Path::new(""), false)), "output/invalid_target");
        #[cfg(unix)]
        {
            let link = dir.join("link.png");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert_eq!(code(check(&link, true)), "output/invalid_target");
            let dir_link = dir.join("dir-link");
            std::os::unix::fs::symlink(dir, &dir_link).unwrap();
            assert_eq!(code(check(&dir_link, false)), "output/invalid_target");
            let dangling = dir.join("dangling.png");
            std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
            assert_eq!(code(check(&dangling, false)), "output/invalid_target");
        }
        // The probe leaves nothing behind.
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".codex-img"))
            .collect();
        assert!(left.is_empty());
    }
}

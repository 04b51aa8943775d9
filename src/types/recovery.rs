//! Keeping a paid image that could not be saved where it was asked for.
//!
//! Every image spends the user's quota, so a save that fails after the bytes are in hand (a full disk, a
//! folder removed or made read-only mid-turn, a file that appeared meanwhile) must not lose them. The
//! bytes go to a recovery folder in the user's state directory, which is on another path than the target
//! and outside `CODEX_HOME` (Codex's own cleanup never reaches it), and the error names the file. The
//! folder is `$CODEX_IMG_RECOVERY_DIR`, else `$XDG_STATE_HOME/codex-img/recovered`, else
//! `~/.local/state/codex-img/recovered`; a program can set it with `ClientBuilder::recovery_dir`.

use std::path::{Path, PathBuf};

use crate::image::{self, IfExists, SaveError};

/// The environment variable that overrides the recovery folder.
pub(crate) const RECOVERY_DIR_ENV: &str = "CODEX_IMG_RECOVERY_DIR";

/// How many differently-named copies are tried when a file of the same name but other bytes is there.
const MAX_NAMES: u32 = 100;

/// Where a paid image went when it could not be saved where asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// The bytes were written, complete, to this file.
    Saved(PathBuf),
    /// Keeping a copy failed too.
    Failed {
        /// The recovery folder, when one could be worked out.
        dir: Option<PathBuf>,
        /// Why the copy could not be written.
        reason: String,
    },
}

impl Recovery {
    /// The file the image was kept in, when it was.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Saved(path) => Some(path),
            Self::Failed { .. } => None,
        }
    }

    /// The sentence an error message ends with.
    pub(crate) fn phrase(&self) -> String {
        match self {
            Self::Saved(path) => format!(
                "the image was kept at {}; move it from there (codex-img never deletes it)",
                path.display()
            ),
            Self::Failed {
                dir: Some(dir),
                reason,
            } => format!(
                "keeping a copy in {} failed too ({reason}), so the image was not saved anywhere",
                dir.display()
            ),
            Self::Failed { dir: None, reason } => {
                format!("no copy could be kept ({reason}), so the image was not saved anywhere")
            }
        }
    }
}

/// The default recovery folder, from the environment: [`RECOVERY_DIR_ENV`], else
/// `$XDG_STATE_HOME/codex-img/recovered`, else `$HOME/.local/state/codex-img/recovered`. `None` when
/// none of them is set to an absolute path.
pub(crate) fn default_dir() -> Option<PathBuf> {
    let absolute = |key: &str| {
        std::env::var_os(key)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = absolute(RECOVERY_DIR_ENV) {
        return Some(dir);
    }
    // The XDG spec says a relative value is invalid and must be ignored.
    if let Some(state) = absolute("XDG_STATE_HOME") {
        return Some(state.join("codex-img").join("recovered"));
    }
    absolute("HOME").map(|home| home.join(".local/state/codex-img/recovered"))
}

/// Writes `bytes` (named `file_name`, `<stem>.<ext>`) into `dir`, creating it private to the user, and
/// says where they went. A file of the same name with the same bytes is reused, not duplicated.
pub(crate) fn keep(bytes: &[u8], file_name: &str, dir: Option<&Path>) -> Recovery {
    let Some(dir) = dir else {
        return Recovery::Failed {
            dir: None,
            reason: format!(
                "no recovery folder: set {RECOVERY_DIR_ENV}, XDG_STATE_HOME or HOME to an absolute path"
            ),
        };
    };
    let failed = |reason: String| Recovery::Failed {
        dir: Some(dir.to_path_buf()),
        reason,
    };
    if let Err(e) = create_private_dir(dir) {
        return failed(e.to_string());
    }
    let (stem, ext) = file_name.rsplit_once('.').unwrap_or((file_name, "bin"));
    for n in 0..MAX_NAMES {
        let name = match n {
            0 => format!("{stem}.{ext}"),
            n => format!("{stem}-{n}.{ext}"),
        };
        let target = dir.join(name);
        match image::save_atomic(bytes, &target, IfExists::Fail) {
            Ok(path) => return Recovery::Saved(path),
            Err(SaveError::Exists { .. }) => {
                if std::fs::read(&target).is_ok_and(|old| old == bytes) {
                    return Recovery::Saved(target);
                }
            }
            Err(e) => return failed(e.to_string()),
        }
    }
    failed(format!(
        "{MAX_NAMES} files named {stem}-N.{ext} are already there"
    ))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn keeps_the_bytes_in_a_private_folder_it_creates() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("state/codex-img/recovered");
        let got = keep(b"image bytes", "codex-img-abc.png", Some(&dir));
        let path = dir.join("codex-img-abc.png");
        assert_eq!(got, Recovery::Saved(path.clone()));
        assert_eq!(std::fs::read(&path).expect("read"), b"image bytes");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn the_same_image_twice_is_one_file_and_another_image_gets_a_new_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let first = keep(b"one", "codex-img-abc.png", Some(dir));
        let again = keep(b"one", "codex-img-abc.png", Some(dir));
        let other = keep(b"two", "codex-img-abc.png", Some(dir));
        assert_eq!(
            (first, again, other),
            (
                Recovery::Saved(dir.join("codex-img-abc.png")),
                Recovery::Saved(dir.join("codex-img-abc.png")),
                Recovery::Saved(dir.join("codex-img-abc-1.png")),
            )
        );
        assert_eq!(
            std::fs::read(dir.join("codex-img-abc-1.png")).expect("read"),
            b"two"
        );
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_reported_not_hidden() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("a-file");
        std::fs::write(&file, b"x").expect("write");
        let dir = file.join("recovered");
        match keep(b"x", "a.png", Some(&dir)) {
            Recovery::Failed {
                dir: Some(d),
                reason,
            } => {
                assert_eq!(d, dir);
                assert!(!reason.is_empty());
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        let none = keep(b"x", "a.png", None);
        assert!(
            none.phrase().contains("no copy could be kept"),
            "{}",
            none.phrase()
        );
    }
}

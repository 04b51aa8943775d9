//! `--root DIR`: keeping a host's output targets and input images inside one folder, for every face that
//! takes paths from a host (the stdio bridge, the MCP and HTTP servers), and the checks on an output
//! target that can be made before a generation spends quota.
//!
//! A host may pass paths that came from its own users, so under `--root` a path is accepted only when it
//! stays inside the root by every reading: it is relative to the root, or absolute and starting with the
//! root (as given, or canonical); it has no `..` component; and every part of it that exists, once
//! canonicalized, still lies inside the canonical root, so a symlinked folder cannot lead out. An output
//! target that is itself a symlink is refused outright (the saver never writes through links); an input
//! image may be a link, if it leads to a file inside the root. A Windows-shaped path (a `\`, a leading
//! `C:`) is refused on every system rather than taken as an odd file name, and so is a NUL. The saver writes atomically, so a refused
//! or failed write leaves no partial file anywhere.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::types::error::Error;

/// The folder a face is confined to: every output target and input image a host names must lie inside it.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    /// Canonical: every check compares against this.
    canonical: PathBuf,
    /// Absolute, as the host spelled it, so absolute paths written the same way are accepted.
    given: PathBuf,
}

impl Root {
    /// Confines to `dir`, which must be an existing folder.
    ///
    /// # Errors
    /// `dir` does not exist, cannot be resolved, or is not a folder; the message names `--root` and `dir`.
    pub(crate) fn new(dir: &Path) -> io::Result<Self> {
        let context =
            |e: io::Error| io::Error::new(e.kind(), format!("--root {}: {e}", dir.display()));
        let canonical = dir.canonicalize().map_err(context)?;
        if !canonical.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--root {}: not a directory", dir.display()),
            ));
        }
        let given = std::path::absolute(dir).map_err(context)?;
        Ok(Self { canonical, given })
    }

    /// The root, canonicalized.
    pub(crate) fn path(&self) -> &Path {
        &self.canonical
    }

    /// Where to save for a host's `output`: a file, or an existing folder, inside the root.
    pub(crate) fn output_target(&self, raw: &str) -> Result<PathBuf, Error> {
        let invalid = |reason: String| Error::OutputInvalidTarget {
            path: PathBuf::from(raw),
            reason,
        };
        let target = self.confine(raw, false).map_err(invalid)?;
        if raw.ends_with(std::path::is_separator) && !target.is_dir() {
            return Err(invalid(
                "it names a folder that does not exist; create it first".to_owned(),
            ));
        }
        Ok(target)
    }

    /// Where to read a host's input image from, inside the root.
    pub(crate) fn input_image(&self, raw: &str, role: &str) -> Result<PathBuf, Error> {
        self.confine(raw, true)
            .map_err(|reason| Error::InvalidImage {
                which: format!("{role} `{raw}`"),
                reason,
            })
    }

    /// The path inside the root that `raw` names, or why it is refused.
    fn confine(&self, raw: &str, follow_final: bool) -> Result<PathBuf, String> {
        if raw.is_empty() {
            return Err("the path is empty; give a path inside the root".to_owned());
        }
        if raw.contains('\0') {
            // The OS would refuse it later with a bare `InvalidInput`; say why now.
            return Err("the path contains a NUL byte".to_owned());
        }
        if let Some(why) = windows_shaped(raw) {
            return Err(why);
        }
        let path = Path::new(raw);
        let outside = || format!("it is outside the root {}", self.canonical.display());
        let relative = if path.is_absolute() {
            path.strip_prefix(&self.canonical)
                .or_else(|_| path.strip_prefix(&self.given))
                .map_err(|_| outside())?
        } else {
            path
        };
        let mut names = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(name) => names.push(name),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err("`..` is not allowed under --root".to_owned());
                }
                Component::RootDir | Component::Prefix(_) => return Err(outside()),
            }
        }
        let mut current = self.canonical.clone();
        for (i, name) in names.iter().enumerate() {
            current.push(name);
            let last = i + 1 == names.len();
            let meta = match std::fs::symlink_metadata(&current) {
                Ok(meta) => meta,
                // Nothing below a missing part can exist, so nothing below can lead out either.
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(format!("cannot inspect {}: {e}", current.display())),
            };
            if last && !follow_final && meta.file_type().is_symlink() {
                return Err(
                    "it is a symbolic link, and codex-img never writes through links".to_owned(),
                );
            }
            let resolved = current
                .canonicalize()
                .map_err(|e| format!("cannot resolve {}: {e}", current.display()))?;
            if !resolved.starts_with(&self.canonical) {
                return Err(format!(
                    "{} leads outside the root {} through a link",
                    current.display(),
                    self.canonical.display()
                ));
            }
        }
        Ok(names
            .iter()
            .fold(self.canonical.clone(), |p, name| p.join(name)))
    }
}

/// Why `raw` reads as a Windows path where Windows' own path rules do not apply, if it does.
///
/// On other systems `\` and `C:` are ordinary file-name characters, so `..\x.png` or `C:\x.png` would be
/// accepted as odd names inside the root, yet a host that wrote them, or the person behind it, meant a
/// parent folder or another drive. Such a path is refused rather than guessed at. On Windows, `Path`
/// itself reads separators, drives and UNC shares, and the checks in [`Root::confine`] apply to them.
fn windows_shaped(raw: &str) -> Option<String> {
    if cfg!(windows) {
        return None;
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some(format!(
            "it names the Windows drive `{}`; under --root give a path inside the root, with `/` between folders",
            &raw[..2]
        ));
    }
    if raw.contains('\\') {
        return Some(
            "it contains `\\`, a Windows folder separator; under --root separate folders with `/`"
                .to_owned(),
        );
    }
    None
}

/// The target for a host's `output` without `--root`: the path as given, relative to the face's
/// working directory.
pub(crate) fn plain_target(raw: &Path) -> Result<PathBuf, Error> {
    if raw.as_os_str().is_empty() {
        return Err(Error::OutputInvalidTarget {
            path: PathBuf::new(),
            reason: "the path is empty; give a file path".to_owned(),
        });
    }
    Ok(raw.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn reason(e: Error) -> String {
        match e {
            Error::OutputInvalidTarget { reason, .. } | Error::InvalidImage { reason, .. } => {
                reason
            }
            other => other.to_string(),
        }
    }

    #[test]
    fn confinement_cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical");
        let root_dir = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root_dir.join("sub")).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("secret.png"), b"x").expect("write");
        std::fs::write(root_dir.join("in.png"), b"x").expect("write");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, root_dir.join("escape")).expect("link");
            std::os::unix::fs::symlink(root_dir.join("sub"), root_dir.join("inner")).expect("link");
            std::os::unix::fs::symlink(outside.join("secret.png"), root_dir.join("leak.png"))
                .expect("link");
        }
        let root = Root::new(&root_dir).expect("root");
        let out = |raw: &str| root.output_target(raw).map_err(reason);
        let abs = |p: &Path| p.to_string_lossy().into_owned();
        let outside_msg = format!("it is outside the root {}", root_dir.display());

        assert_eq!(out("a.png"), Ok(root_dir.join("a.png")));
        assert_eq!(out("./sub/a.png"), Ok(root_dir.join("sub/a.png")));
        assert_eq!(
            out(&abs(&root_dir.join("b.png"))),
            Ok(root_dir.join("b.png"))
        );
        assert_eq!(out("sub"), Ok(root_dir.join("sub")));
        assert_eq!(out("."), Ok(root_dir.clone()));
        assert_eq!(
            out(""),
            Err("the path is empty; give a path inside the root".to_owned())
        );
        assert_eq!(out(&abs(&outside.join("a.png"))), Err(outside_msg.clone()));
        assert_eq!(out("/etc/passwd"), Err(outside_msg));
        assert_eq!(
            out("../outside/a.png"),
            Err("`..` is not allowed under --root".to_owned())
        );
        assert_eq!(
            out("sub/../../outside/a.png"),
            Err("`..` is not allowed under --root".to_owned())
        );
        assert_eq!(
            out("new/"),
            Err("it names a folder that does not exist; create it first".to_owned())
        );
        #[cfg(unix)]
        {
            assert_eq!(
                out("escape/a.png"),
                Err(format!(
                    "{} leads outside the root {} through a link",
                    root_dir.join("escape").display(),
                    root_dir.display()
                ))
            );
            assert_eq!(out("inner/a.png"), Ok(root_dir.join("inner/a.png")));
            assert_eq!(
                out("leak.png"),
                Err("it is a symbolic link, and codex-img never writes through links".to_owned())
            );
            let input = |raw: &str| root.input_image(raw, "reference 1").map_err(reason);
            assert_eq!(input("in.png"), Ok(root_dir.join("in.png")));
            assert!(input("leak.png").is_err());
            assert!(input("escape/secret.png").is_err());
        }
    }

    #[test]
    #[cfg(not(windows))]
    fn windows_shaped_paths_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path()).expect("root");
        let drive = |d: &str| {
            Err(format!(
                "it names the Windows drive `{d}`; under --root give a path inside the root, with `/` between folders"
            ))
        };
        let separator = Err(
            "it contains `\\`, a Windows folder separator; under --root separate folders with `/`"
                .to_owned(),
        );
        let cases = [
            ("C:\\x.png", drive("C:")),
            ("c:/x.png", drive("c:")),
            ("C:x.png", drive("C:")),
            ("\\\\server\\share\\x.png", separator.clone()),
            ("..\\x.png", separator.clone()),
            ("sub\\x.png", separator),
        ];
        for (raw, want) in cases {
            assert_eq!(
                root.output_target(raw).map_err(reason),
                want,
                "output {raw}"
            );
            assert_eq!(
                root.input_image(raw, "input image").map_err(reason),
                want,
                "input {raw}"
            );
        }
        // A colon after the first two characters is an ordinary character.
        assert_eq!(
            root.output_target("ab:c.png").map_err(reason),
            Ok(root.path().join("ab:c.png"))
        );
        assert_eq!(
            root.output_target("a\0b.png").map_err(reason),
            Err("the path contains a NUL byte".to_owned())
        );
    }
}

#[cfg(test)]
mod props;

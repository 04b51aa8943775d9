//! Writing a config file whole or not at all: a temp file beside it, synced, renamed over it, with the
//! old file's permissions. A config reached through a symlink (dotfiles kept in a repository) is
//! written at the link's target, so the link stays a link.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The file to read and write for `path`: its target when it is a symlink.
pub fn resolve(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The file's text, or `None` when it does not exist yet.
pub fn read(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            action: "reading",
            file: path.to_path_buf(),
            source,
        }),
    }
}

/// Replaces `path` with `text` atomically, creating its folder when missing.
pub fn write(path: &Path, text: &str) -> Result<(), ConfigError> {
    let io = |action: &'static str| {
        move |source: std::io::Error| ConfigError::Io {
            action,
            file: path.to_path_buf(),
            source,
        }
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io("creating the folder of"))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".codex-img-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io("writing"))?;
    if let Ok(meta) = std::fs::metadata(path) {
        temp.as_file()
            .set_permissions(meta.permissions())
            .map_err(io("writing"))?;
    }
    temp.write_all(text.as_bytes()).map_err(io("writing"))?;
    temp.as_file().sync_all().map_err(io("writing"))?;
    temp.persist(path).map_err(|e| io("replacing")(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[cfg(unix)]
    #[test]
    fn a_linked_config_is_written_at_its_target_with_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("dotfiles/config.toml");
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(&target, "old").expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink(&target, &link).expect("link");
        write(&resolve(&link), "new").expect("written");
        assert!(std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&link).expect("read"), "new");
        let mode = std::fs::metadata(&target)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(target.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["config.toml"], "no temp file left");
    }

    #[test]
    fn a_missing_folder_is_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/mcp.json");
        assert_eq!(read(&path).expect("read"), None);
        write(&path, "{}").expect("written");
        assert_eq!(read(&path).expect("read"), Some("{}".to_owned()));
    }
}

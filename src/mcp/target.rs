//! Where an image goes. A call that names an `output` gets exactly that (checked like the CLI's `-o`,
//! and confined under `--root`). A call that names none still gets a file, because every image spends
//! the user's quota and an agent that later wants it in the project must not have to pay again: under
//! `--root` it is saved in the root, otherwise in the user's cache folder,
//! `$XDG_CACHE_HOME/codex-img/images` (`~/.cache/codex-img/images` when that is unset), never in
//! the agent's working directory, where an unasked-for file would show up in the user's project.
//! The file is named `codex-img-<first 12 hex digits of the sha256>.<ext>`, like the CLI's folder
//! targets.

use std::path::{Path, PathBuf};

use crate::face::root::Root;
use crate::types::error::Error;

/// The folder for images whose call names no `output`, when there is no root.
pub(crate) fn default_folder() -> PathBuf {
    let from_env = |key: &str| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = from_env("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| from_env("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("codex-img").join("images")
}

/// Where a call's images will be saved: `named`, the call's own `output` as the shared rules confined
/// it, or else the root, or else the user's cache folder (created if need be). Returns an absolute
/// path. Whether the target can be written is checked by `Client::generate_batch`, before any quota is
/// spent.
pub(crate) fn resolve(named: Option<PathBuf>, root: Option<&Root>) -> Result<PathBuf, Error> {
    let target = match (named, root) {
        (Some(target), _) => target,
        (None, Some(root)) => root.path().to_path_buf(),
        (None, None) => {
            let folder = default_folder();
            std::fs::create_dir_all(&folder).map_err(|source| Error::OutputWriteFailed {
                path: folder.clone(),
                source,
            })?;
            folder
        }
    };
    Ok(absolute(&target))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

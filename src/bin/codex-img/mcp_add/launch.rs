//! How an agent starts codex-img: the command written into its configuration.
//!
//! By default, the way this very codex-img was started: `npx -y codex-img` when it runs from npx's
//! cache, `uvx codex-img` from uv's, and otherwise an absolute path (the `codex-img` on `PATH`, else
//! this executable). An absolute path, because agents started from a desktop often have a shorter
//! `PATH` than the shell that ran `mcp add`.

use std::path::{Path, PathBuf};

/// The command and its leading arguments, before `serve-mcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub command: String,
    pub args: Vec<String>,
}

/// How to start codex-img, as `--via` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// `npx -y codex-img` (the npm package; needs Node.js).
    Npx,
    /// `uvx codex-img` (the PyPI package; needs uv).
    Uvx,
    /// This codex-img binary, by its absolute path.
    Path,
}

impl Launch {
    fn npx() -> Self {
        Self {
            command: "npx".into(),
            args: vec!["-y".into(), "codex-img".into()],
        }
    }

    fn uvx() -> Self {
        Self {
            command: "uvx".into(),
            args: vec!["codex-img".into()],
        }
    }

    fn path(path: &Path) -> Self {
        Self {
            command: path.display().to_string(),
            args: Vec::new(),
        }
    }

    /// The launch `via` asks for, or the one this process was started by; `exe` is this executable and
    /// `on_path` the `codex-img` that `PATH` finds, if any.
    pub fn resolve(via: Option<Via>, exe: &Path, on_path: Option<&Path>) -> Self {
        match via {
            Some(Via::Npx) => Self::npx(),
            Some(Via::Uvx) => Self::uvx(),
            Some(Via::Path) => Self::path(exe),
            None if in_npx_cache(exe) => Self::npx(),
            None if in_uv_cache(exe) => Self::uvx(),
            None => Self::path(on_path.unwrap_or(exe)),
        }
    }
}

/// npx installs a package it runs under `_npx/` in npm's cache.
fn in_npx_cache(exe: &Path) -> bool {
    exe.components().any(|c| c.as_os_str() == "_npx")
}

/// uvx runs a tool from an `archive-v0` folder in uv's cache.
fn in_uv_cache(exe: &Path) -> bool {
    exe.components().any(|c| c.as_os_str() == "archive-v0")
}

/// The first `codex-img` file on `PATH`, as found (not resolved through links, so an upgrade that
/// moves the link's target keeps working).
pub fn on_path() -> Option<PathBuf> {
    let name = if cfg!(windows) {
        "codex-img.exe"
    } else {
        "codex-img"
    };
    find_on_path(name)
}

/// The first file named `name` in an absolute directory of `PATH`, as found (not resolved through
/// links); `name` is used as given, with no extension added.
pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_launch_follows_how_codex_img_was_started() {
        let from = |exe: &str, on_path: Option<&str>| {
            Launch::resolve(None, Path::new(exe), on_path.map(Path::new))
        };
        assert_eq!(
            from(
                "/home/u/.npm/_npx/1a2b/node_modules/@codex-img/cli-linux-x64-gnu/codex-img",
                None
            ),
            Launch::npx()
        );
        assert_eq!(
            from(
                "/home/u/.cache/uv/archive-v0/x1/bin/codex-img",
                Some("/usr/bin/codex-img")
            ),
            Launch::uvx()
        );
        assert_eq!(
            from(
                "/opt/lib/node_modules/codex-img/bin/codex-img",
                Some("/home/u/.local/bin/codex-img")
            ),
            Launch::path(Path::new("/home/u/.local/bin/codex-img"))
        );
        assert_eq!(
            from("/home/u/.cargo/bin/codex-img", None),
            Launch::path(Path::new("/home/u/.cargo/bin/codex-img"))
        );
        assert_eq!(
            Launch::resolve(Some(Via::Npx), Path::new("/x/codex-img"), None),
            Launch::npx()
        );
    }
}

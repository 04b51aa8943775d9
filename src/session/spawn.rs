//! Starting `codex app-server`: a private, empty working folder, the binary, the `-c` overrides and the
//! environment from the [`Config`], and the coded error when the binary cannot be started. The child
//! itself (pipes, process group, stderr, stopping) is the peer's ([`crate::rpc::process`]).

use std::path::PathBuf;

use tokio::process::Command;

use crate::rpc::process::{self, Spawned};
use crate::session::config::Config;
use crate::session::workdir;
use crate::types::error::{Error, Result};

/// Starts the app-server `config` describes; returns its pipes and its working folder (removed when
/// the process is dropped).
pub(crate) fn spawn(config: &Config) -> Result<(Spawned, PathBuf)> {
    // A private, empty working directory: no AGENTS.md or project config is picked up, and staged input
    // images live here under neutral names.
    // It is marked with its owner, and the folders of owners that died without cleaning up (SIGKILL)
    // are swept first.
    let parent = std::env::temp_dir();
    workdir::sweep(&parent);
    let workdir = workdir::create(&parent).map_err(|source| Error::WorkdirUnavailable {
        parent: parent.clone(),
        source,
    })?;
    let path = workdir.path().to_path_buf();
    // The child runs in its private directory, so a relative path to the binary must be made absolute
    // first (a bare name is looked up on PATH as usual).
    let bin = absolute_bin(&config.codex_bin);
    let mut cmd = Command::new(&bin);
    cmd.arg("app-server");
    for o in config.child_overrides() {
        cmd.arg("-c").arg(o);
    }
    cmd.current_dir(&path);
    config.apply_env(&mut cmd);
    let shown = config.codex_bin.to_string_lossy().into_owned();
    let spawned = process::start(cmd, &shown, Box::new(workdir)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::CodexMissing {
            detail: not_found_detail(&config.codex_bin),
        },
        _ => Error::CodexMissing {
            detail: format!("cannot start `{shown} app-server`: {e}"),
        },
    })?;
    Ok((spawned, path))
}

/// Why a binary was not found: a bare name is missing from `PATH`, a path names no file.
pub(crate) fn not_found_detail(bin: &std::ffi::OsStr) -> String {
    let shown = bin.to_string_lossy();
    if std::path::Path::new(bin).components().count() > 1 {
        format!("`{shown}` does not exist")
    } else {
        format!("no `{shown}` on PATH")
    }
}

/// `./codex` or `bin/codex` relative to the current directory, made absolute; `codex` stays a name.
pub(crate) fn absolute_bin(bin: &std::ffi::OsStr) -> PathBuf {
    let path = std::path::Path::new(bin);
    if path.is_relative() && path.components().count() > 1 {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(path);
        }
    }
    path.to_path_buf()
}

//! The login a process started with, as the file Codex read it from: `$CODEX_HOME/auth.json`.
//!
//! A running `codex app-server` reads its login once, at start: measured on 0.122.0 and 0.171.0 (the
//! `login_probe` example), removing `auth.json` (a logout), writing an API-key login or a new ChatGPT
//! login changes nothing it reports (`account/read`, with or without `refreshToken`) and sends no
//! `account/updated`. So codex-img notices a login change itself: each process remembers the file's
//! content as it was when the process started, and before a turn a process whose file has changed is
//! replaced by a new one, which reads the new login and is checked before any quota is spent. A login
//! kept in the OS keyring (`cli_auth_credentials_store = "keyring"`) leaves no file to watch; such a
//! change is seen when the process is next started (a recycle, an idle exit, a crash).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `auth.json` as one process saw it at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthFile {
    path: Option<PathBuf>,
    /// The hash of its content, or `None` when there was no file.
    seen: Option<[u8; 32]>,
}

impl AuthFile {
    /// The login file in `codex_home` as it is now; without a home, nothing to watch.
    pub(crate) fn read(codex_home: Option<&Path>) -> Self {
        let path = codex_home.map(|home| home.join("auth.json"));
        let seen = path.as_deref().and_then(fingerprint);
        Self { path, seen }
    }

    /// Whether the file is no longer what this process started with.
    pub(crate) fn changed(&self) -> bool {
        match &self.path {
            Some(path) => fingerprint(path) != self.seen,
            None => false,
        }
    }
}

fn fingerprint(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path)
        .ok()
        .map(|bytes| Sha256::digest(&bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_a_new_login_and_the_same_login_are_told_apart() {
        let home = tempfile::tempdir().expect("tempdir");
        let auth = home.path().join("auth.json");
        std::fs::write(&auth, r#"{"auth_mode": "chatgpt"}"#).expect("write");
        let seen = AuthFile::read(Some(home.path()));
        assert!(!seen.changed());
        std::fs::write(&auth, r#"{"auth_mode": "chatgpt"}"#).expect("rewrite");
        assert!(!seen.changed(), "the same login written again is no change");
        std::fs::remove_file(&auth).expect("rm");
        assert!(seen.changed(), "a logout");
        let none = AuthFile::read(Some(home.path()));
        assert!(!none.changed());
        std::fs::write(&auth, r#"{"auth_mode": "apikey"}"#).expect("write");
        assert!(none.changed(), "a login after none");
        assert!(!AuthFile::read(None).changed());
    }
}

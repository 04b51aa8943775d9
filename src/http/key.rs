//! The API key of `serve-http`: where it comes from, the private file a generated key lives in, and the
//! constant-time check of what a client sends.
//!
//! A key is always required. It is taken from `CODEX_IMG_HTTP_TOKEN`, else from `--token-file`, else
//! from the default key file (`$XDG_CONFIG_HOME/codex-img/http-token`, or `~/.config/...`), which is
//! generated on first use with 32 random bytes and mode 0600 in a 0700 folder, and reused afterwards so
//! a configured app keeps working across restarts. A key file that other users can read is refused. The
//! key never appears in logs or `Debug` output; comparison hashes both sides and compares the digests
//! in constant time, so neither the key's bytes nor its length leak through timing.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The environment variable that holds a key.
pub const TOKEN_ENV: &str = "CODEX_IMG_HTTP_TOKEN";

/// The shortest key accepted from the user.
pub(crate) const MIN_KEY_CHARS: usize = 16;

/// A secret key. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key came from, to tell the user (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `CODEX_IMG_HTTP_TOKEN`.
    Env,
    /// A file the user named.
    File(PathBuf),
    /// The default key file, made now.
    Generated(PathBuf),
    /// The default key file, made earlier.
    Reused(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => write!(f, "the key is taken from {TOKEN_ENV}"),
            Self::File(p) => write!(f, "the key is read from {}", p.display()),
            Self::Generated(p) => write!(
                f,
                "a new key was generated into {} (readable only by you); give its contents to your app as the API key",
                p.display()
            ),
            Self::Reused(p) => write!(f, "the key is in {} (readable only by you)", p.display()),
        }
    }
}

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is too short or has characters a header cannot carry.
    #[error("the key from {from} is unusable: {reason}")]
    Invalid {
        /// Where it came from.
        from: String,
        /// Why.
        reason: String,
    },
    /// A key file is readable by other users.
    #[error("{} can be read by other users; run `chmod 600 {}`", path.display(), path.display())]
    NotPrivate {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a key file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No place for the default key file.
    #[error("no place for a key file: neither XDG_CONFIG_HOME nor HOME is set; set {TOKEN_ENV} or pass --token-file")]
    NoHome,
}

impl KeyError {
    /// The stable code, such as `http/key_not_private`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "http/invalid_key",
            Self::NotPrivate { .. } => "http/key_not_private",
            Self::Io { .. } => "http/key_file",
            Self::NoHome => "http/key_file",
        }
    }
}

impl ApiKey {
    /// A key given directly; at least 16 visible ASCII characters.
    pub fn new(key: impl Into<String>, from: &str) -> Result<Self, KeyError> {
        let key = key.into().trim().to_owned();
        let invalid = |reason: String| KeyError::Invalid {
            from: from.to_owned(),
            reason,
        };
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "it may only contain visible ASCII characters".to_owned(),
            ));
        }
        if key.len() < MIN_KEY_CHARS {
            return Err(invalid(format!(
                "it has {} characters; use at least {MIN_KEY_CHARS}",
                key.len()
            )));
        }
        Ok(Self(key))
    }

    /// A fresh random key: `cxi-` and 32 random bytes in URL-safe base64.
    pub fn generate() -> Result<Self, std::io::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self(format!(
            "cxi-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// The key, for the one place that must hand it on (a test client, the user's own program).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this key, in time that depends on neither.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(presented);
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }

    /// The key from `env` (the value of [`TOKEN_ENV`]), else `token_file`, else the default key file
    /// (made if missing).
    pub fn resolve(
        env: Option<String>,
        token_file: Option<&Path>,
    ) -> Result<(Self, KeySource), KeyError> {
        if let Some(value) = env.filter(|v| !v.trim().is_empty()) {
            return Ok((Self::new(value, TOKEN_ENV)?, KeySource::Env));
        }
        if let Some(path) = token_file {
            return Ok((read_file(path)?, KeySource::File(path.to_path_buf())));
        }
        let path = default_key_file()?;
        match std::fs::symlink_metadata(&path) {
            Ok(_) => Ok((read_file(&path)?, KeySource::Reused(path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = write_new(&path)?;
                Ok((key, KeySource::Generated(path)))
            }
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }
}

/// `$XDG_CONFIG_HOME/codex-img/http-token`, or `$HOME/.config/codex-img/http-token`.
pub fn default_key_file() -> Result<PathBuf, KeyError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })
        .ok_or(KeyError::NoHome)?;
    Ok(base.join("codex-img").join("http-token"))
}

fn read_file(path: &Path) -> Result<ApiKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::NotPrivate {
                path: path.to_path_buf(),
            });
        }
    }
    if !meta.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    ApiKey::new(text, &path.display().to_string())
}

/// Creates the key file with a fresh key, private from its first byte; never replaces a file.
fn write_new(path: &Path) -> Result<ApiKey, KeyError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| KeyError::Io { path: p, source }
    };
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(io(dir))?;
    }
    let key = ApiKey::generate().map_err(io(path))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    let written = file
        .write_all(format!("{}\n", key.0).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // A half-written key file would be reused next time; take it away.
        let _ = std::fs::remove_file(path);
        return Err(io(path)(e));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn matching_is_exact() {
        let key = ApiKey::new("0123456789abcdef", "test").expect("key");
        assert!(key.matches(b"0123456789abcdef"));
        assert!(!key.matches(b"0123456789abcdeF"));
        assert!(!key.matches(b"0123456789abcde"));
        assert!(!key.matches(b""));
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }

    #[test]
    fn user_keys_must_be_long_and_printable() {
        let reason = |k: &str| ApiKey::new(k, "X").map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(reason("  0123456789abcdef\n"), Ok(()));
        assert_eq!(
            reason("short"),
            Err("the key from X is unusable: it has 5 characters; use at least 16".to_owned())
        );
        assert_eq!(
            reason("0123456789 abcdef"),
            Err(
                "the key from X is unusable: it may only contain visible ASCII characters"
                    .to_owned()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_generated_once_and_reused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg/codex-img/http-token");
        let made = write_new(&path).expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        assert!(made.expose().starts_with("cxi-") && made.expose().len() == 47);
        assert_eq!(read_file(&path).expect("read"), made);
        // Never replaced.
        assert!(write_new(&path).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(
            read_file(&path).map_err(|e| e.code()),
            Err("http/key_not_private")
        );
        let (from_env, source) =
            ApiKey::resolve(Some("env-key-0123456789".into()), Some(&path)).expect("env");
        assert_eq!(
            (from_env.expose(), source),
            ("env-key-0123456789", KeySource::Env)
        );
    }
}

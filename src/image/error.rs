//! The two ways image handling fails: bytes that are not an image we can measure ([`ImageError`]) and a
//! save that could not happen ([`SaveError`]). Each message says what went wrong and what to try next, and
//! each variant has a stable `code()` so faces can report failures without matching on message text.

use std::io;
use std::path::PathBuf;

use super::ImageFormat;

/// The bytes are not an image whose format and size we can read from its header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The leading bytes match none of PNG, JPEG, WebP or GIF.
    #[error("unrecognized image data: not a PNG, JPEG, WebP or GIF file")]
    Unrecognized,
    /// The data ends before the header that holds the image's size.
    #[error("truncated {format} image: the data ends inside its header")]
    Truncated {
        /// The format the leading bytes announce.
        format: ImageFormat,
    },
    /// The header is present but breaks the format's rules.
    #[error("malformed {format} image: {reason}")]
    Malformed {
        /// The format the leading bytes announce.
        format: ImageFormat,
        /// Which rule the header breaks.
        reason: &'static str,
    },
}

impl ImageError {
    /// The variant's name, for tests that compare kinds of failure. The codes users see are the
    /// library's own (`output/exists`, `request/invalid_image`, ...), made from these in `Error`.
    #[cfg(test)]
    pub(crate) fn variant(&self) -> &'static str {
        match self {
            Self::Unrecognized => "Unrecognized",
            Self::Truncated { .. } => "Truncated",
            Self::Malformed { .. } => "Malformed",
        }
    }
}

/// Saving image bytes to a path failed; nothing was written at the target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The target already exists and overwriting was not asked for.
    #[error("{} already exists; pass --overwrite or choose another path", path.display())]
    Exists {
        /// The target as given.
        path: PathBuf,
    },
    /// The target can never be written as asked: it is a directory, a link, or has no parent directory.
    #[error("cannot save to {}: {reason}", path.display())]
    InvalidTarget {
        /// The target as given.
        path: PathBuf,
        /// Why it can never be written, for a person.
        reason: String,
    },
    /// The operating system refused a step of the write; the cause is in `source`.
    #[error("could not write {}; check that its directory is writable and has free space", path.display())]
    WriteFailed {
        /// The target as given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

impl SaveError {
    /// The variant's name, for tests that compare kinds of failure. The codes users see are the
    /// library's own (`output/exists`, `request/invalid_image`, ...), made from these in `Error`.
    #[cfg(test)]
    pub(crate) fn variant(&self) -> &'static str {
        match self {
            Self::Exists { .. } => "Exists",
            Self::InvalidTarget { .. } => "InvalidTarget",
            Self::WriteFailed { .. } => "WriteFailed",
        }
    }

    /// The path the failed save was aimed at.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Exists { path }
            | Self::InvalidTarget { path, .. }
            | Self::WriteFailed { path, .. } => path,
        }
    }
}

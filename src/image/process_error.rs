//! How post-processing fails: bytes that decode to no pixels, an image too large to decode safely, or an
//! encoder that refused. Every variant has a stable `code()`, like the other image errors, so the library
//! can turn it into a crate error without matching on text.

/// Decoding, keying, fitting or encoding an image failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The header announces more pixels than codex-img decodes (a decompression bomb, or simply too big).
    #[error("the image is {width}x{height} pixels; codex-img decodes at most {max_side} pixels a side and {max_pixels} pixels in all")]
    TooLarge {
        /// The announced width.
        width: u32,
        /// The announced height.
        height: u32,
        /// The largest side decoded.
        max_side: u32,
        /// The most pixels decoded.
        max_pixels: u64,
    },
    /// The bytes are not an image this build can decode (PNG, JPEG and WebP are supported).
    #[error("cannot decode the image: {reason}")]
    Decode {
        /// What the decoder said.
        reason: String,
    },
    /// The encoder for the output format refused the pixels.
    #[error("cannot encode the image as {format}: {reason}")]
    Encode {
        /// The output format.
        format: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// A size or aspect of zero, or a result that would exceed the pixel limit.
    #[error("cannot fit the image: {reason}")]
    Fit {
        /// What was wrong.
        reason: String,
    },
}

impl ProcessError {
    /// The variant's name, for tests that compare kinds of failure. The codes users see are the
    /// library's own (`output/exists`, `request/invalid_image`, ...), made from these in `Error`.
    #[cfg(test)]
    pub(crate) fn variant(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "TooLarge",
            Self::Decode { .. } => "Decode",
            Self::Encode { .. } => "Encode",
            Self::Fit { .. } => "Fit",
        }
    }
}

//! The limits of what a request may carry, checked before anything reaches Codex. The image ceilings
//! are the decoder's own, so an input codex-img accepts is one it could also decode.

use crate::image;

/// The longest prompt accepted, in characters.
pub const MAX_PROMPT_CHARS: usize = 32_000;
/// The most reference images one request may carry (besides the primary input image).
pub const MAX_REFERENCES: usize = 4;
/// The largest input image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// The widest or tallest input image accepted, in pixels, as its header declares it; also the largest
/// side a [`Size`](super::hints::Size) or [`Aspect`](super::hints::Aspect) may name. The same ceiling as the decoder's ([`image::decode::MAX_SIDE`]).
pub const MAX_IMAGE_SIDE: u32 = image::decode::MAX_SIDE;
/// The most pixels an input image may declare: 64 megapixels, about forty times what Codex returns.
/// Codex decodes every attached image to resize it, so a small file that claims a huge canvas (a
/// decompression bomb) would cost its memory, or a model request, for nothing. The same ceiling as the
/// decoder's ([`image::decode::MAX_PIXELS`]).
pub const MAX_IMAGE_PIXELS: u64 = image::decode::MAX_PIXELS;

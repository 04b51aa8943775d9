//! What a caller asks for: the prompt, optional input and reference images, and honest hints.
//!
//! Validation happens before anything reaches Codex, so bad input costs no quota: the prompt must be
//! non-empty, bounded and free of control characters, every image must be a recognised format (by its
//! magic bytes) within the byte and pixel limits. Size, aspect, quality and background are hints written into the prompt: Codex's built-in tool
//! always asks its backend for `auto`, so codex-img reports what really came back instead of promising.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::image::{self, ImageFormat};
use crate::options::{Key, Options, Plan, Target};
use crate::progress::{Progress, ProgressFn};

/// The longest prompt accepted, in characters.
pub const MAX_PROMPT_CHARS: usize = 32_000;
/// The most reference images one request may carry (besides the primary input image).
pub const MAX_REFERENCES: usize = 4;
/// The largest input image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// The widest or tallest input image accepted, in pixels, as its header declares it; also the largest
/// side a [`Size`] or [`Aspect`] may name. The same ceiling as the decoder's ([`image::decode::MAX_SIDE`]).
pub const MAX_IMAGE_SIDE: u32 = image::decode::MAX_SIDE;
/// The most pixels an input image may declare: 64 megapixels, about forty times what Codex returns.
/// Codex decodes every attached image to resize it, so a small file that claims a huge canvas (a
/// decompression bomb) would cost its memory, or a model request, for nothing. The same ceiling as the
/// decoder's ([`image::decode::MAX_PIXELS`]).
pub const MAX_IMAGE_PIXELS: u64 = image::decode::MAX_PIXELS;

/// An input image, by path or by bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A file, read when the request is checked.
    Path(PathBuf),
    /// The encoded image itself (PNG, JPEG, WebP or GIF).
    Bytes(Vec<u8>),
}

impl From<PathBuf> for ImageSource {
    fn from(p: PathBuf) -> Self {
        Self::Path(p)
    }
}

impl From<&std::path::Path> for ImageSource {
    fn from(p: &std::path::Path) -> Self {
        Self::Path(p.to_path_buf())
    }
}

impl From<Vec<u8>> for ImageSource {
    fn from(b: Vec<u8>) -> Self {
        Self::Bytes(b)
    }
}

/// A requested size in pixels (a hint), also how reports write dimensions: `{"width", "height"}`.
///
/// Each side is 1 to [`MAX_IMAGE_SIDE`]. Parsing (`"1024x1536".parse()`) checks that; a value built
/// field by field is checked with the request, before any quota is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A requested aspect ratio (a hint). Each part is 1 to [`MAX_IMAGE_SIDE`], checked as for [`Size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aspect {
    /// The width part of `width:height`.
    pub width: u32,
    /// The height part of `width:height`.
    pub height: u32,
}

/// A requested quality (a hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `auto`: the model decides.
    Auto,
}

/// A requested background (a hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// `transparent`: an alpha background, where the format allows it.
    Transparent,
    /// `opaque`.
    Opaque,
    /// `auto`: the model decides.
    Auto,
}

/// Hints passed to the model in the prompt text; none of them is guaranteed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// The size to ask for.
    pub size: Option<Size>,
    /// The aspect ratio to ask for.
    pub aspect: Option<Aspect>,
    /// The quality to ask for.
    pub quality: Option<Quality>,
    /// The background to ask for.
    pub background: Option<Background>,
}

/// One image generation.
#[derive(Clone)]
pub struct GenerateRequest {
    /// What to draw: non-empty, at most [`MAX_PROMPT_CHARS`] characters, no control characters other
    /// than tabs and line breaks.
    pub prompt: String,
    /// The image to edit (image-to-image).
    pub image: Option<ImageSource>,
    /// Reference images, in the order given.
    pub references: Vec<ImageSource>,
    /// Size, aspect, quality and background hints, written into the prompt.
    pub hints: Hints,
    /// Overrides the client's per-request deadline.
    pub timeout: Option<Duration>,
    /// What codex-img does with the image once it is in hand (format, fit, key), and, for
    /// [`Client::generate_batch`](crate::Client::generate_batch), how many to make and whether to write
    /// sidecars. [`Client::generate`](crate::Client::generate) makes one image and ignores `n` and
    /// `sidecar`.
    pub options: Options,
    pub(crate) progress: Option<ProgressFn>,
    /// `Some(true)` sends the request to Codex even while a usage limit it reported earlier has not
    /// reset; `None` follows [`ClientBuilder::ignore_known_usage_limit`](crate::ClientBuilder::ignore_known_usage_limit).
    pub(crate) ignore_known_usage_limit: Option<bool>,
}

impl fmt::Debug for GenerateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateRequest")
            .field("prompt", &self.prompt)
            .field("image", &self.image.as_ref().map(source_label))
            .field(
                "references",
                &self.references.iter().map(source_label).collect::<Vec<_>>(),
            )
            .field("hints", &self.hints)
            .field("timeout", &self.timeout)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn source_label(s: &ImageSource) -> String {
    match s {
        ImageSource::Path(p) => p.display().to_string(),
        ImageSource::Bytes(b) => format!("<{} bytes>", b.len()),
    }
}

impl GenerateRequest {
    /// A text-to-image request with no hints and the client's default deadline.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            image: None,
            references: Vec::new(),
            hints: Hints::default(),
            timeout: None,
            options: Options::default(),
            progress: None,
            ignore_known_usage_limit: None,
        }
    }

    /// Sets the image to edit (image-to-image).
    pub fn image(mut self, source: impl Into<ImageSource>) -> Self {
        self.image = Some(source.into());
        self
    }

    /// Adds a reference image, after those already added (at most [`MAX_REFERENCES`]).
    pub fn reference(mut self, source: impl Into<ImageSource>) -> Self {
        self.references.push(source.into());
        self
    }

    /// Replaces the hints.
    pub fn hints(mut self, hints: Hints) -> Self {
        self.hints = hints;
        self
    }

    /// Replaces the output options.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The options resolved for one image returned as bytes (no target: the format is the one given,
    /// else Codex's own). Checked before any turn.
    pub(crate) fn image_plan(&self) -> Result<Plan> {
        let one = Options {
            n: 1,
            sidecar: false,
            ..self.options
        };
        Ok(one.check(&self.hints, Target::None)?)
    }

    /// Overrides the client's per-request deadline for this request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether to try even while a usage limit Codex reported earlier has not reset (default: the
    /// client's setting, which refuses such requests with `runtime/usage_limit` without a model
    /// request). Trying anyway spends a model request if the limit still holds.
    pub fn ignore_known_usage_limit(mut self, ignore: bool) -> Self {
        self.ignore_known_usage_limit = Some(ignore);
        self
    }

    /// Calls `f` at each phase of the generation. It runs on the session's tasks, so keep it quick.
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}

/// A checked input image, read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputImage {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub prompt: String,
    pub image: Option<InputImage>,
    pub references: Vec<InputImage>,
    pub hints: Hints,
    /// Whether to ask the image tool for a transparent background.
    pub transparent: bool,
    /// The key colour to ask for as the fallback background, when keying was asked for.
    pub key: Option<Key>,
}

pub(crate) fn check_prompt(prompt: &str) -> Result<String> {
    let trimmed = prompt.trim();
    let invalid = |reason: &str| {
        Err(Error::InvalidPrompt {
            reason: reason.to_owned(),
        })
    };
    if trimmed.is_empty() {
        return invalid("the prompt is empty; describe the image to generate");
    }
    let chars = trimmed.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(Error::InvalidPrompt {
            reason: format!("the prompt has {chars} characters; the limit is {MAX_PROMPT_CHARS}"),
        });
    }
    // Tabs and line breaks are text; any other control character (NUL, ESC, DEL, C1) is not something
    // a person meant to send to the model, and may be an injection or a decoding accident.
    let control = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    if let Some((at, c)) = control {
        return Err(Error::InvalidPrompt {
            reason: format!(
                "the prompt contains the control character U+{:04X} at character {}; remove it (tabs and line breaks are fine)",
                u32::from(c),
                at + 1
            ),
        });
    }
    Ok(trimmed.to_owned())
}

/// Validates the request and reads its images. Nothing here talks to Codex.
pub(crate) async fn check(request: &GenerateRequest) -> Result<Checked> {
    let prompt = check_prompt(&request.prompt)?;
    let plan = request.image_plan()?;
    if request.references.len() > MAX_REFERENCES {
        return Err(Error::InvalidImage {
            which: "references".to_owned(),
            reason: format!(
                "{} reference images given; at most {MAX_REFERENCES} are allowed",
                request.references.len()
            ),
        });
    }
    let image = match &request.image {
        Some(source) => Some(read_image(source, "input image").await?),
        None => None,
    };
    let mut references = Vec::with_capacity(request.references.len());
    for (i, source) in request.references.iter().enumerate() {
        references.push(read_image(source, &format!("reference {}", i + 1)).await?);
    }
    Ok(Checked {
        prompt,
        image,
        references,
        hints: request.hints,
        transparent: plan.transparent,
        key: plan.key,
    })
}

async fn read_image(source: &ImageSource, role: &str) -> Result<InputImage> {
    let (which, bytes) = match source {
        ImageSource::Path(path) => {
            let which = format!("{role} `{}`", path.display());
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| Error::InvalidImage {
                    which: which.clone(),
                    reason: format!("cannot read it: {e}"),
                })?;
            if !meta.is_file() {
                return Err(Error::InvalidImage {
                    which,
                    reason: "not a regular file".to_owned(),
                });
            }
            if meta.len() > MAX_IMAGE_BYTES as u64 {
                return Err(too_big(which, meta.len()));
            }
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| Error::InvalidImage {
                    which: which.clone(),
                    reason: format!("cannot read it: {e}"),
                })?;
            (which, bytes)
        }
        ImageSource::Bytes(bytes) => (role.to_owned(), bytes.clone()),
    };
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_big(which, bytes.len() as u64));
    }
    match image::inspect(&bytes) {
        Ok(info)
            if info.width > MAX_IMAGE_SIDE
                || info.height > MAX_IMAGE_SIDE
                || u64::from(info.width) * u64::from(info.height) > MAX_IMAGE_PIXELS =>
        {
            Err(Error::InvalidImage {
                which,
                reason: format!(
                    "its header declares {}x{} pixels; the limit is {MAX_IMAGE_SIDE} a side and {} megapixels",
                    info.width,
                    info.height,
                    MAX_IMAGE_PIXELS / (1024 * 1024)
                ),
            })
        }
        Ok(info) => Ok(InputImage {
            bytes,
            format: info.format,
        }),
        Err(e) => Err(Error::InvalidImage {
            which,
            reason: format!("{e}; use a PNG, JPEG, WebP or GIF file"),
        }),
    }
}

fn too_big(which: String, len: u64) -> Error {
    Error::InvalidImage {
        which,
        reason: format!("it has {len} bytes; the limit is {MAX_IMAGE_BYTES}"),
    }
}

/// The key colour the turn asks for with `key: auto`: pure green, or magenta for a green subject.
const AUTO_KEY_PHRASE: &str =
    "#00FF00 (pure green; use pure magenta #FF00FF instead if the subject itself is green)";

/// The text of the turn: the prompt, then the hints and the roles of the attached images, each
/// attached image named by its neutral staged name.
///
/// A transparent request asks the image tool for a transparent background in so many words, naming
/// the tool's `transparent_background` argument (Codex 0.150+); with a key it also asks for a flat solid
/// background of the key colour should transparency be impossible (older releases, or reference
/// images), so one turn covers both and the key can be removed locally. Size and aspect stay hints.
pub(crate) fn turn_text(checked: &Checked, staged_names: &[String]) -> String {
    let mut text = checked.prompt.clone();
    let h = &checked.hints;
    let mut hints = Vec::new();
    if let Some(s) = h.size {
        hints.push(format!("size {}x{} pixels", s.width, s.height));
    }
    if let Some(a) = h.aspect {
        hints.push(format!("aspect ratio {}:{}", a.width, a.height));
    }
    if let Some(q) = h.quality {
        hints.push(format!("quality {}", q.as_str()));
    }
    match h.background {
        // Said in full below.
        Some(Background::Transparent) if checked.transparent => {}
        Some(b) => hints.push(format!("{} background", b.as_str())),
        None => {}
    }
    if !hints.is_empty() {
        text.push_str(&format!(
            "\n\nPreferences for the image (follow them as far as the image tool allows): {}.",
            hints.join(", ")
        ));
    }
    if checked.transparent {
        text.push_str(
            "\n\nThe image needs a transparent background: call the image tool with \
             transparent_background set to true, so the subject sits on real transparency (an alpha \
             channel), with no backdrop, shadow or frame.",
        );
        if let Some(key) = checked.key {
            let colour = match key {
                Key::Auto => AUTO_KEY_PHRASE.to_owned(),
                Key::Rgb(_) => key.to_string(),
            };
            text.push_str(&format!(
                " If a transparent background is not possible, use a flat solid {colour} background \
                 instead: one uniform colour from edge to edge, with no shadow, gradient, texture or \
                 reflection, and keep that colour out of the subject."
            ));
        }
    }
    let mut names = staged_names.iter();
    if checked.image.is_some() {
        if let Some(name) = names.next() {
            text.push_str(&format!("\n\nEdit the attached image {name}."));
        }
    }
    let refs: Vec<&str> = names.map(String::as_str).collect();
    if !refs.is_empty() {
        text.push_str(&format!(
            "\n\nUse the attached image(s) {} as references, in that order.",
            refs.join(", ")
        ));
    }
    text
}

macro_rules! word_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $word:literal),* }) => {
        impl $ty {
            /// The word for this value, as the CLI and the bridge spell it.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),* }
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.to_ascii_lowercase().as_str() {
                    $($word => Ok(Self::$variant),)*
                    _ => Err(format!(concat!("unknown ", $what, " `{}`; use one of: ", $($word, " "),*), s)),
                }
            }
        }
    };
}

word_enum!(Quality, "quality", { Low => "low", Medium => "medium", High => "high", Auto => "auto" });
word_enum!(Background, "background", { Transparent => "transparent", Opaque => "opaque", Auto => "auto" });

fn two_numbers(s: &str, sep: char, what: &str, example: &str) -> Result<(u32, u32), String> {
    let bad = || format!("invalid {what} `{s}`; write it like {example}");
    let (a, b) = s.split_once(sep).ok_or_else(bad)?;
    let a: u32 = a.trim().parse().map_err(|_| bad())?;
    let b: u32 = b.trim().parse().map_err(|_| bad())?;
    if !side_in_range(a) || !side_in_range(b) {
        return Err(bad());
    }
    Ok((a, b))
}

/// Whether `side` may be one side of a [`Size`] or one part of an [`Aspect`].
pub(crate) fn side_in_range(side: u32) -> bool {
    (1..=MAX_IMAGE_SIDE).contains(&side)
}

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (width, height) = two_numbers(&s.to_ascii_lowercase(), 'x', "size", "1024x1536")?;
        Ok(Self { width, height })
    }
}

impl FromStr for Aspect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (width, height) = two_numbers(s, ':', "aspect ratio", "16:9")?;
        Ok(Self { width, height })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn prompt_rules() {
        assert_eq!(
            check_prompt("  a red fox  ").ok(),
            Some("a red fox".to_owned())
        );
        assert!(matches!(
            check_prompt(" \n "),
            Err(Error::InvalidPrompt { .. })
        ));
        assert!(matches!(
            check_prompt(&"x".repeat(MAX_PROMPT_CHARS + 1)),
            Err(Error::InvalidPrompt { .. })
        ));
        assert!(matches!(
            check_prompt("a\0b"),
            Err(Error::InvalidPrompt { .. })
        ));
        assert_eq!(
            check_prompt("a fox\n\tin \r\nsnow").ok(),
            Some("a fox\n\tin \r\nsnow".to_owned())
        );
        let reasons: Vec<String> = ["a\u{1b}[31mred", "x\u{7f}", "y\u{9b}z", "ab\0"]
            .iter()
            .map(|p| match check_prompt(p) {
                Err(Error::InvalidPrompt { reason }) => reason,
                other => format!("{other:?}"),
            })
            .collect();
        let reason = |code: &str, at: usize| {
            format!("the prompt contains the control character U+{code} at character {at}; remove it (tabs and line breaks are fine)")
        };
        assert_eq!(
            reasons,
            vec![
                reason("001B", 2),
                reason("007F", 2),
                reason("009B", 2),
                reason("0000", 3)
            ]
        );
    }

    #[tokio::test]
    async fn an_image_that_declares_a_huge_canvas_is_refused() {
        let header = |w: u32, h: u32| {
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            png.extend_from_slice(&w.to_be_bytes());
            png.extend_from_slice(&h.to_be_bytes());
            png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
            png
        };
        let reason = |source: Vec<u8>| async move {
            match read_image(&ImageSource::Bytes(source), "input image").await {
                Ok(image) => format!("accepted {:?}", image.format),
                Err(Error::InvalidImage { reason, .. }) => reason,
                Err(other) => format!("{other:?}"),
            }
        };
        assert_eq!(
            vec![
                reason(header(100_000, 100_000)).await,
                reason(header(16_385, 1)).await,
                reason(header(16_384, 4_097)).await,
                reason(header(16_384, 4_096)).await,
            ],
            vec![
                "its header declares 100000x100000 pixels; the limit is 16384 a side and 64 megapixels".to_owned(),
                "its header declares 16385x1 pixels; the limit is 16384 a side and 64 megapixels".to_owned(),
                "its header declares 16384x4097 pixels; the limit is 16384 a side and 64 megapixels".to_owned(),
                "accepted Png".to_owned(),
            ]
        );
    }

    #[test]
    fn hint_parsing() {
        assert_eq!(
            "1024x1536".parse::<Size>(),
            Ok(Size {
                width: 1024,
                height: 1536
            })
        );
        assert_eq!(
            "16:9".parse::<Aspect>(),
            Ok(Aspect {
                width: 16,
                height: 9
            })
        );
        assert!("0x5".parse::<Size>().is_err());
        assert!("16/9".parse::<Aspect>().is_err());
        assert_eq!("HIGH".parse::<Quality>(), Ok(Quality::High));
        assert_eq!(
            "clear".parse::<Background>(),
            Err("unknown background `clear`; use one of: transparent opaque auto ".to_owned())
        );
    }

    #[test]
    fn turn_text_names_only_staged_files() {
        let png = vec![0u8; 1];
        let checked = Checked {
            prompt: "a cat".into(),
            image: Some(InputImage {
                bytes: png.clone(),
                format: ImageFormat::Png,
            }),
            references: vec![InputImage {
                bytes: png,
                format: ImageFormat::Png,
            }],
            hints: Hints {
                size: Some(Size {
                    width: 512,
                    height: 512,
                }),
                background: Some(Background::Opaque),
                ..Hints::default()
            },
            transparent: false,
            key: None,
        };
        assert_eq!(
            turn_text(&checked, &["input-1.png".into(), "ref-1.png".into()]),
            "a cat\n\nPreferences for the image (follow them as far as the image tool allows): size 512x512 pixels, opaque background.\n\nEdit the attached image input-1.png.\n\nUse the attached image(s) ref-1.png as references, in that order."
        );
    }

    #[test]
    fn a_transparent_request_names_the_tool_argument_and_the_key_fallback() {
        let checked = |background, key| Checked {
            prompt: "a fox".into(),
            image: None,
            references: Vec::new(),
            hints: Hints {
                background,
                ..Hints::default()
            },
            transparent: true,
            key,
        };
        let ask = "\n\nThe image needs a transparent background: call the image tool with transparent_background set to true, so the subject sits on real transparency (an alpha channel), with no backdrop, shadow or frame.";
        let fallback = |colour: &str| {
            format!(" If a transparent background is not possible, use a flat solid {colour} background instead: one uniform colour from edge to edge, with no shadow, gradient, texture or reflection, and keep that colour out of the subject.")
        };
        assert_eq!(
            vec![
                turn_text(&checked(Some(Background::Transparent), None), &[]),
                turn_text(&checked(None, Some(Key::Auto)), &[]),
                turn_text(
                    &checked(Some(Background::Transparent), Some(Key::Rgb([255, 0, 255]))),
                    &[]
                ),
            ],
            vec![
                format!("a fox{ask}"),
                format!("a fox{ask}{}", fallback(AUTO_KEY_PHRASE)),
                format!("a fox{ask}{}", fallback("#FF00FF")),
            ]
        );
    }
}

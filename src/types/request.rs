//! What a caller asks for: the prompt, optional input and reference images, honest hints, and what
//! codex-img does with the image once it is in hand. Checking it is [`super::check`]'s.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::error::Result;
use super::hints::Hints;
use super::options::{Options, Plan, Target};
use super::progress::{Progress, ProgressFn};

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

/// One image generation.
#[derive(Clone)]
pub struct GenerateRequest {
    /// What to draw: non-empty, at most [`MAX_PROMPT_CHARS`](super::limits::MAX_PROMPT_CHARS) characters, no control characters other
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

    /// Adds a reference image, after those already added (at most [`MAX_REFERENCES`](super::limits::MAX_REFERENCES)).
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

//! The output options every face shares: `format`, `compression`, `fit`, `key`, `n` and `sidecar`, and
//! the one check that refuses a bad combination before any quota is spent.
//!
//! Size, aspect, quality and background stay prompt hints ([`Hints`]); these options say what codex-img
//! itself does with the image once it is in hand: convert it, fit it to the hinted size, key out a flat
//! background, run several turns, write a provenance sidecar. [`Options::check`] resolves them against
//! the hints and the output target into a [`Plan`], or returns an [`OptionError`] with one stable code per
//! kind of mistake:
//!
//! | code | mistake |
//! |---|---|
//! | `request/unsupported_format` | a format name or a target extension that is not PNG, JPEG or WebP |
//! | `request/format_mismatch` | `format` disagrees with the target's extension |
//! | `request/invalid_option` | a value out of range (`compression` above 100, `n` outside 1–8) |
//! | `request/missing_option` | an option that needs another (`fit` without a size or aspect) |
//! | `request/conflicting_options` | options that cannot hold together (transparency with JPEG, `compression` for a lossless format, `key` with an opaque background, `sidecar` without a file) |

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::image::Processing;
pub(crate) use crate::image::{Alpha, Fit, FitTarget, Key, OutputFormat};
use crate::types::hints::{side_in_range, Background, Hints};
use crate::types::limits::MAX_IMAGE_SIDE;

/// The most images one request may ask for.
pub const MAX_N: u32 = 8;

/// What codex-img does with each image after Codex returns it, and how many to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// The format to deliver. `None` takes it from the target's extension, else keeps what Codex
    /// returned (PNG).
    pub format: Option<OutputFormat>,
    /// JPEG quality, 0–100 (0 is taken as 1, the encoder's lowest). PNG and WebP are written lossless
    /// and have no quality, so giving one for them is an error rather than silently ignored.
    pub compression: Option<u8>,
    /// Make the image exactly the hinted size (or aspect). Without it nothing is ever resized.
    pub fit: Option<Fit>,
    /// Remove a flat background of this colour when Codex could not make the image transparent. Implies
    /// a transparent background.
    pub key: Option<Key>,
    /// How many images, each from its own turn: 1 to [`MAX_N`].
    pub n: u32,
    /// Write `<image>.json` with the image's provenance next to each saved image.
    pub sidecar: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            format: None,
            compression: None,
            fit: None,
            key: None,
            n: 1,
            sidecar: false,
        }
    }
}

/// The options resolved against the hints and the target: what the library will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The post-processing of each image.
    pub processing: Processing,
    /// Whether the turn asks for a transparent background.
    pub transparent: bool,
    /// The key colour, also named in the turn text as the fallback background.
    pub key: Option<Key>,
    /// The fit mode, for the report.
    pub fit: Option<Fit>,
    /// How many turns to run.
    pub n: u32,
    /// Whether to write sidecars.
    pub sidecar: bool,
}

/// A bad option, found before any quota is spent. Each variant has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// Not PNG, JPEG or WebP.
    #[error("unsupported output format {what}; codex-img writes PNG (.png), JPEG (.jpg, .jpeg) and WebP (.webp)")]
    UnsupportedFormat {
        /// The name or extension given, and where it came from.
        what: String,
    },
    /// `format` and the target's extension disagree.
    #[error("the format {format} does not match the target's extension `.{extension}`; change one of them")]
    FormatMismatch {
        /// The format given.
        format: OutputFormat,
        /// The target's extension, without the dot.
        extension: String,
    },
    /// A value outside its range.
    #[error("invalid {option}: {reason}")]
    Invalid {
        /// The option's name.
        option: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// An option that needs another one.
    #[error("{option} needs {needs}")]
    Missing {
        /// The option given.
        option: &'static str,
        /// What it needs besides.
        needs: &'static str,
    },
    /// Options that cannot hold together.
    #[error("{0}")]
    Conflict(String),
}

impl OptionError {
    /// The stable code, such as `request/conflicting_options`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedFormat { .. } => "request/unsupported_format",
            Self::FormatMismatch { .. } => "request/format_mismatch",
            Self::Invalid { .. } => "request/invalid_option",
            Self::Missing { .. } => "request/missing_option",
            Self::Conflict(_) => "request/conflicting_options",
        }
    }
}

/// Where the images go, as far as the options care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A file path (which may not exist yet); its extension, if any, names the format.
    File(&'a Path),
    /// An existing directory: files are named by their hash.
    Directory(&'a Path),
    /// No file: the bytes go back to the caller.
    None,
}

impl<'a> Target<'a> {
    /// A path is a directory target when it is an existing directory (not through a symlink), else a
    /// file target.
    pub(crate) fn of(path: &'a Path) -> Self {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Self::Directory(path),
            _ => Self::File(path),
        }
    }
}

/// The format a file target's extension names: `Ok(None)` when it has no extension.
pub(crate) fn format_of_path(path: &Path) -> Result<Option<OutputFormat>, OptionError> {
    let Some(ext) = path.extension() else {
        return Ok(None);
    };
    let ext = ext.to_string_lossy();
    OutputFormat::from_extension(&ext)
        .map(Some)
        .ok_or_else(|| OptionError::UnsupportedFormat {
            what: format!("`.{ext}` (from {})", path.display()),
        })
}

/// Refuses a size or aspect whose sides are 0 or above [`MAX_IMAGE_SIDE`]: a parsed one never is, but
/// both types have public fields, so a Rust caller can build one that would otherwise reach the turn
/// text, or a fit that cannot be made.
fn check_hints(hints: &Hints) -> Result<(), OptionError> {
    let bad = |option: &'static str, w: u32, h: u32, sep: char| OptionError::Invalid {
        option,
        reason: format!("{w}{sep}{h} has a side outside 1 to {MAX_IMAGE_SIDE}"),
    };
    if let Some(s) = hints.size {
        if !side_in_range(s.width) || !side_in_range(s.height) {
            return Err(bad("size", s.width, s.height, 'x'));
        }
    }
    if let Some(a) = hints.aspect {
        if !side_in_range(a.width) || !side_in_range(a.height) {
            return Err(bad("aspect", a.width, a.height, ':'));
        }
    }
    Ok(())
}

impl Options {
    /// Checks the options against the hints and the target, and resolves them. Nothing here touches
    /// Codex or writes a file.
    pub(crate) fn check(&self, hints: &Hints, target: Target<'_>) -> Result<Plan, OptionError> {
        if self.n == 0 || self.n > MAX_N {
            return Err(OptionError::Invalid {
                option: "n",
                reason: format!("{} images asked for; ask for 1 to {MAX_N}", self.n),
            });
        }
        check_hints(hints)?;
        if let Some(c) = self.compression {
            if c > 100 {
                return Err(OptionError::Invalid {
                    option: "compression",
                    reason: format!(
                        "{c} is above 100; use 0 (smallest file) to 100 (best quality)"
                    ),
                });
            }
        }
        let format = match target {
            Target::File(path) => match (format_of_path(path)?, self.format) {
                (Some(ext), Some(given)) if ext != given => {
                    let extension = path
                        .extension()
                        .map(|e| e.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    return Err(OptionError::FormatMismatch {
                        format: given,
                        extension,
                    });
                }
                (ext, given) => ext.or(given),
            },
            Target::Directory(_) | Target::None => self.format,
        };
        let transparent = hints.background == Some(Background::Transparent) || self.key.is_some();
        if self.key.is_some() && hints.background == Some(Background::Opaque) {
            return Err(OptionError::Conflict(
                "key makes the background transparent, but an opaque background was asked for; drop one of them"
                    .to_owned(),
            ));
        }
        if transparent && format == Some(OutputFormat::Jpeg) {
            return Err(OptionError::Conflict(
                "JPEG has no transparency; use a .png or .webp target (or format png/webp), or drop the transparent background and key"
                    .to_owned(),
            ));
        }
        if self.compression.is_some() && format != Some(OutputFormat::Jpeg) {
            let which = format.map_or("PNG (what Codex returns)".to_owned(), |f| {
                f.to_string().to_uppercase()
            });
            return Err(OptionError::Conflict(format!(
                "compression sets JPEG quality, and {which} is written lossless with no quality setting; use a .jpg target or format jpeg, or drop compression"
            )));
        }
        let fit = match self.fit {
            None => None,
            Some(mode) => {
                let target = match (hints.size, hints.aspect) {
                    (Some(s), _) => FitTarget::Size {
                        width: s.width,
                        height: s.height,
                    },
                    (None, Some(a)) => FitTarget::Aspect {
                        width: a.width,
                        height: a.height,
                    },
                    (None, None) => {
                        return Err(OptionError::Missing {
                            option: "fit",
                            needs: "a size (WxH) or an aspect (W:H) to fit to",
                        })
                    }
                };
                Some((mode, target))
            }
        };
        if self.sidecar && target == Target::None {
            return Err(OptionError::Conflict(
                "sidecar writes a file next to the image, but no output path was given".to_owned(),
            ));
        }
        Ok(Plan {
            processing: Processing {
                format,
                quality: self.compression.map(|c| c.max(1)),
                fit,
                key: self.key,
            },
            transparent,
            key: self.key,
            fit: self.fit,
            n: self.n,
            sidecar: self.sidecar,
        })
    }
}

impl fmt::Display for Options {
    /// The options as they would be written on a command line, for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(v) = self.format {
            parts.push(format!("format={v}"));
        }
        if let Some(v) = self.compression {
            parts.push(format!("compression={v}"));
        }
        if let Some(v) = self.fit {
            parts.push(format!("fit={v}"));
        }
        if let Some(v) = self.key {
            parts.push(format!("key={v}"));
        }
        if self.n != 1 {
            parts.push(format!("n={}", self.n));
        }
        if self.sidecar {
            parts.push("sidecar".to_owned());
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::hints::{Aspect, Size};
    use pretty_assertions::assert_eq;

    fn code(options: Options, hints: Hints, target: Target<'_>) -> &'static str {
        match options.check(&hints, target) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    fn transparent() -> Hints {
        Hints {
            background: Some(Background::Transparent),
            ..Hints::default()
        }
    }

    #[test]
    fn a_size_or_aspect_built_by_hand_is_checked_like_a_parsed_one() {
        let size = |width, height| Hints {
            size: Some(Size { width, height }),
            ..Hints::default()
        };
        let aspect = |width, height| Hints {
            aspect: Some(Aspect { width, height }),
            ..Hints::default()
        };
        let check = |hints: Hints| {
            Options::default()
                .check(&hints, Target::None)
                .map(|_| ())
                .map_err(|e| (e.code(), e.to_string()))
        };
        let rows: Vec<_> = [
            size(0, 512),
            size(512, 16_385),
            size(16_384, 1),
            aspect(16, 0),
            aspect(u32::MAX, 9),
            aspect(16, 9),
        ]
        .into_iter()
        .map(check)
        .collect();
        let invalid = |what: &str| {
            Err((
                "request/invalid_option",
                format!("invalid {what} has a side outside 1 to 16384"),
            ))
        };
        assert_eq!(
            rows,
            vec![
                invalid("size: 0x512"),
                invalid("size: 512x16385"),
                Ok(()),
                invalid("aspect: 16:0"),
                invalid("aspect: 4294967295:9"),
                Ok(()),
            ]
        );
        // The parser and the check agree on the bounds.
        assert_eq!(
            ["16384x1", "16385x1", "0x5"].map(|s| s.parse::<Size>().is_ok()),
            [true, false, false]
        );
    }

    #[test]
    fn each_kind_of_mistake_has_its_code() {
        let file = |p: &'static str| Target::File(Path::new(p));
        let o = Options::default;
        let size = Hints {
            size: Some(Size {
                width: 512,
                height: 512,
            }),
            ..Hints::default()
        };
        let rows = vec![
            code(o(), Hints::default(), file("a.png")),
            code(o(), Hints::default(), file("a.gif")),
            code(o(), Hints::default(), file("a.tiff")),
            code(o(), Hints::default(), file("noext")),
            code(
                Options {
                    format: Some(OutputFormat::Webp),
                    ..o()
                },
                Hints::default(),
                file("a.png"),
            ),
            code(
                Options {
                    format: Some(OutputFormat::Jpeg),
                    ..o()
                },
                Hints::default(),
                file("a.JPG"),
            ),
            code(Options { n: 0, ..o() }, Hints::default(), Target::None),
            code(Options { n: 9, ..o() }, Hints::default(), Target::None),
            code(Options { n: 8, ..o() }, Hints::default(), Target::None),
            code(
                Options {
                    compression: Some(101),
                    ..o()
                },
                Hints::default(),
                file("a.jpg"),
            ),
            code(
                Options {
                    compression: Some(80),
                    ..o()
                },
                Hints::default(),
                file("a.jpg"),
            ),
            code(
                Options {
                    compression: Some(80),
                    ..o()
                },
                Hints::default(),
                file("a.webp"),
            ),
            code(
                Options {
                    compression: Some(80),
                    ..o()
                },
                Hints::default(),
                Target::None,
            ),
            code(o(), transparent(), file("a.jpeg")),
            code(
                Options {
                    key: Some(Key::Auto),
                    ..o()
                },
                Hints::default(),
                file("a.jpg"),
            ),
            code(
                Options {
                    key: Some(Key::Auto),
                    format: Some(OutputFormat::Jpeg),
                    ..o()
                },
                Hints::default(),
                Target::None,
            ),
            code(
                Options {
                    key: Some(Key::Auto),
                    ..o()
                },
                Hints {
                    background: Some(Background::Opaque),
                    ..Hints::default()
                },
                file("a.png"),
            ),
            code(o(), transparent(), file("a.webp")),
            code(
                Options {
                    fit: Some(Fit::Cover),
                    ..o()
                },
                Hints::default(),
                file("a.png"),
            ),
            code(
                Options {
                    fit: Some(Fit::Cover),
                    ..o()
                },
                size,
                file("a.png"),
            ),
            code(
                Options {
                    sidecar: true,
                    ..o()
                },
                Hints::default(),
                Target::None,
            ),
            code(
                Options {
                    sidecar: true,
                    ..o()
                },
                Hints::default(),
                file("a.png"),
            ),
        ];
        assert_eq!(
            rows,
            vec![
                "ok",
                "request/unsupported_format",
                "request/unsupported_format",
                "ok",
                "request/format_mismatch",
                "ok",
                "request/invalid_option",
                "request/invalid_option",
                "ok",
                "request/invalid_option",
                "ok",
                "request/conflicting_options",
                "request/conflicting_options",
                "request/conflicting_options",
                "request/conflicting_options",
                "request/conflicting_options",
                "request/conflicting_options",
                "ok",
                "request/missing_option",
                "ok",
                "request/conflicting_options",
                "ok",
            ]
        );
    }

    #[test]
    fn a_plan_resolves_format_fit_and_transparency() {
        let hints = Hints {
            aspect: Some(Aspect {
                width: 16,
                height: 9,
            }),
            ..Hints::default()
        };
        let options = Options {
            fit: Some(Fit::Contain),
            key: Some(Key::Rgb([0, 255, 0])),
            n: 3,
            ..Options::default()
        };
        let plan = options
            .check(&hints, Target::File(Path::new("out/cat.webp")))
            .expect("plan");
        assert_eq!(
            plan,
            Plan {
                processing: Processing {
                    format: Some(OutputFormat::Webp),
                    quality: None,
                    fit: Some((
                        Fit::Contain,
                        FitTarget::Aspect {
                            width: 16,
                            height: 9
                        }
                    )),
                    key: Some(Key::Rgb([0, 255, 0])),
                },
                transparent: true,
                key: Some(Key::Rgb([0, 255, 0])),
                fit: Some(Fit::Contain),
                n: 3,
                sidecar: false,
            }
        );
        // A size wins over an aspect as the fit target; compression 0 is the encoder's lowest, 1.
        let both = Hints {
            size: Some(Size {
                width: 300,
                height: 200,
            }),
            aspect: Some(Aspect {
                width: 1,
                height: 1,
            }),
            ..Hints::default()
        };
        let plan = Options {
            fit: Some(Fit::Fill),
            compression: Some(0),
            ..Options::default()
        }
        .check(&both, Target::File(Path::new("a.jpg")))
        .expect("plan");
        assert_eq!(
            (
                plan.processing.fit,
                plan.processing.quality,
                plan.processing.format
            ),
            (
                Some((
                    Fit::Fill,
                    FitTarget::Size {
                        width: 300,
                        height: 200
                    }
                )),
                Some(1),
                Some(OutputFormat::Jpeg)
            )
        );
    }

    #[test]
    fn options_read_from_json_with_defaults() {
        let parsed: Options =
            serde_json::from_str(r##"{"format":"jpg","compression":70,"key":"#00ff00","n":2}"##)
                .expect("parse");
        assert_eq!(
            parsed,
            Options {
                format: Some(OutputFormat::Jpeg),
                compression: Some(70),
                key: Some(Key::Rgb([0, 255, 0])),
                n: 2,
                ..Options::default()
            }
        );
        assert!(serde_json::from_str::<Options>(r#"{"format":"gif"}"#).is_err());
        assert!(serde_json::from_str::<Options>(r#"{"sizee":1}"#).is_err());
        assert_eq!(
            parsed.to_string(),
            "format=jpeg compression=70 key=#00FF00 n=2"
        );
    }
}

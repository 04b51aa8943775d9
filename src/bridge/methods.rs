//! The bridge's methods, named `<noun>/<verb>` like Codex's own, with their params types side by side.
//!
//! Params stay raw JSON until the method is known, then decode strictly here: unknown fields, wrong types
//! and unparseable hints are `-32602 invalid params`, before anything runs. What codex-img's own
//! taxonomy covers (an empty prompt, an image that is not one, a target outside `--root`) is left to
//! the request and answered as an application error with the CLI's codes.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::protocol::envelope::RequestId;
use crate::types::error::Error;
use crate::types::hints::{Aspect, Background, Quality, Size};
use crate::types::options::{Fit, Key, OutputFormat};
use crate::types::progress::{Phase, Progress};

use crate::face::image_input::ImageInput;
use crate::face::params;
use crate::face::root::Root;

pub(crate) const GENERATE: &str = "image/generate";
pub(crate) const CANCEL: &str = "image/cancel";
pub(crate) const DOCTOR: &str = "codex/doctor";
pub(crate) const SHUTDOWN: &str = "bridge/shutdown";
/// The notification the bridge sends while a generation runs.
pub(crate) const PROGRESS: &str = "image/progress";

/// A method the bridge serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Generate,
    Cancel,
    Doctor,
    Shutdown,
}

impl Method {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            GENERATE => Some(Self::Generate),
            CANCEL => Some(Self::Cancel),
            DOCTOR => Some(Self::Doctor),
            SHUTDOWN => Some(Self::Shutdown),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Generate => GENERATE,
            Self::Cancel => CANCEL,
            Self::Doctor => DOCTOR,
            Self::Shutdown => SHUTDOWN,
        }
    }
}

/// `image/generate` params.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GenerateParams {
    pub prompt: String,
    /// A file to write, or an existing folder to write a generated name into.
    #[serde(default)]
    pub output: Option<String>,
    /// Also return the image as base64 in the result's `base64` member.
    #[serde(default)]
    pub return_bytes: bool,
    /// The image to edit.
    #[serde(default)]
    pub image: Option<ImageParam>,
    #[serde(default)]
    pub references: Vec<ImageParam>,
    #[serde(default, deserialize_with = "parsed")]
    pub size: Option<Size>,
    #[serde(default, deserialize_with = "parsed")]
    pub aspect: Option<Aspect>,
    #[serde(default, deserialize_with = "parsed")]
    pub quality: Option<Quality>,
    #[serde(default, deserialize_with = "parsed")]
    pub background: Option<Background>,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    #[serde(default)]
    pub overwrite: bool,
    /// `png`, `jpeg` (or `jpg`) or `webp`; must agree with `output`'s extension.
    #[serde(default)]
    pub format: Option<OutputFormat>,
    /// JPEG quality, 0–100.
    #[serde(default)]
    pub compression: Option<u8>,
    /// `cover`, `contain` or `fill`: make the image exactly `size` (or `aspect`).
    #[serde(default)]
    pub fit: Option<Fit>,
    /// `auto` or `#RRGGBB`: remove a flat background of that colour when Codex could not make the
    /// image transparent.
    #[serde(default)]
    pub key: Option<Key>,
    /// How many images, 1–8; above 1 the result is a batch object.
    #[serde(default)]
    pub n: Option<u32>,
    /// Write `<image>.json` provenance next to each saved image.
    #[serde(default)]
    pub sidecar: bool,
    /// Send the request to Codex even while a usage limit it reported earlier has not reset (the
    /// library's `ignore_known_usage_limit`, also accepted under that name). Absent: the client's
    /// setting, which refuses such a request with `runtime/usage_limit` without a turn.
    #[serde(default, alias = "ignore_known_usage_limit")]
    pub ignore_known_usage_limit: Option<bool>,
}

/// An input image: exactly one of `path` and `base64`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageParam {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub base64: Option<String>,
}

/// `image/cancel` params.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelParams {
    /// The id of the request to cancel.
    #[serde(deserialize_with = "request_id")]
    pub id: RequestId,
}

/// `image/progress` params: which request, the phase it entered, and the time since it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProgressParams<'a> {
    pub id: &'a RequestId,
    pub phase: Phase,
    pub elapsed_ms: u64,
}

impl<'a> ProgressParams<'a> {
    pub(crate) fn new(id: &'a RequestId, progress: Progress) -> Self {
        Self {
            id,
            phase: progress.phase,
            elapsed_ms: u64::try_from(progress.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `codex/doctor` and `bridge/shutdown` take no params (absent, or `{}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}

fn request_id<'de, D: Deserializer<'de>>(d: D) -> Result<RequestId, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::String(s) => return Ok(RequestId::String(s.clone())),
        Value::Number(n) => {
            if let Some(n) = n.as_i64() {
                return Ok(RequestId::Integer(n));
            }
        }
        _ => {}
    }
    Err(serde::de::Error::custom(format!(
        "`id` must be the id (a string or an integer) of a request in flight, not {value}"
    )))
}

fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Decodes `params` for `method`; the error is the `-32602` message.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    method: Method,
    params: Option<Value>,
) -> Result<T, String> {
    let value = match params {
        Some(Value::Array(_)) => {
            return Err(format!(
                "invalid params for {}: pass params by name, as an object",
                method.name()
            ))
        }
        Some(v) => v,
        None => Value::Object(Default::default()),
    };
    serde_json::from_value(value).map_err(|e| format!("invalid params for {}: {e}", method.name()))
}

/// Why a generate cannot start: bad params (`-32602`) or a codex-img error.
#[derive(Debug)]
pub(crate) enum Refusal {
    Params(String),
    App(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self::App(e)
    }
}

impl From<params::Refusal> for Refusal {
    fn from(r: params::Refusal) -> Self {
        match r {
            params::Refusal::Arguments(m) => {
                Self::Params(format!("invalid params for {GENERATE}: {m}"))
            }
            params::Refusal::App(e) => Self::App(e),
        }
    }
}

/// A generate ready to run: the library request, where to save, what to return.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) job: params::Job,
    pub(crate) return_bytes: bool,
}

impl GenerateParams {
    /// Reads the bridge's params into the vocabulary every face shares, and checks them there.
    pub(crate) fn into_job(self, root: Option<&Root>) -> Result<Job, Refusal> {
        let invalid = |m: &str| Refusal::Params(format!("invalid params for {GENERATE}: {m}"));
        if self.output.is_none() && !self.return_bytes {
            return Err(invalid(
                "give `output` (a file, or a folder to write into) or `returnBytes: true`, or both",
            ));
        }
        let timeout = match self.timeout_secs {
            None => None,
            Some(secs) => match Duration::try_from_secs_f64(secs) {
                Ok(d) if secs > 0.0 => Some(d),
                _ => {
                    return Err(invalid(
                        "`timeoutSecs` must be a positive number of seconds",
                    ))
                }
            },
        };
        let image = self
            .image
            .map(|i| i.into_input("input image"))
            .transpose()?;
        let references = self
            .references
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.into_input(&format!("reference {}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        let shared = params::GenerateParams {
            prompt: self.prompt,
            output: self.output.map(PathBuf::from),
            image,
            references,
            size: self.size,
            aspect: self.aspect,
            quality: self.quality,
            background: self.background,
            format: self.format,
            compression: self.compression,
            fit: self.fit,
            key: self.key,
            n: self.n,
            sidecar: self.sidecar,
            overwrite: self.overwrite,
            timeout,
            ignore_known_usage_limit: self.ignore_known_usage_limit,
        };
        let job = shared.into_job(params::Rules { root, paths: true })?;
        Ok(Job {
            job,
            return_bytes: self.return_bytes,
        })
    }
}

impl ImageParam {
    /// `{"path"}` or `{"base64"}`, exactly one.
    fn into_input(self, role: &str) -> Result<ImageInput, Refusal> {
        match (self.path, self.base64) {
            (Some(path), None) => Ok(ImageInput::Path(PathBuf::from(path))),
            (None, Some(text)) => Ok(ImageInput::Base64(text)),
            _ => Err(Refusal::Params(format!(
                "invalid params for {GENERATE}: the {role} needs exactly one of `path` and `base64`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn generate_params_decode_strictly() {
        let ok: Result<GenerateParams, String> = decode(
            Method::Generate,
            Some(
                json!({"prompt": "a fox", "output": "fox.png", "size": "1024x1536", "quality": "high", "timeoutSecs": 90,
                        "format": "jpg", "compression": 80, "fit": "cover", "key": "#00FF00", "n": 3, "sidecar": true,
                        "ignoreKnownUsageLimit": true}),
            ),
        );
        assert_eq!(
            ok,
            Ok(GenerateParams {
                prompt: "a fox".into(),
                output: Some("fox.png".into()),
                return_bytes: false,
                image: None,
                references: vec![],
                size: Some(Size {
                    width: 1024,
                    height: 1536
                }),
                aspect: None,
                quality: Some(Quality::High),
                background: None,
                timeout_secs: Some(90.0),
                overwrite: false,
                format: Some(OutputFormat::Jpeg),
                compression: Some(80),
                fit: Some(Fit::Cover),
                key: Some(Key::Rgb([0, 255, 0])),
                n: Some(3),
                sidecar: true,
                ignore_known_usage_limit: Some(true),
            })
        );
        // The library's own name is accepted too, since the usage-limit refusal names it.
        let snake: Result<GenerateParams, String> = decode(
            Method::Generate,
            Some(
                json!({"prompt": "a fox", "returnBytes": true, "ignore_known_usage_limit": false}),
            ),
        );
        assert_eq!(snake.map(|p| p.ignore_known_usage_limit), Ok(Some(false)));
        let errors: Vec<String> = [
            json!({"prompt": 5}),
            json!({"prompt": "x", "outptu": "a.png"}),
            json!({"prompt": "x", "aspect": "16/9"}),
            json!([{"prompt": "x"}]),
        ]
        .into_iter()
        .map(|p| decode::<GenerateParams>(Method::Generate, Some(p)).unwrap_err())
        .collect();
        assert_eq!(
            errors,
            vec![
                "invalid params for image/generate: invalid type: integer `5`, expected a string".to_owned(),
                "invalid params for image/generate: unknown field `outptu`, expected one of `prompt`, `output`, `returnBytes`, `image`, `references`, `size`, `aspect`, `quality`, `background`, `timeoutSecs`, `overwrite`, `format`, `compression`, `fit`, `key`, `n`, `sidecar`, `ignoreKnownUsageLimit`, `ignore_known_usage_limit`".to_owned(),
                "invalid params for image/generate: invalid aspect ratio `16/9`; write it like 16:9".to_owned(),
                "invalid params for image/generate: pass params by name, as an object".to_owned(),
            ]
        );
    }

    #[test]
    fn no_params_means_absent_or_empty() {
        assert_eq!(decode::<NoParams>(Method::Doctor, None), Ok(NoParams {}));
        assert_eq!(
            decode::<NoParams>(Method::Doctor, Some(json!({}))),
            Ok(NoParams {})
        );
        assert!(decode::<NoParams>(Method::Shutdown, Some(json!({"now": true}))).is_err());
    }
}

//! The tools' arguments: what an agent may pass, the JSON Schema it is shown, and every check that can
//! be made before a generation spends quota.
//!
//! Arguments decode strictly (an unknown or misspelled field is refused, not ignored) and the hints are
//! parsed by the library's own parsers, so `size`, `aspect`, `quality` and `background` mean exactly
//! what they mean to the CLI. A refusal is a tool result with `isError: true` and a stable code, never
//! a protocol error, so the model sees the message and can correct its call.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::handler::server::tool::schema_for_input;
use rmcp::model::JsonObject;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::api::report::ErrorReport;
use crate::face::params;
use crate::face::root::Root;
use crate::image::{Fit, IfExists, Key, OutputFormat};
use crate::types::error::Error;
use crate::types::hints::{Aspect, Background, Quality, Size};
use crate::types::request::GenerateRequest;
use crate::types::words::Words;

use super::images::ImageArg;

/// The code of arguments that do not fit the tool's schema (the bridge's `-32602`).
pub(crate) const INVALID_ARGUMENTS: &str = "request/invalid_arguments";

/// `generate_image` arguments: the vocabulary every face shares ([`params::GenerateParams`]), as an
/// agent writes it. The value lists of the schema are the types' own ([`Words`]).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateImageArgs {
    /// What to draw (or, with `image`, how to change it). At most 32,000 characters.
    #[schemars(length(min = 1, max = 32000))]
    pub(crate) prompt: String,
    /// Where to save: a file path, or an existing folder to write `codex-img-<sha12>.<ext>` into.
    /// Relative to the server's root (--root) or working directory. An existing file is an error
    /// unless `overwrite` is true. Without it the image is saved in the root, or else in the user's
    /// cache folder (~/.cache/codex-img/images), and the result gives the path.
    #[serde(default)]
    #[schemars(with = "String")]
    pub(crate) output: Option<String>,
    /// The image to edit (image-to-image): a PNG, JPEG, WebP or GIF file path, a
    /// data:image/...;base64,... URI, or base64; or an object with exactly one of `path`, `data`,
    /// `b64_json`, `url` (a data URI; URLs are not fetched). Up to 20 MiB.
    #[serde(default)]
    #[schemars(with = "ImageArg")]
    pub(crate) image: Option<ImageArg>,
    /// Reference images, in the same forms as `image`, used in the order given; at most 4.
    #[serde(default)]
    #[schemars(length(max = 4))]
    pub(crate) references: Vec<ImageArg>,
    /// A size hint in pixels, like "1024x1536". Not with `aspect`.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", regex(pattern = r"^[0-9]+[xX][0-9]+$"))]
    pub(crate) size: Option<Size>,
    /// An aspect-ratio hint, like "16:9". Not with `size`.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", regex(pattern = r"^[0-9]+:[0-9]+$"))]
    pub(crate) aspect: Option<Aspect>,
    /// A quality hint.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", extend("enum" = Quality::words()))]
    pub(crate) quality: Option<Quality>,
    /// A background hint. `transparent` asks the image tool for real transparency; the result's
    /// alpha says what came back.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", extend("enum" = Background::words()))]
    pub(crate) background: Option<Background>,
    /// Replace an existing `output` file instead of failing with output/exists.
    #[serde(default)]
    pub(crate) overwrite: bool,
    /// Attach a preview of each image so you can see it (default true). False attaches nothing and
    /// links each saved file instead.
    #[serde(default = "yes")]
    pub(crate) inline: bool,
    /// The file format to deliver, converted by codex-img. Must agree with the extension of `output`;
    /// by default the extension decides, else PNG as Codex returns it.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", extend("enum" = OutputFormat::words()))]
    pub(crate) format: Option<OutputFormat>,
    /// JPEG quality, 0-100 (default 90); PNG and WebP are lossless and take none.
    #[serde(default)]
    #[schemars(with = "u8", range(min = 0, max = 100))]
    pub(crate) compression: Option<u8>,
    /// Make the image exactly `size` (or `aspect`): cover (scale and crop), contain (scale and pad)
    /// or fill (stretch). Without it the image is never resized.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", extend("enum" = Fit::words()))]
    pub(crate) fit: Option<Fit>,
    /// Remove a flat background of this colour if Codex cannot make the image transparent: "auto"
    /// (the border's colour) or "#RRGGBB". Implies a transparent background, so not with JPEG.
    #[serde(default, deserialize_with = "parsed")]
    #[schemars(with = "String", regex(pattern = r"^(auto|AUTO|#?[0-9a-fA-F]{6})$"))]
    pub(crate) key: Option<Key>,
    /// How many images, each from its own turn, each spending quota: 1 to 8. With more than one, a
    /// file `output` such as cat.png gives cat-1.png ... cat-N.png.
    #[serde(default)]
    #[schemars(with = "u32", range(min = 1, max = 8))]
    pub(crate) n: Option<u32>,
    /// Also write `<image>.json` beside each saved image: the prompt, the revised prompt, sha256, size
    /// and where it came from.
    #[serde(default)]
    pub(crate) sidecar: bool,
    /// Only when the user asks to try anyway: send the request to Codex even though it reported a
    /// usage limit that has not reset yet (normally such a call is refused with runtime/usage_limit
    /// and spends nothing; trying anyway may spend a model request for nothing).
    #[serde(default)]
    #[schemars(with = "bool")]
    pub(crate) ignore_known_usage_limit: Option<bool>,
}

/// A value parsed by its type's own parser, so a bad word is refused with the list of good ones.
fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err = String>,
{
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn yes() -> bool {
    true
}

/// `codex_status` takes no arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusArgs {}

/// The input schema of `generate_image`, without a `null` anywhere: schemars writes `"default": null`
/// for an optional field, and Claude Code refuses a whole tool list over a `null` it does not expect.
/// An absent default says the same.
pub(crate) fn generate_schema() -> Arc<JsonObject> {
    match schema_for_input::<GenerateImageArgs>() {
        Ok(schema) => {
            let mut schema = (*schema).clone();
            drop_null_defaults(&mut schema);
            Arc::new(schema)
        }
        Err(e) => {
            tracing::error!("the generate_image schema is not an object: {e}");
            Arc::new(JsonObject::new())
        }
    }
}

fn drop_null_defaults(object: &mut JsonObject) {
    if object
        .get("default")
        .is_some_and(serde_json::Value::is_null)
    {
        object.remove("default");
    }
    for value in object.values_mut() {
        match value {
            serde_json::Value::Object(inner) => drop_null_defaults(inner),
            serde_json::Value::Array(items) => {
                for item in items {
                    if let serde_json::Value::Object(inner) = item {
                        drop_null_defaults(inner);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The input schema of `codex_status`: an empty object.
pub(crate) fn status_schema() -> Arc<JsonObject> {
    schema_for_input::<StatusArgs>().unwrap_or_else(|e| {
        tracing::error!("the codex_status schema is not an object: {e}");
        Arc::new(JsonObject::new())
    })
}

/// A `generate_image` call ready to run: nothing in it can fail for a reason known in advance.
#[derive(Debug)]
pub(crate) struct Job {
    /// The library request, without its progress callback.
    pub(crate) request: GenerateRequest,
    /// Absolute: the file to write, or the folder to name it in.
    pub(crate) target: PathBuf,
    /// What saving does when the file exists (`overwrite`).
    pub(crate) if_exists: IfExists,
    /// Attach previews rather than only link to the files.
    pub(crate) inline: bool,
}

/// Why a call was refused before it ran.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The arguments do not fit the schema: [`INVALID_ARGUMENTS`].
    Arguments(String),
    /// A codex-img error with its own code (an input outside the root, an existing output, ...).
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
                Self::Arguments(format!("invalid arguments for generate_image: {m}"))
            }
            params::Refusal::App(e) => Self::App(e),
        }
    }
}

impl Refusal {
    /// The report a refused call answers with, shaped like the CLI's `--json` errors.
    pub(crate) fn report(&self) -> ErrorReport {
        match self {
            Self::Arguments(message) => ErrorReport::refusal(INVALID_ARGUMENTS, message.clone()),
            Self::App(e) => ErrorReport::from(e),
        }
    }
}

/// Decodes a tool's arguments strictly.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    tool: &str,
    arguments: serde_json::Map<String, serde_json::Value>,
) -> Result<T, Refusal> {
    serde_json::from_value(serde_json::Value::Object(arguments))
        .map_err(|e| Refusal::Arguments(format!("invalid arguments for {tool}: {e}")))
}

impl GenerateImageArgs {
    /// Reads the arguments into the vocabulary every face shares and checks them there, so a bad call
    /// costs no quota; a call without `output` gets this server's default folder.
    /// `Client::generate_batch` then checks the options, the input images and every output target, also
    /// before its first turn.
    pub(crate) fn into_job(self, root: Option<&Root>) -> Result<Job, Refusal> {
        let shared = params::GenerateParams {
            prompt: self.prompt,
            output: self.output.map(PathBuf::from),
            image: self.image.map(ImageArg::into_input),
            references: self
                .references
                .into_iter()
                .map(ImageArg::into_input)
                .collect(),
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
            timeout: None,
            ignore_known_usage_limit: self.ignore_known_usage_limit,
        };
        let job = shared.into_job(params::Rules { root, paths: true })?;
        let target = super::target::resolve(job.target, root)?;
        Ok(Job {
            request: job.request,
            target,
            if_exists: job.if_exists,
            inline: self.inline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn args(value: serde_json::Value) -> Result<GenerateImageArgs, String> {
        let serde_json::Value::Object(map) = value else {
            panic!("an object");
        };
        decode::<GenerateImageArgs>("generate_image", map).map_err(|r| r.report().message)
    }

    #[test]
    fn arguments_decode_strictly_with_defaults() {
        assert_eq!(
            args(json!({"prompt": "a fox"})),
            Ok(GenerateImageArgs {
                prompt: "a fox".into(),
                output: None,
                image: None,
                references: vec![],
                size: None,
                aspect: None,
                quality: None,
                background: None,
                overwrite: false,
                inline: true,
                format: None,
                compression: None,
                fit: None,
                key: None,
                n: None,
                sidecar: false,
                ignore_known_usage_limit: None,
            })
        );
        assert_eq!(
            args(json!({"prompt": "x", "outptu": "a.png"})),
            Err("invalid arguments for generate_image: unknown field `outptu`, expected one of `prompt`, `output`, `image`, `references`, `size`, `aspect`, `quality`, `background`, `overwrite`, `inline`, `format`, `compression`, `fit`, `key`, `n`, `sidecar`, `ignore_known_usage_limit`".to_owned())
        );
        assert_eq!(
            args(json!({"output": "a.png"})),
            Err("invalid arguments for generate_image: missing field `prompt`".to_owned())
        );
    }

    #[test]
    fn the_schemas_hold_no_null() {
        for schema in [generate_schema(), status_schema()] {
            let text = serde_json::Value::Object((*schema).clone()).to_string();
            assert!(!text.contains("null"), "{text}");
        }
    }

    #[test]
    fn the_schema_inlines_both_forms_of_an_image() {
        let schema = serde_json::Value::Object((*generate_schema()).clone());
        let kinds = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v["anyOf"]
                .as_array()
                .map(|a| a.iter().map(|b| b["type"].clone()).collect())
                .unwrap_or_default()
        };
        let properties = &schema["properties"];
        assert_eq!(
            kinds(&properties["image"]),
            vec![json!("string"), json!("object")]
        );
        assert_eq!(
            properties["image"]["anyOf"],
            properties["references"]["items"]["anyOf"]
        );
        assert_eq!(
            properties["image"]["anyOf"][1]["properties"]
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec![
                "b64_json".to_owned(),
                "data".to_owned(),
                "path".to_owned(),
                "url".to_owned()
            ])
        );
        assert_eq!(properties["ignore_known_usage_limit"]["type"], "boolean");
        assert!(!schema.to_string().contains("$ref"), "{schema}");
    }

    #[test]
    fn hints_are_parsed_by_the_library_before_anything_runs() {
        // A word the type does not know is refused as the arguments are decoded; the shared rules
        // refuse the rest.
        let refused = |value: serde_json::Value| -> String {
            match args(value) {
                Err(message) => format!("{INVALID_ARGUMENTS}: {message}"),
                Ok(args) => match args.into_job(None) {
                    Ok(job) => panic!("accepted: {job:?}"),
                    Err(r) => format!("{}: {}", r.report().code, r.report().message),
                },
            }
        };
        assert_eq!(
            refused(json!({"prompt": "x", "aspect": "16/9"})),
            "request/invalid_arguments: invalid arguments for generate_image: invalid aspect ratio `16/9`; write it like 16:9"
        );
        assert_eq!(
            refused(json!({"prompt": "x", "quality": "ultra"})),
            "request/invalid_arguments: invalid arguments for generate_image: unknown quality `ultra`; use one of: low medium high auto"
        );
        assert_eq!(
            refused(json!({"prompt": "x", "size": "10x10", "aspect": "1:1"})),
            "request/invalid_arguments: invalid arguments for generate_image: give `size` or `aspect`, not both"
        );
    }
}

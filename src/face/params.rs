//! The parameters every face accepts for a generation, defined once, and the one way they become a
//! request: the same rules, the same checks and the same refusals on the CLI, the bridge, the MCP
//! server and the Images API. Each face only reads its own syntax into [`GenerateParams`] (clap
//! arguments, JSON-RPC params, MCP arguments, OpenAI fields) and renders what comes back.
//!
//! What is checked here, before any quota is spent: `size` and `aspect` are not both given; the prompt
//! is usable; there are at most
//! [`MAX_REFERENCES`](crate::types::limits::MAX_REFERENCES) references; each input image is read by
//! [`image_input`] under the face's rules (paths only where the face allows them, and only inside
//! `--root` when there is one); an output target is confined to the root. `Client::generate_batch`
//! then checks the options against the target, the input images' bytes, and every output file.

use std::path::PathBuf;
use std::time::Duration;

use crate::face::image_input::{self, ImageInput, PathPolicy};
use crate::face::root::{self, Root};
use crate::image::{Fit, IfExists, Key, OutputFormat};
use crate::types::error::Error;
use crate::types::hints::{Aspect, Background, Hints, Quality, Size};
use crate::types::options::Options;
use crate::types::request::GenerateRequest;

/// One generation as any face asks for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateParams {
    /// What to draw, or how to change `image`.
    pub prompt: String,
    /// Where to save: a file, or an existing folder; relative to the root (or the working directory).
    pub output: Option<PathBuf>,
    /// The image to edit.
    pub image: Option<ImageInput>,
    /// Reference images, in order.
    pub references: Vec<ImageInput>,
    /// A size hint; not with `aspect`.
    pub size: Option<Size>,
    /// An aspect-ratio hint; not with `size`.
    pub aspect: Option<Aspect>,
    /// A quality hint.
    pub quality: Option<Quality>,
    /// A background hint (`transparent` asks the image tool for real transparency).
    pub background: Option<Background>,
    /// The format to deliver.
    pub format: Option<OutputFormat>,
    /// JPEG quality.
    pub compression: Option<u8>,
    /// Make the image exactly `size` (or `aspect`).
    pub fit: Option<Fit>,
    /// Transparency with a local key-colour fallback.
    pub key: Option<Key>,
    /// How many images (absent: one).
    pub n: Option<u32>,
    /// Write `<image>.json` beside each image.
    pub sidecar: bool,
    /// Replace an existing file.
    pub overwrite: bool,
    /// This request's deadline, queue included.
    pub timeout: Option<Duration>,
    /// Start the turns even while a usage limit Codex reported has not reset.
    pub ignore_known_usage_limit: Option<bool>,
}

/// What a face allows besides the shared rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// Outputs and input paths are confined to this folder.
    pub(crate) root: Option<&'a Root>,
    /// Input images may be named by path (every face but the Images API without a root).
    pub(crate) paths: bool,
}

impl<'a> Rules<'a> {
    /// The rules of a face run by its own user on their own files: paths anywhere, no root (the CLI).
    pub fn local() -> Self {
        Self {
            root: None,
            paths: true,
        }
    }

    /// Where input images may be named by path: nowhere, only inside the root, or anywhere.
    pub(crate) fn path_policy(&self) -> PathPolicy<'a> {
        match (self.paths, self.root) {
            (false, _) => PathPolicy::Refuse,
            (true, Some(root)) => PathPolicy::Under(root),
            (true, None) => PathPolicy::Anywhere,
        }
    }
}

/// A generation ready to run: nothing in it can fail for a reason known in advance but what
/// `Client::generate_batch` checks itself.
#[derive(Debug)]
pub struct Job {
    /// The library request, without a progress callback.
    pub request: GenerateRequest,
    /// The target as given and confined (a file, or an existing folder); `None` when none was named.
    pub target: Option<PathBuf>,
    /// What saving does when the target file exists.
    pub if_exists: IfExists,
}

/// Why a generation was refused before it ran.
#[derive(Debug)]
pub enum Refusal {
    /// The arguments themselves are wrong: each face answers with its own code for that (`-32602`,
    /// `request/invalid_arguments`, a 400, a usage error). The message does not name the face.
    Arguments(String),
    /// A codex-img error, with its own code.
    App(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self::App(e)
    }
}

impl GenerateParams {
    /// Checks what can be checked before anything runs, and makes the request.
    pub fn into_job(self, rules: Rules<'_>) -> Result<Job, Refusal> {
        if self.size.is_some() && self.aspect.is_some() {
            return Err(Refusal::Arguments(
                "give `size` or `aspect`, not both".to_owned(),
            ));
        }
        // Empty and control-bearing prompts cost nothing to refuse here, with the library's own error.
        crate::types::check::check_prompt(&self.prompt)?;
        crate::types::check::check_reference_count(self.references.len())?;
        let paths = rules.path_policy();
        let mut request = GenerateRequest::new(self.prompt)
            .hints(Hints {
                size: self.size,
                aspect: self.aspect,
                quality: self.quality,
                background: self.background,
            })
            .options(Options {
                format: self.format,
                compression: self.compression,
                fit: self.fit,
                key: self.key,
                n: self.n.unwrap_or(1),
                sidecar: self.sidecar,
            });
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if let Some(ignore) = self.ignore_known_usage_limit {
            request = request.ignore_known_usage_limit(ignore);
        }
        if let Some(image) = self.image {
            request = request.image(image_input::read(image, "input image", paths)?);
        }
        for (i, reference) in self.references.into_iter().enumerate() {
            let which = format!("reference {}", i + 1);
            request = request.reference(image_input::read(reference, &which, paths)?);
        }
        let target = match (self.output, rules.root) {
            (None, _) => None,
            (Some(raw), Some(root)) => Some(root.output_target(&utf8(&raw)?)?),
            (Some(raw), None) => Some(root::plain_target(&raw)?),
        };
        Ok(Job {
            request,
            target,
            if_exists: if self.overwrite {
                IfExists::Replace
            } else {
                IfExists::Fail
            },
        })
    }
}

/// A path a root can check: the root's rules are written for the text a host sent.
fn utf8(path: &std::path::Path) -> Result<String, Error> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::OutputInvalidTarget {
            path: path.to_path_buf(),
            reason: "the path is not valid UTF-8".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn refused(params: GenerateParams) -> String {
        let rules = Rules {
            root: None,
            paths: true,
        };
        match params.into_job(rules) {
            Ok(job) => panic!("accepted: {job:?}"),
            Err(Refusal::Arguments(m)) => format!("arguments: {m}"),
            Err(Refusal::App(e)) => format!("{}: {e}", e.code()),
        }
    }

    fn prompt(p: &str) -> GenerateParams {
        GenerateParams {
            prompt: p.to_owned(),
            ..GenerateParams::default()
        }
    }

    #[test]
    fn the_shared_rules_refuse_before_anything_runs() {
        let both = GenerateParams {
            size: Some(Size {
                width: 10,
                height: 10,
            }),
            aspect: Some(Aspect {
                width: 1,
                height: 1,
            }),
            ..prompt("a fox")
        };
        assert_eq!(
            refused(both),
            "arguments: give `size` or `aspect`, not both"
        );
        assert_eq!(
            refused(prompt("  ")),
            "request/invalid_prompt: invalid prompt: the prompt is empty; describe the image to generate"
        );
        let many = GenerateParams {
            references: vec![ImageInput::Path("a.png".into()); 5],
            ..prompt("a fox")
        };
        assert_eq!(
            refused(many),
            "request/invalid_image: invalid image references: 5 reference images given; at most 4 are allowed"
        );
    }

    #[test]
    fn the_request_carries_every_parameter() {
        let job = GenerateParams {
            output: Some("out.png".into()),
            quality: Some(Quality::High),
            n: Some(3),
            overwrite: true,
            timeout: Some(Duration::from_secs(9)),
            ignore_known_usage_limit: Some(true),
            ..prompt("a fox")
        }
        .into_job(Rules {
            root: None,
            paths: true,
        })
        .expect("a job");
        assert_eq!(
            (
                job.request.hints.quality,
                job.request.options.n,
                job.request.timeout,
                job.if_exists,
                job.target.map(|t| t.ends_with("out.png")),
            ),
            (
                Some(Quality::High),
                3,
                Some(Duration::from_secs(9)),
                IfExists::Replace,
                Some(true)
            )
        );
    }
}

//! Several images from one request, each from its own turn, saved as they finish.
//!
//! [`Client::generate_batch`](crate::Client::generate_batch) (which runs [`run`]) is the one way every face makes and saves images: it checks the options,
//! the prompt, the input images and **every** output target before the first turn starts, so a bad
//! request costs no quota. Then it runs `n` turns at once (the client's concurrency limit queues them),
//! saves each image the moment it is in hand, and writes its sidecar when asked. A failed turn is
//! reported by its index and never costs another image: whatever finished is saved and reported.
//!
//! Naming: with `n = 1` a file target is used as it is; with `n > 1` a file target `cat.png` gives
//! `cat-1.png` … `cat-N.png`. A directory target gets the usual `codex-img-<sha256 prefix>.<ext>` names.
//! Indexes are 1-based, the same numbers as in the file names.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;

use crate::api::sidecar;
use crate::image::IfExists;
use crate::session::queue::Ticket;
use crate::types::error::{Error, Result};
use crate::types::options::Target;
use crate::types::output::GeneratedImage;
use crate::types::request::GenerateRequest;
use crate::types::save::precheck_target;

/// One finished image of a batch.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Which image of the batch, from 1.
    pub index: u32,
    /// The delivered image (after post-processing).
    pub image: GeneratedImage,
    /// Where it was saved; `None` when the batch had no output target.
    pub path: Option<PathBuf>,
    /// Where its sidecar was written, when one was asked for.
    pub sidecar: Option<PathBuf>,
}

/// One image of a batch that failed.
#[derive(Debug)]
pub struct Failed {
    /// Which image of the batch, from 1.
    pub index: u32,
    /// Why.
    pub error: Error,
}

/// What a batch produced: every finished image and every failure, each in index order.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// The images that finished and were saved (or returned).
    pub delivered: Vec<Delivered>,
    /// The images that failed, by index.
    pub failed: Vec<Failed>,
}

impl BatchOutcome {
    /// True when every image was delivered.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Where image `index` (from 1) of `n` goes when `target` is a file: the target itself for a single
/// image, else `stem-index.ext` beside it.
pub fn numbered_path(target: &Path, index: u32, n: u32) -> PathBuf {
    if n <= 1 {
        return target.to_path_buf();
    }
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match target.extension() {
        Some(ext) => format!("{stem}-{index}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{index}"),
    };
    target.with_file_name(name)
}

/// What one turn of a batch ended with: its image (saved), its failure, or both (an image saved whose
/// sidecar could not be written).
struct Finished {
    delivered: Option<Delivered>,
    failed: Option<Failed>,
}

/// Saves one turn's image where the batch puts it, with its sidecar; keeps an image whose
/// post-processing failed unchanged beside the target, since it was paid for.
async fn deliver(
    destination: &Destination,
    index: u32,
    result: Result<GeneratedImage>,
    prompt: &str,
    with_sidecar: bool,
    if_exists: IfExists,
) -> Finished {
    let failed = |error| Finished {
        delivered: None,
        failed: Some(Failed { index, error }),
    };
    let image = match result {
        Ok(image) => image,
        Err(Error::ProcessFailed {
            reason,
            image,
            kept: None,
        }) => {
            let kept = match destination.dir() {
                Some(dir) => {
                    let path = dir.join(image.default_file_name());
                    match image.save_async(path, IfExists::Fail).await {
                        Ok(kept) => Some(kept),
                        Err(e) => {
                            tracing::error!("could not keep the unprocessed image: {e}");
                            None
                        }
                    }
                }
                None => None,
            };
            return failed(Error::ProcessFailed {
                reason,
                image,
                kept,
            });
        }
        Err(error) => return failed(error),
    };
    let Some(path) = destination.path_for(index, &image) else {
        return Finished {
            delivered: Some(Delivered {
                index,
                image,
                path: None,
                sidecar: None,
            }),
            failed: None,
        };
    };
    let saved = match image.save_async(path, if_exists).await {
        Ok(saved) => saved,
        Err(error) => return failed(error),
    };
    // A sidecar that cannot be written is reported, but the image stays delivered.
    let (sidecar, sidecar_error) = if with_sidecar {
        match sidecar::write(&saved, &image, prompt, if_exists).await {
            Ok(written) => (Some(written), None),
            Err(error) => (None, Some(Failed { index, error })),
        }
    } else {
        (None, None)
    };
    Finished {
        delivered: Some(Delivered {
            index,
            image,
            path: Some(saved),
            sidecar,
        }),
        failed: sidecar_error,
    }
}

/// The destination of a batch, resolved once.
#[derive(Debug, Clone)]
enum Destination {
    Files(Vec<PathBuf>),
    Directory(PathBuf),
    Nowhere,
}

impl Destination {
    /// The directory images are saved in, if any.
    fn dir(&self) -> Option<&Path> {
        match self {
            Self::Files(paths) => paths.first().map(|p| {
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
            }),
            Self::Directory(dir) => Some(dir),
            Self::Nowhere => None,
        }
    }

    fn path_for(&self, index: u32, image: &GeneratedImage) -> Option<PathBuf> {
        match self {
            Self::Files(paths) => paths.get(index as usize - 1).cloned(),
            Self::Directory(dir) => Some(dir.join(image.default_file_name())),
            Self::Nowhere => None,
        }
    }
}

/// Runs a batch whose places in the queue are `tickets`: checks everything before the first turn, then
/// runs one `turn` per image concurrently and delivers each image as it finishes. See
/// [`Client::generate_batch`](crate::Client::generate_batch).
pub(crate) async fn run<F, Fut>(
    tickets: Vec<Ticket>,
    request: GenerateRequest,
    output: Option<&Path>,
    if_exists: IfExists,
    turn: F,
) -> Result<BatchOutcome>
where
    F: Fn(Ticket, GenerateRequest) -> Fut + Sync,
    Fut: Future<Output = Result<GeneratedImage>> + Send,
{
    let target = output.map_or(Target::None, Target::of);
    let plan = request.options.check(&request.hints, target)?;
    // Prompt and input images are checked once here, before any turn; each turn checks again.
    crate::types::check::check(&request).await?;
    let n = plan.n;
    let destination = match target {
        Target::None => Destination::Nowhere,
        Target::Directory(dir) => {
            precheck_target(dir, if_exists)?;
            Destination::Directory(dir.to_path_buf())
        }
        Target::File(file) => {
            let paths: Vec<PathBuf> = (1..=n).map(|i| numbered_path(file, i, n)).collect();
            for path in &paths {
                precheck_target(path, if_exists)?;
                if plan.sidecar {
                    precheck_target(&sidecar::path_for(path), if_exists)?;
                }
            }
            Destination::Files(paths)
        }
    };
    // Each turn delivers exactly the resolved format; its own check then needs no target.
    let mut one = request;
    one.options.format = plan.processing.format;
    one.options.n = 1;
    one.options.sidecar = false;
    let prompt = one.prompt.trim().to_owned();

    // The turns run concurrently inside this future, not as spawned tasks: dropping it drops
    // every turn at once, so each is interrupted before the caller goes on (to shut Codex down,
    // say).
    let (destination, turn) = (&destination, &turn);
    let (prompt, with_sidecar) = (prompt.as_str(), plan.sidecar);
    let mut turns: Vec<Pin<Box<dyn Future<Output = Finished> + Send + '_>>> = (1..=n)
        .zip(tickets)
        .map(|(index, ticket)| {
            let request = one.clone();
            let turn = async move {
                let result = turn(ticket, request).await;
                deliver(destination, index, result, prompt, with_sidecar, if_exists).await
            };
            Box::pin(turn) as Pin<Box<dyn Future<Output = Finished> + Send + '_>>
        })
        .collect();
    let mut outcome = BatchOutcome::default();
    while !turns.is_empty() {
        let (at, finished) = std::future::poll_fn(|cx| {
            for (at, turn) in turns.iter_mut().enumerate() {
                if let Poll::Ready(finished) = turn.as_mut().poll(cx) {
                    return Poll::Ready((at, finished));
                }
            }
            Poll::Pending
        })
        .await;
        drop(turns.swap_remove(at));
        outcome.delivered.extend(finished.delivered);
        outcome.failed.extend(finished.failed);
    }
    outcome.delivered.sort_by_key(|d| d.index);
    outcome.failed.sort_by_key(|f| f.index);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::numbered_path;
    use pretty_assertions::assert_eq;
    use std::path::{Path, PathBuf};

    #[test]
    fn file_targets_are_numbered_from_one_when_there_are_several() {
        let names: Vec<PathBuf> = [
            ("out/cat.png", 1, 1),
            ("out/cat.png", 1, 3),
            ("out/cat.png", 3, 3),
            ("cat", 2, 2),
            ("a.b.webp", 8, 8),
        ]
        .into_iter()
        .map(|(p, i, n)| numbered_path(Path::new(p), i, n))
        .collect();
        assert_eq!(
            names,
            [
                "out/cat.png",
                "out/cat-1.png",
                "out/cat-3.png",
                "cat-2",
                "a.b-8.webp"
            ]
            .map(PathBuf::from)
            .to_vec()
        );
    }
}

//! One generation on the warm process: stage the inputs under neutral names, start an ephemeral thread,
//! start one turn, take the first image, interrupt the turn, and clean up after it.
//!
//! Quota is spent from the moment `turn/start` is written, so nothing from there on is ever retried, and
//! every way out (success, error, deadline, or the caller dropping the future) goes through the
//! [`TurnGuard`], which interrupts the turn if it may still run, deletes the copy Codex saved under
//! `$CODEX_HOME/generated_images/<threadId>/`, and releases the thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::image::{self, ImageInfo};
use crate::output::{CodexIds, GeneratedImage, Timings};
use crate::progress::{Phase, Progress, ProgressFn};
use crate::protocol::items::ImagePayload;
use crate::protocol::request::{
    AccountRateLimitsRead, ThreadStart, ThreadUnsubscribe, TurnInterrupt, TurnStart,
};
use crate::protocol::{
    CodexErrorInfo, ErrorCode, ImageGenerationThreadItem, ServerNotification, ThreadItem,
    TurnError, TurnStatus,
};
use crate::request::{self, Checked, GenerateRequest};
use crate::session::manager::{Live, Manager};
use crate::session::params;
use crate::session::transport::{Event, RpcError};

/// The largest image read back from `savedPath` when `result` is empty.
const MAX_SAVED_IMAGE: u64 = 128 * 1024 * 1024;
/// Attempts of `thread/start` while the server reports overload (it starts nothing, so it is safe).
const OVERLOAD_ATTEMPTS: u32 = 4;

struct Reporter {
    f: Option<ProgressFn>,
    started: Instant,
    phase: Mutex<Phase>,
}

impl Reporter {
    fn enter(&self, phase: Phase) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
        if let Some(f) = &self.f {
            f(Progress {
                phase,
                elapsed: self.started.elapsed(),
            });
        }
    }

    fn phase(&self) -> Phase {
        self.phase.lock().map(|p| *p).unwrap_or(Phase::Queued)
    }
}

pub async fn generate(
    manager: &Arc<Manager>,
    slots: &tokio::sync::Semaphore,
    request: GenerateRequest,
) -> Result<GeneratedImage> {
    let started = Instant::now();
    let deadline = request.timeout.unwrap_or(manager.config().request_timeout);
    let reporter = Reporter {
        f: request.progress.clone(),
        started,
        phase: Mutex::new(Phase::Queued),
    };
    let checked = request::check(&request).await?;
    reporter.enter(Phase::Queued);
    match tokio::time::timeout(deadline, run(manager, slots, checked, &reporter)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout {
            after: deadline,
            phase: match reporter.phase() {
                Phase::Queued => "waiting for a free slot",
                Phase::StartingProcess => "starting the Codex app-server",
                Phase::ThreadStarted => "starting the turn",
                _ => "generating",
            },
        }),
    }
}

async fn run(
    manager: &Arc<Manager>,
    slots: &tokio::sync::Semaphore,
    checked: Checked,
    reporter: &Reporter,
) -> Result<GeneratedImage> {
    let _permit = slots.acquire().await.map_err(|_| Error::Cancelled)?;
    let queue_wait = reporter.started.elapsed();
    let (live, process_start) = manager
        .acquire(|| reporter.enter(Phase::StartingProcess))
        .await?;
    if let Some(e) = live.account.blocking_error() {
        return Err(e);
    }
    if live.image_generation_offered == Some(false) {
        return Err(Error::ImageGenerationUnavailable {
            reason: "Codex reports that its model provider does not offer image generation"
                .to_owned(),
        });
    }
    let _active = live.enter();

    let staging = tempfile::Builder::new()
        .prefix("gen-")
        .tempdir_in(live.workdir())
        .map_err(|e| Error::OutputWriteFailed {
            path: live.workdir().to_path_buf(),
            source: e,
        })?;
    let staged = stage_inputs(staging.path(), &checked).await?;
    let names: Vec<String> = staged
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();

    let (events_tx, events) = mpsc::unbounded_channel();
    let thread_began = Instant::now();
    let thread_id = start_thread(&live, staging.path(), events_tx).await?;
    let thread_start = thread_began.elapsed();
    let mut guard = TurnGuard::new(
        live.clone(),
        thread_id.clone(),
        events,
        manager.config().interrupt_grace,
        staging,
    );
    reporter.enter(Phase::ThreadStarted);

    let text = request::turn_text(&checked, &names);
    let paths: Vec<&Path> = staged.iter().map(PathBuf::as_path).collect();
    let turn_began = Instant::now();
    guard.turn_may_run = true;
    let turn = match live
        .conn
        .request::<TurnStart>(&params::turn_start(&thread_id, &text, &paths))
        .await
    {
        Ok(turn) => turn.turn,
        Err(e) => {
            // An error answer means the turn never started.
            guard.turn_may_run = !matches!(e, RpcError::Server(_));
            let error = match e {
                RpcError::Exited => live.exited_error(true).await,
                RpcError::Server(obj) if obj.code == ErrorCode::SERVER_OVERLOADED => {
                    Error::Overloaded { attempts: 1 }
                }
                other => Error::InvalidMessage {
                    detail: format!("`turn/start` failed: {other}"),
                },
            };
            guard.finish().await;
            return Err(error);
        }
    };
    guard.turn_id = Some(turn.id.clone());
    reporter.enter(Phase::Generating);

    let outcome = wait_for_image(&mut guard, &live).await;
    let time_to_image = turn_began.elapsed();
    if outcome.is_ok() {
        reporter.enter(Phase::ImageReceived);
    }
    guard.finish().await;
    let found = match outcome {
        Err(Error::UsageLimit {
            resets_at: None,
            message,
        }) => {
            return Err(Error::UsageLimit {
                resets_at: limit_reset(&live).await,
                message,
            })
        }
        other => other?,
    };
    manager.note_success().await;
    let image = GeneratedImage {
        sha256: image::sha256_hex(&found.bytes),
        bytes: found.bytes,
        format: found.info.format,
        width: found.info.width,
        height: found.info.height,
        revised_prompt: found.revised_prompt,
        ids: CodexIds {
            thread_id,
            turn_id: turn.id,
            item_id: found.item_id,
        },
        timings: Timings {
            queue_wait,
            process_start,
            thread_start,
            time_to_image,
            total: reporter.started.elapsed(),
        },
        codex_version: live.version.to_string(),
    };
    reporter.enter(Phase::Done);
    Ok(image)
}

/// When the turn said "usage limit" without a time, the rate-limit windows (read without spending
/// anything) say when the exhausted one resets.
async fn limit_reset(live: &Live) -> Option<i64> {
    let read = live.conn.request::<AccountRateLimitsRead>(&());
    let limits = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?
        .ok()?
        .rate_limits;
    [limits.primary, limits.secondary]
        .into_iter()
        .flatten()
        .filter(|w| w.used_percent >= 100)
        .filter_map(|w| w.resets_at)
        .max()
}

/// Copies the inputs into the private staging folder as `input-1.<ext>` and `ref-N.<ext>`: Codex shows
/// the model each local image's path, and the user's own folder and file names must not leave the machine.
async fn stage_inputs(dir: &Path, checked: &Checked) -> Result<Vec<PathBuf>> {
    let primary = checked.image.iter().map(|i| ("input-1".to_owned(), i));
    let refs = checked
        .references
        .iter()
        .enumerate()
        .map(|(n, i)| (format!("ref-{}", n + 1), i));
    let mut staged = Vec::new();
    for (stem, input) in primary.chain(refs) {
        let path = dir.join(format!("{stem}.{}", input.format.extension()));
        tokio::fs::write(&path, &input.bytes)
            .await
            .map_err(|e| Error::OutputWriteFailed {
                path: path.clone(),
                source: e,
            })?;
        staged.push(path);
    }
    Ok(staged)
}

/// `thread/start`, retried with backoff while the server says it is overloaded: starting a thread spends
/// nothing, so it is the one step that may be retried.
async fn start_thread(
    live: &Live,
    cwd: &Path,
    events: mpsc::UnboundedSender<Event>,
) -> Result<String> {
    let params = params::thread_start(cwd, None);
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=OVERLOAD_ATTEMPTS {
        match live
            .conn
            .request_subscribing::<ThreadStart>(&params, events.clone())
            .await
        {
            Ok(started) => return Ok(started.thread.id),
            Err(RpcError::Server(e)) if e.code == ErrorCode::SERVER_OVERLOADED => {
                if attempt == OVERLOAD_ATTEMPTS {
                    return Err(Error::Overloaded { attempts: attempt });
                }
                tracing::info!(attempt, "app-server overloaded; retrying thread/start");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(RpcError::Exited) => return Err(live.exited_error(false).await),
            Err(e) => {
                return Err(Error::InvalidMessage {
                    detail: format!("`thread/start` failed: {e}"),
                })
            }
        }
    }
    Err(Error::Overloaded {
        attempts: OVERLOAD_ATTEMPTS,
    })
}

struct Found {
    bytes: Vec<u8>,
    info: ImageInfo,
    item_id: String,
    revised_prompt: Option<String>,
}

/// Reads the turn's events until the first usable image, or the turn's end.
async fn wait_for_image(guard: &mut TurnGuard, live: &Live) -> Result<Found> {
    let turn_id = guard.turn_id.clone().unwrap_or_default();
    let mut last_error: Option<TurnError> = None;
    let mut last_message: Option<String> = None;
    let mut unusable: Option<String> = None;
    let mut unreadable: Option<String> = None;
    loop {
        let Some(event) = guard.events.recv().await else {
            return Err(live.exited_error(true).await);
        };
        let notification = match event {
            Event::Exited => return Err(live.exited_error(true).await),
            Event::Invalid(detail) => {
                unreadable = Some(detail);
                continue;
            }
            Event::Notification(n) => *n,
        };
        match notification {
            ServerNotification::ItemCompleted(done) if done.turn_id == turn_id => match done.item {
                ThreadItem::ImageGeneration(item) => match take_image(&item, live).await {
                    Ok(found) => return Ok(found),
                    Err(ImageProblem::UsageLimit(resets_at)) => {
                        return Err(Error::UsageLimit {
                            resets_at,
                            message: "the image tool reported that the usage limit is reached"
                                .to_owned(),
                        })
                    }
                    Err(ImageProblem::Unusable(detail)) => {
                        tracing::warn!(item = %item.id, "image item without usable bytes: {detail}");
                        unusable = Some(detail);
                    }
                },
                ThreadItem::AgentMessage(message) => last_message = Some(message.text),
                _ => {}
            },
            ServerNotification::Error(n) if n.turn_id == turn_id && !n.will_retry => {
                last_error = Some(n.error)
            }
            ServerNotification::TurnCompleted(n) if n.turn.id == turn_id => {
                guard.turn_may_run = false;
                let error = n.turn.error.or(last_error);
                let ended = Ended {
                    status: n.turn.status,
                    error,
                    message: last_message,
                    unusable,
                    unreadable,
                };
                return Err(ended.into_error());
            }
            _ => {}
        }
    }
}

enum ImageProblem {
    UsageLimit(Option<i64>),
    Unusable(String),
}

async fn take_image(
    item: &ImageGenerationThreadItem,
    live: &Live,
) -> std::result::Result<Found, ImageProblem> {
    if let Some(resets_at) = item.usage_limit() {
        return Err(ImageProblem::UsageLimit(resets_at));
    }
    let bytes = match item.payload() {
        ImagePayload::Inline(b64) => decode_base64(b64).map_err(ImageProblem::Unusable)?,
        ImagePayload::FileId(_) | ImagePayload::Missing => read_saved(item, live)
            .await
            .map_err(ImageProblem::Unusable)?,
    };
    let info = image::inspect(&bytes)
        .map_err(|e| ImageProblem::Unusable(format!("the image bytes are not an image: {e}")))?;
    Ok(Found {
        bytes,
        info,
        item_id: item.id.clone(),
        revised_prompt: item.revised_prompt.clone(),
    })
}

fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    engine
        .decode(text.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim()))
        .map_err(|e| format!("the image's base64 is invalid: {e}"))
}

/// The fallback when `result` is empty: the file Codex saved, but only from inside its own
/// `generated_images` folder.
async fn read_saved(
    item: &ImageGenerationThreadItem,
    live: &Live,
) -> std::result::Result<Vec<u8>, String> {
    let saved = item
        .saved_path
        .as_deref()
        .ok_or("the image item has neither bytes nor a saved path")?;
    let saved = Path::new(saved);
    let allowed = live.codex_home.as_ref().map(|h| h.join("generated_images"));
    if !allowed.is_some_and(|dir| saved.starts_with(dir))
        || saved.components().any(|c| c.as_os_str() == "..")
    {
        return Err(format!(
            "the image's saved path {} is outside Codex's generated_images folder",
            saved.display()
        ));
    }
    let meta = tokio::fs::symlink_metadata(saved)
        .await
        .map_err(|e| format!("cannot read the saved image: {e}"))?;
    if !meta.is_file() || meta.len() > MAX_SAVED_IMAGE {
        return Err("the saved image is not a regular file of a sensible size".to_owned());
    }
    tokio::fs::read(saved)
        .await
        .map_err(|e| format!("cannot read the saved image: {e}"))
}

/// What is known when a turn ends without an image.
struct Ended {
    status: TurnStatus,
    error: Option<TurnError>,
    /// The model's last words, when it answered instead of calling the tool.
    message: Option<String>,
    /// An image item that came without usable bytes.
    unusable: Option<String>,
    /// A line of the turn's that could not be read (it may have been the image).
    unreadable: Option<String>,
}

impl Ended {
    fn into_error(self) -> Error {
        if let Some(error) = self.error {
            return from_turn_error(error);
        }
        if let Some(detail) = self.unusable {
            return Error::NoImage { detail };
        }
        if let Some(detail) = self.unreadable {
            return Error::InvalidMessage { detail };
        }
        let detail = match self.message {
            Some(text) => format!("the model answered instead: {}", text.trim()),
            None => format!("the turn ended ({}) without an image", self.status.as_str()),
        };
        Error::NoImage { detail }
    }
}

/// Maps a failed turn's error to codex-img's taxonomy.
pub fn from_turn_error(error: TurnError) -> Error {
    let message = error.message.clone();
    match error.codex_error_info {
        Some(CodexErrorInfo::UsageLimitExceeded) => Error::UsageLimit {
            resets_at: None,
            message,
        },
        Some(
            CodexErrorInfo::CyberPolicy
            | CodexErrorInfo::MisalignmentPolicyViolation
            | CodexErrorInfo::InferenceHookDenied,
        ) => Error::Refused { message },
        Some(CodexErrorInfo::BadRequest) if looks_like_refusal(&message) => {
            Error::Refused { message }
        }
        Some(
            CodexErrorInfo::HttpConnectionFailed(_)
            | CodexErrorInfo::ResponseStreamConnectionFailed(_)
            | CodexErrorInfo::ResponseStreamDisconnected(_)
            | CodexErrorInfo::ResponseTooManyFailedAttempts(_),
        ) => Error::BackendUnreachable { detail: message },
        Some(CodexErrorInfo::Unauthorized) => Error::NotSignedIn,
        _ if looks_like_refusal(&message) => Error::Refused { message },
        _ => Error::NoImage { detail: message },
    }
}

fn looks_like_refusal(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["safety", "policy", "moderation", "rejected"]
        .iter()
        .any(|w| m.contains(w))
}

/// Owns everything a started thread needs undone, and undoes it even when the future is dropped.
struct TurnGuard {
    parts: Option<Parts>,
    events: mpsc::UnboundedReceiver<Event>,
    turn_id: Option<String>,
    /// From the moment `turn/start` is written until the turn is seen to end.
    turn_may_run: bool,
}

struct Parts {
    live: Arc<Live>,
    thread_id: String,
    grace: Duration,
    staging: tempfile::TempDir,
}

impl TurnGuard {
    fn new(
        live: Arc<Live>,
        thread_id: String,
        events: mpsc::UnboundedReceiver<Event>,
        grace: Duration,
        staging: tempfile::TempDir,
    ) -> Self {
        Self {
            parts: Some(Parts {
                live,
                thread_id,
                grace,
                staging,
            }),
            events,
            turn_id: None,
            turn_may_run: false,
        }
    }

    async fn finish(&mut self) {
        if let Some(parts) = self.parts.take() {
            let events = std::mem::replace(&mut self.events, mpsc::unbounded_channel().1);
            cleanup(parts, events, self.turn_id.take(), self.turn_may_run).await;
        }
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let Some(parts) = self.parts.take() else {
            return;
        };
        let events = std::mem::replace(&mut self.events, mpsc::unbounded_channel().1);
        let (turn_id, may_run) = (self.turn_id.take(), self.turn_may_run);
        tracing::info!(thread = %parts.thread_id, "generation abandoned; interrupting its turn");
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(cleanup(parts, events, turn_id, may_run));
            }
            Err(_) => tracing::warn!("no async runtime to clean up an abandoned generation"),
        }
    }
}

async fn cleanup(
    parts: Parts,
    mut events: mpsc::UnboundedReceiver<Event>,
    turn_id: Option<String>,
    may_run: bool,
) {
    let Parts {
        live,
        thread_id,
        grace,
        staging,
    } = parts;
    if may_run && !live.conn.is_closed() {
        // The turn id is unknown when the caller gave up while `turn/start` was in flight; the
        // `turn/started` notification names it.
        let turn_id = match turn_id {
            Some(id) => Some(id),
            None => tokio::time::timeout(grace, wait_turn_started(&mut events))
                .await
                .ok()
                .flatten(),
        };
        if let Some(turn_id) = turn_id {
            let params = params::turn_interrupt(&thread_id, &turn_id);
            let interrupt = live.conn.request::<TurnInterrupt>(&params);
            match tokio::time::timeout(grace, interrupt).await {
                Ok(Ok(_)) => {
                    let ended =
                        tokio::time::timeout(grace, wait_turn_completed(&mut events, &turn_id))
                            .await;
                    if ended.is_err() {
                        tracing::warn!(%turn_id, "the turn did not confirm the interrupt in time");
                    }
                }
                Ok(Err(e)) => tracing::debug!(%turn_id, "turn/interrupt: {e}"),
                Err(_) => tracing::warn!(%turn_id, "turn/interrupt was not answered in time"),
            }
        }
    }
    remove_generated_images(&live, &thread_id).await;
    if !live.conn.is_closed() {
        let params = params::thread_unsubscribe(&thread_id);
        let release = live.conn.request::<ThreadUnsubscribe>(&params);
        if let Ok(Err(e)) = tokio::time::timeout(grace, release).await {
            tracing::debug!(%thread_id, "thread/unsubscribe: {e}");
        }
    }
    live.conn.unsubscribe(&thread_id);
    drop(staging);
}

async fn wait_turn_started(events: &mut mpsc::UnboundedReceiver<Event>) -> Option<String> {
    while let Some(event) = events.recv().await {
        match event {
            Event::Notification(n) => {
                if let ServerNotification::TurnStarted(n) = *n {
                    return Some(n.turn.id);
                }
            }
            Event::Exited => return None,
            _ => {}
        }
    }
    None
}

async fn wait_turn_completed(events: &mut mpsc::UnboundedReceiver<Event>, turn_id: &str) {
    while let Some(event) = events.recv().await {
        match event {
            Event::Notification(n) if matches!(&*n, ServerNotification::TurnCompleted(c) if c.turn.id == turn_id) => {
                return
            }
            Event::Exited => return,
            _ => {}
        }
    }
}

/// Deletes `$CODEX_HOME/generated_images/<threadId>/`, which Codex writes even for ephemeral threads and
/// never cleans. Only threads codex-img started get here, and the id must be a plain name.
async fn remove_generated_images(live: &Live, thread_id: &str) {
    let plain = !thread_id.is_empty()
        && thread_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let Some(home) = live.codex_home.as_ref().filter(|_| plain) else {
        return;
    };
    let dir = home.join("generated_images").join(thread_id);
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => tracing::debug!(dir = %dir.display(), "removed Codex's copy of the image"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "cannot remove Codex's copy of the image: {e}")
        }
    }
}

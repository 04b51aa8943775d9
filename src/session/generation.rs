//! One generation on the warm process: stage the inputs under neutral names, start an ephemeral thread,
//! start one turn, take the first image, and hand the thread to [`cleanup`](super::cleanup).
//!
//! Quota is spent from the moment `turn/start` is written, so nothing from there on is ever retried, and
//! every way out (success, error, deadline, or the caller dropping the future) goes through the
//! `TurnGuard`, which interrupts the turn if it may still run and undoes what the generation left.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::image;
use crate::output::{CodexIds, GeneratedImage, Timings};
use crate::progress::{Phase, Progress, ProgressFn};
use crate::protocol::request::{ThreadStart, TurnStart};
use crate::protocol::{ErrorCode, ServerNotification, ThreadItem, TurnError, TurnStatus};
use crate::request::{self, Checked, GenerateRequest};
use crate::session::cleanup::TurnGuard;
use crate::session::live::{ActiveGuard, Live};
use crate::session::manager::Manager;
use crate::session::outcome::{spent_window, take_image, Ended, Found, ImageProblem};
use crate::session::params;
use crate::session::transport::{Event, RpcError};

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
    let until = tokio::time::Instant::now() + deadline;
    // The deadline ends when the image is in hand: the cleanup after it is bounded by its own grace, and
    // an image already paid for is never turned into a timeout by it.
    let got = match tokio::time::timeout_at(until, until_image(manager, slots, checked, &reporter))
        .await
    {
        Ok(got) => got?,
        Err(_) => {
            return Err(Error::Timeout {
                after: deadline,
                phase: match reporter.phase() {
                    Phase::Queued => "waiting for a free slot",
                    Phase::StartingProcess => "starting the Codex app-server",
                    Phase::ThreadStarted => "starting the turn",
                    _ => "generating",
                },
            })
        }
    };
    let Got {
        mut guard,
        outcome,
        live,
        thread_id,
        turn_id,
        timings,
        _permit,
        _active,
    } = got;
    guard.finish().await;
    let found = match outcome {
        Err(Error::UsageLimit {
            resets_at: None,
            message,
        }) => {
            return Err(Error::UsageLimit {
                resets_at: spent_window(&live).await.flatten(),
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
            turn_id,
            item_id: found.item_id,
        },
        timings: Timings {
            total: reporter.started.elapsed(),
            ..timings
        },
        codex_version: live.version.to_string(),
    };
    reporter.enter(Phase::Done);
    Ok(image)
}

/// A turn that ended with an image or without one, with what its cleanup and report need.
struct Got<'a> {
    guard: TurnGuard,
    outcome: Result<Found>,
    live: Arc<Live>,
    thread_id: String,
    turn_id: String,
    timings: Timings,
    _permit: tokio::sync::SemaphorePermit<'a>,
    _active: ActiveGuard,
}

/// Everything up to the image (or the turn's end without one): the part the deadline covers.
async fn until_image<'a>(
    manager: &Arc<Manager>,
    slots: &'a tokio::sync::Semaphore,
    checked: Checked,
    reporter: &Reporter,
) -> Result<Got<'a>> {
    let permit = slots.acquire().await.map_err(|_| Error::Cancelled)?;
    let queue_wait = reporter.started.elapsed();
    // A process that died while idle is only noticed when used; nothing was started on it, so one
    // fresh process may be tried.
    let ready = match prepare(manager, &checked, reporter).await {
        Err(Error::AppServerExited {
            turn_started: false,
            ..
        }) => {
            tracing::info!("the app-server was gone before the turn; starting a new one");
            prepare(manager, &checked, reporter).await?
        }
        other => other?,
    };
    let Ready {
        live,
        process_start,
        _active,
        staging,
        staged,
        names,
        thread_id,
        events,
        thread_start,
    } = ready;
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
    Ok(Got {
        guard,
        outcome,
        live,
        thread_id,
        turn_id: turn.id,
        timings: Timings {
            queue_wait,
            process_start,
            thread_start,
            time_to_image,
            total: Duration::ZERO,
        },
        _permit: permit,
        _active,
    })
}

/// A thread ready for its turn, on a live process.
struct Ready {
    live: Arc<Live>,
    process_start: Option<Duration>,
    _active: ActiveGuard,
    staging: tempfile::TempDir,
    staged: Vec<PathBuf>,
    names: Vec<String>,
    thread_id: String,
    events: mpsc::UnboundedReceiver<Event>,
    thread_start: Duration,
}

/// Everything before `turn/start`: nothing here spends quota.
async fn prepare(manager: &Arc<Manager>, checked: &Checked, reporter: &Reporter) -> Result<Ready> {
    let (live, process_start) = manager
        .acquire(|| reporter.enter(Phase::StartingProcess))
        .await?;
    if let Some(e) = live.account.blocking_error() {
        manager.retire(&live).await;
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
        .map_err(|source| Error::StagingFailed {
            path: live.workdir().to_path_buf(),
            source,
        })?;
    let staged = stage_inputs(staging.path(), checked).await?;
    let names: Vec<String> = staged
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let (events_tx, events) = mpsc::unbounded_channel();
    let thread_began = Instant::now();
    let thread_id = start_thread(&live, staging.path(), manager.config().lean, events_tx).await?;
    Ok(Ready {
        live,
        process_start,
        _active,
        staging,
        staged,
        names,
        thread_id,
        events,
        thread_start: thread_began.elapsed(),
    })
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
            .map_err(|source| Error::StagingFailed {
                path: path.clone(),
                source,
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
    lean: bool,
    events: mpsc::UnboundedSender<Event>,
) -> Result<String> {
    let params = params::thread_start_for(cwd, None, lean);
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
            Event::Invalid { detail, ended_turn } => {
                if ended_turn.as_deref() == Some(turn_id.as_str()) {
                    guard.turn_may_run = false;
                    let ended = Ended {
                        status: TurnStatus::Unrecognized("unreadable".to_owned()),
                        error: last_error,
                        message: last_message,
                        unusable,
                        unreadable: Some(detail),
                    };
                    return Err(ended.into_error());
                }
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
                    Err(ImageProblem::ToolFailed) => {
                        // Stop here rather than let the model try again on the same quota.
                        return Err(match spent_window(live).await {
                            Some(resets_at) => Error::UsageLimit {
                                resets_at,
                                message: "the image tool failed while a usage window is at 100%"
                                    .to_owned(),
                            },
                            None => Error::NoImage {
                                detail: "the image tool failed without saying why".to_owned(),
                            },
                        });
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

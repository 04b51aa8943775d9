//! One generation on the warm process: wait for its turn in the queue, take a pre-started thread (or
//! start one), stage the inputs under neutral names in its folder, start one turn, take the first image,
//! answer, and hand the thread to [`cleanup`](super::cleanup) in the background.
//!
//! Quota is spent from the moment `turn/start` is written, so nothing from there on is ever retried, and
//! every way out (success, error, deadline, the caller dropping the future, or the client shutting
//! down) goes through the `TurnGuard`, which interrupts the turn if it may still run and undoes what the
//! generation left.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::request::TurnStart;
use crate::protocol::{ErrorCode, ServerNotification, ThreadItem, TurnError, TurnStatus};
use crate::rpc::transport::{Event, RpcError};
use crate::session::cleanup::TurnGuard;
use crate::session::limit::now_unix;
use crate::session::live::{ActiveGuard, Live};
use crate::session::manager::Manager;
use crate::session::outcome::{spent_window, take_image, Ended, Found, ImageProblem};
use crate::session::params;
use crate::session::pool::Fresh;
use crate::session::queue::{Permit, Ticket};
use crate::session::thread;
use crate::types::check::Checked;
use crate::types::error::{Error, Result};
use crate::types::output::{CodexIds, Timings};
use crate::types::progress::{Phase, Progress, ProgressFn};
use crate::types::request::GenerateRequest;

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

/// What a turn produced: the image exactly as Codex returned it (checked by its magic bytes, measured
/// from its header), and where it came from. Post-processing ([`super::postprocess`]) makes the
/// delivered [`GeneratedImage`] from it.
pub(crate) struct Made {
    pub(crate) bytes: Vec<u8>,
    pub(crate) info: crate::image::ImageInfo,
    pub(crate) revised_prompt: Option<String>,
    pub(crate) ids: CodexIds,
    pub(crate) timings: Timings,
    pub(crate) codex_version: String,
}

/// Generates one image. `ticket` is the request's place in the manager's queue, taken when it was
/// called.
pub(crate) async fn generate(
    manager: &Arc<Manager>,
    ticket: Ticket,
    request: GenerateRequest,
) -> Result<Made> {
    // Declared first, so dropped last: the turn's cleanup is counted before shutdown stops waiting.
    let _running = manager.begin()?;
    let deadline = request.timeout.unwrap_or(manager.config().request_timeout);
    let ignore_limit = request
        .ignore_known_usage_limit
        .unwrap_or(manager.config().ignore_known_usage_limit);
    let reporter = Reporter {
        f: request.progress.clone(),
        started: Instant::now(),
        phase: Mutex::new(Phase::Queued),
    };
    let checked = crate::types::check::check(&request).await?;
    if !ignore_limit {
        if let Some(refused) = manager.limit.refusal(now_unix()) {
            return Err(refused);
        }
    }
    reporter.enter(Phase::Queued);
    let got = within_deadline(manager, ticket, checked, &reporter, ignore_limit, deadline).await?;
    let Got {
        guard,
        outcome,
        live,
        thread_id,
        turn_id,
        timings,
        permit,
        _active,
    } = got;
    // The answer does not wait for the turn's end: the interrupt and the cleanup run on a counted task.
    guard.finish_in_background();
    let outcome = with_reset(outcome, manager, &live).await;
    if outcome.is_ok() {
        // Counted before the place is given back: a recycle decided at that moment sees this image.
        live.note_made();
    }
    tell_the_queue(manager, &outcome);
    drop(permit);
    let found = outcome?;
    manager.note_success().await;
    reporter.enter(Phase::Done);
    Ok(Made {
        bytes: found.bytes,
        info: found.info,
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
    })
}

/// [`until_image`] within the request's deadline, and ended early by shutdown. The deadline ends when
/// the image is in hand: the cleanup after it is bounded by its own grace, and an image already paid
/// for is never turned into a timeout by it.
async fn within_deadline(
    manager: &Arc<Manager>,
    ticket: Ticket,
    checked: Checked,
    reporter: &Reporter,
    ignore_limit: bool,
    deadline: Duration,
) -> Result<Got> {
    let until = tokio::time::Instant::now() + deadline;
    let until_image = until_image(manager, ticket, checked, reporter, ignore_limit);
    // Shutdown drops the wait, which hands the turn to its cleanup (`turn/interrupt`). An image already
    // in hand wins the race: it was paid for.
    let until_image = async {
        tokio::select! {
            biased;
            got = until_image => got,
            () = manager.closed() => Err(Error::ShuttingDown {
                turn_started: matches!(
                    reporter.phase(),
                    Phase::ThreadStarted | Phase::Generating | Phase::ImageReceived
                ),
            }),
        }
    };
    match tokio::time::timeout_at(until, until_image).await {
        Ok(got) => got,
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

/// A turn's usage-limit error words its reset into the message only, and names no bucket: ask Codex
/// for the spent bucket, else take the limit it announced in `account/rateLimits/updated` (read by
/// the known limit).
async fn with_reset(outcome: Result<Found>, manager: &Manager, live: &Live) -> Result<Found> {
    match outcome {
        Err(Error::UsageLimit {
            limit_id,
            resets_at: None,
            message,
            refused_locally,
        }) => {
            let (limit_id, resets_at) = match spent_window(live).await {
                Some(spent) if spent.resets_at.is_some() => {
                    (limit_id.or(spent.limit_id), spent.resets_at)
                }
                _ => match manager.limit.holding(now_unix()) {
                    Some(known) => (limit_id.or(known.limit_id), Some(known.resets_at)),
                    None => (limit_id, None),
                },
            };
            Err(Error::UsageLimit {
                limit_id,
                resets_at,
                message,
                refused_locally,
            })
        }
        other => other,
    }
}

/// After a usage limit or a 429, the requests still queued fail with it, without a turn.
fn tell_the_queue(manager: &Manager, outcome: &Result<Found>) {
    match outcome {
        Err(Error::UsageLimit {
            resets_at,
            limit_id,
            ..
        }) => stop_the_queue(manager, *resets_at, limit_id),
        Err(Error::RateLimited { .. }) => {
            let told = manager.queue.fail_waiting(|| Error::RateLimited {
                message: "not started: a request before it in the queue was answered 429"
                    .to_owned(),
            });
            if told > 0 {
                tracing::info!(told, "429: the queued requests were failed without a turn");
            }
        }
        _ => {}
    }
}

/// A usage limit: remember its reset (new requests are refused until then), and fail every request
/// still queued with the same error, so none starts a turn to learn it.
fn stop_the_queue(manager: &Manager, resets_at: Option<i64>, limit_id: &Option<String>) {
    if let Some(at) = resets_at {
        manager.limit.note(at, limit_id.clone());
    }
    let told = manager.queue.fail_waiting(|| Error::UsageLimit {
        limit_id: limit_id.clone(),
        resets_at,
        message: "not started: a request before it in the queue reached the usage limit".to_owned(),
        refused_locally: true,
    });
    if told > 0 {
        tracing::info!(
            told,
            "usage limit: the queued requests were failed without a turn"
        );
    }
}

/// A turn that ended with an image or without one, with what its cleanup and report need.
struct Got {
    guard: TurnGuard,
    outcome: Result<Found>,
    live: Arc<Live>,
    thread_id: String,
    turn_id: String,
    timings: Timings,
    permit: Permit,
    _active: ActiveGuard,
}

/// How many threads a request tries when `turn/start` says its thread is gone (no quota was spent).
const THREAD_ATTEMPTS: u32 = 3;

/// Everything up to the image (or the turn's end without one): the part the deadline covers.
async fn until_image(
    manager: &Arc<Manager>,
    ticket: Ticket,
    checked: Checked,
    reporter: &Reporter,
    ignore_limit: bool,
) -> Result<Got> {
    let permit = ticket.wait().await?;
    let queue_wait = reporter.started.elapsed();
    let mut attempt = 0;
    loop {
        attempt += 1;
        if !ignore_limit {
            if let Some(refused) = manager.limit.refusal(now_unix()) {
                return Err(refused);
            }
        }
        // A stale pooled thread is replaced by a fresh one, never by another pooled one.
        let use_pool = attempt == 1;
        // A process that died while idle is only noticed when used; nothing was started on it, so one
        // fresh process may be tried.
        let ready = match prepare(manager, reporter, use_pool).await {
            Err(Error::AppServerExited {
                turn_started: false,
                ..
            }) => {
                tracing::info!("the app-server was gone before the turn; starting a new one");
                prepare(manager, reporter, use_pool).await?
            }
            other => other?,
        };
        let Ready {
            live,
            process_start,
            _active,
            fresh,
            thread_start,
        } = ready;
        let thread_id = fresh.thread_id.clone();
        let guard = TurnGuard::new(
            live.clone(),
            thread_id.clone(),
            fresh.events,
            manager.config().interrupt_grace,
            fresh.staging,
        );
        let staging = guard
            .staging_dir()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let staged = match stage_inputs(&staging, &checked).await {
            Ok(staged) => staged,
            Err(e) => {
                live.pool().refill();
                guard.finish_in_background();
                return Err(e);
            }
        };
        let names: Vec<String> = staged
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        reporter.enter(Phase::ThreadStarted);

        let text = crate::session::turn_text::turn_text(&checked, &names);
        let paths: Vec<&Path> = staged.iter().map(PathBuf::as_path).collect();
        if manager.is_closed() {
            // No turn starts once shutdown has begun.
            guard.finish_in_background();
            return Err(Error::ShuttingDown {
                turn_started: false,
            });
        }
        let turn_began = Instant::now();
        let (turn, mut guard) =
            match start_turn(guard, &live, &thread_id, &text, &paths, attempt).await {
                Started::Turn(started) => *started,
                Started::TryAgain => continue,
                Started::Failed(e) => return Err(e),
            };
        guard.turn_id = Some(turn.clone());
        reporter.enter(Phase::Generating);

        let outcome = wait_for_image(&mut guard, &live).await;
        let time_to_image = turn_began.elapsed();
        if outcome.is_ok() {
            reporter.enter(Phase::ImageReceived);
        }
        return Ok(Got {
            guard,
            outcome,
            live,
            thread_id,
            turn_id: turn,
            timings: Timings {
                queue_wait,
                process_start,
                thread_start,
                time_to_image,
                total: Duration::ZERO,
            },
            permit,
            _active,
        });
    }
}

/// How `turn/start` went.
enum Started {
    /// The turn runs (its id): quota may be spent from here on. The guard comes back for the rest of it.
    Turn(Box<(String, TurnGuard)>),
    /// It never started (its thread was gone, or the request was never written whole): nothing was
    /// spent, and the request may try another thread or process.
    TryAgain,
    /// It failed; the guard has been handed its cleanup.
    Failed(Error),
}

/// Writes `turn/start`. From the moment it is written the turn may run and spend quota, so the guard
/// is told first; an error answer, or a request never written, means it never started.
async fn start_turn(
    mut guard: TurnGuard,
    live: &Live,
    thread_id: &str,
    text: &str,
    paths: &[&Path],
    attempt: u32,
) -> Started {
    guard.turn_may_run = true;
    let turn = live
        .conn
        .request::<TurnStart>(&params::turn_start(thread_id, text, paths))
        .await;
    live.pool().refill();
    let e = match turn {
        Ok(turn) => return Started::Turn(Box::new((turn.turn.id, guard))),
        Err(e) => e,
    };
    guard.turn_may_run = !matches!(e, RpcError::Server(_) | RpcError::NotSent);
    guard.finish_in_background();
    if e == RpcError::NotSent {
        // The process stopped reading (or died) before the request was written whole: nothing was
        // spent, so this request may try a new process, which the next `acquire` starts (the
        // connection now says it cannot be written).
        if attempt < THREAD_ATTEMPTS {
            tracing::info!("`turn/start` could not be written; trying a new app-server");
            return Started::TryAgain;
        }
        return Started::Failed(live.exited_error(false).await);
    }
    if thread::is_thread_not_found(&e) && attempt < THREAD_ATTEMPTS {
        tracing::info!(thread = %thread_id, "the thread was gone before its turn; taking another");
        return Started::TryAgain;
    }
    Started::Failed(match e {
        RpcError::Exited => live.exited_error(true).await,
        RpcError::Server(obj) if obj.code == ErrorCode::SERVER_OVERLOADED => {
            Error::Overloaded { attempts: 1 }
        }
        other if thread::is_thread_not_found(&other) => thread::lost(attempt, &other),
        other => Error::InvalidMessage {
            detail: format!("`turn/start` failed: {other}"),
        },
    })
}

/// A thread ready for its turn, on a live process.
struct Ready {
    live: Arc<Live>,
    process_start: Option<Duration>,
    _active: ActiveGuard,
    fresh: Fresh,
    /// How long this request waited for its thread: zero when a pre-started one was ready.
    thread_start: Duration,
}

/// Everything before `turn/start`: nothing here spends quota.
async fn prepare(manager: &Arc<Manager>, reporter: &Reporter, use_pool: bool) -> Result<Ready> {
    // Started here, not by the manager, which `upkeep` depends on.
    crate::session::upkeep::ensure(manager);
    let (active, process_start) = manager
        .acquire(|| reporter.enter(Phase::StartingProcess))
        .await?;
    let live = active.live().clone();
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
    let thread_began = Instant::now();
    let pooled = if use_pool { live.pool().take() } else { None };
    let (fresh, thread_start) = match pooled {
        Some(fresh) => (fresh, Duration::ZERO),
        None => (live.open_thread().await?, thread_began.elapsed()),
    };
    Ok(Ready {
        live,
        process_start,
        _active: active,
        fresh,
        thread_start,
    })
}

/// Copies the inputs into the thread's private folder as `input-1.<ext>` and `ref-N.<ext>`: Codex shows
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
                ThreadItem::ImageGeneration(mut item) => match take_image(&mut item, live).await {
                    Ok(found) => return Ok(found),
                    Err(ImageProblem::UsageLimit(spent)) => {
                        return Err(Error::UsageLimit {
                            limit_id: spent.limit_id,
                            resets_at: spent.resets_at,
                            message: "the image tool reported that the usage limit is reached"
                                .to_owned(),
                            refused_locally: false,
                        })
                    }
                    Err(ImageProblem::ToolFailed) => {
                        // Stop here rather than let the model try again on the same quota.
                        return Err(match spent_window(live).await {
                            Some(spent) => Error::UsageLimit {
                                limit_id: spent.limit_id,
                                resets_at: spent.resets_at,
                                message: "the image tool failed while a usage window is at 100%"
                                    .to_owned(),
                                refused_locally: false,
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

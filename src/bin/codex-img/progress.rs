//! Progress on stderr while a generation runs.
//!
//! Every phase the library reports becomes one plain line, `codex-img: <phase> (<elapsed>s)`. On a
//! terminal a spinner line under them shows the current phase and the time so far, redrawn in place
//! every 100 ms; when stderr is not a terminal (a pipe, a file, a test), nothing is redrawn: no `\r`,
//! no escape sequences, only the plain lines.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codex_img::Phase;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK: Duration = Duration::from_millis(100);
/// Carriage return, then "erase the whole line".
const CLEAR_LINE: &str = "\r\x1b[2K";

/// A phase as a person reads it.
pub fn label(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued => "queued",
        Phase::StartingProcess => "starting the Codex app-server",
        Phase::ThreadStarted => "thread started",
        Phase::Generating => "generating the image",
        Phase::ImageReceived => "image received",
        Phase::Done => "done",
    }
}

struct State {
    phase: Option<Phase>,
    frame: usize,
    /// Whether a spinner line is on screen and must be erased before anything else is written.
    drawn: bool,
    finished: bool,
}

struct Shared {
    tty: bool,
    started: Instant,
    state: Mutex<State>,
}

impl Shared {
    fn phase(&self, phase: Phase, elapsed: Duration) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.finished {
            return;
        }
        state.phase = Some(phase);
        let mut err = std::io::stderr().lock();
        let mut text = String::new();
        if state.drawn {
            text.push_str(CLEAR_LINE);
            state.drawn = false;
        }
        text.push_str(&format!(
            "codex-img: {} ({:.1}s)\n",
            label(phase),
            elapsed.as_secs_f64()
        ));
        if self.tty && phase != Phase::Done {
            text.push_str(&self.spinner(&mut state));
        }
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    fn spinner(&self, state: &mut State) -> String {
        let Some(phase) = state.phase else {
            return String::new();
        };
        state.frame = (state.frame + 1) % FRAMES.len();
        state.drawn = true;
        format!(
            "{CLEAR_LINE}{} {}… {:.1}s",
            FRAMES[state.frame],
            label(phase),
            self.started.elapsed().as_secs_f64()
        )
    }

    fn tick(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.finished || state.phase.is_none() || state.phase == Some(Phase::Done) {
            return;
        }
        let text = self.spinner(&mut state);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    fn finish(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.finished = true;
        if state.drawn {
            state.drawn = false;
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(CLEAR_LINE.as_bytes());
            let _ = err.flush();
        }
    }
}

/// The progress display of one generation. Dropping it stops the spinner and erases its line.
pub struct Progress {
    shared: Arc<Shared>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts the display; `tty` says whether stderr is a terminal. Must run inside the tokio runtime.
    pub fn start(tty: bool) -> Self {
        let shared = Arc::new(Shared {
            tty,
            started: Instant::now(),
            state: Mutex::new(State {
                phase: None,
                frame: 0,
                drawn: false,
                finished: false,
            }),
        });
        let ticker = tty.then(|| {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(TICK);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    interval.tick().await;
                    shared.tick();
                }
            })
        });
        Self { shared, ticker }
    }

    /// The callback to hand to `GenerateRequest::on_progress`.
    pub fn callback(&self) -> impl Fn(codex_img::Progress) + Send + Sync + 'static {
        let shared = Arc::clone(&self.shared);
        move |p: codex_img::Progress| shared.phase(p.phase, p.elapsed)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        self.shared.finish();
    }
}

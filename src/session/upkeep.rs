//! The manager's background task, started with its first request: it replaces a process that should be
//! recycled (see `recycle`) at a moment when no request is anywhere between its call and its answer, and
//! stops one that has been unused for the idle timeout. It looks every few seconds, and at once each time
//! the queue's last request is answered, so a host that sends bursts back to back is still caught
//! between two of them. It holds the manager weakly, so it ends with it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::session::handshake;
use crate::session::live::Live;
use crate::session::manager::Manager;
use crate::session::recycle::{self, CHECK_EVERY, PAUSE_AFTER_FAILURE, WARM_WITHIN};

/// Starts the task, once per manager; needs a runtime, so it is called with a request, not at build.
pub(crate) fn ensure(manager: &Arc<Manager>) {
    if manager.claim_upkeep() {
        tokio::spawn(run(Arc::downgrade(manager)));
    }
}

/// How long a recycle waits for the generation that just answered to leave the process.
const SETTLE: Duration = Duration::from_millis(250);

async fn run(manager: Weak<Manager>) {
    loop {
        let Some(m) = manager.upgrade() else { return };
        let tick = (m.config().idle_timeout / 4).clamp(Duration::from_millis(50), CHECK_EVERY);
        let queue = m.queue.clone();
        drop(m);
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            () = queue.went_idle() => {}
        }
        let Some(m) = manager.upgrade() else { return };
        recycle_if_due(&m).await;
        m.stop_if_idle().await;
    }
}

/// Starts a recycle when the current process should be replaced and nothing waits for it.
async fn recycle_if_due(manager: &Arc<Manager>) {
    if manager.is_closed() {
        return;
    }
    // A request between its call and its answer holds or waits for a place in the queue, so `busy`
    // covers the moments before it reaches the process and after its turn. The generation that just
    // gave its place back leaves the process a moment later (and a preflight holds it too): wait for
    // that briefly, then look at the queue again. The turns' cleanups may still run: their images are
    // delivered, and the old process is stopped only after them.
    let Some((live, busy)) = manager.current_and_busy().await else {
        return;
    };
    // Asked first, as it costs nothing: the reason may read all of `/proc`.
    if busy > 0 || !manager.recycler.may_begin() {
        return;
    }
    let Some(why) = recycle::reason(manager.config(), &live) else {
        return;
    };
    if !live.no_generation(SETTLE).await || manager.queue.busy() > 0 {
        return;
    }
    if !manager.recycler.begin() {
        return;
    }
    let manager = manager.clone();
    tokio::spawn(async move {
        replace(&manager, live, why).await;
        manager.recycler.end();
    });
}

/// Starts a new process, lets it start its threads, and swaps it in for `old`.
async fn replace(manager: &Arc<Manager>, old: Arc<Live>, why: String) {
    tracing::info!("replacing the idle app-server: {why}");
    // Shutdown ends a recycle at once: a start under way is dropped (its process killed with it), and
    // a new process that is up is stopped below.
    let started = tokio::select! {
        started = handshake::start(manager.config()) => started,
        () = manager.closed() => return,
    };
    let new = match started {
        Ok(new) => manager.started(new),
        Err(e) => {
            // The old process keeps serving (Codex may have been removed or downgraded underneath
            // it; `doctor` says so); a new attempt waits a while.
            tracing::warn!(
                "a new app-server did not start ({e}); keeping the current one, trying again in {}s",
                PAUSE_AFTER_FAILURE.as_secs()
            );
            manager.recycler.pause();
            return;
        }
    };
    tokio::select! {
        ready = new.pool().first_ready(WARM_WITHIN) => if !ready {
            tracing::info!("the new app-server has no thread ready yet; it takes over all the same");
        },
        () = manager.closed() => {}
    }
    if manager.replace(&old, new.clone()).await {
        tracing::info!(
            made = old.made(),
            "the app-server was replaced; the old one stops once its turns are done"
        );
    } else {
        // Shutdown began, or the process was replaced meanwhile (it died, or the login changed).
        new.stop(manager.config().shutdown_grace).await;
    }
}

//! The process's stdin as an async reader fed by a plain thread, for the faces that serve on stdio
//! (`serve-stdio` and `serve-mcp`).
//!
//! `tokio::io::stdin` reads on the blocking pool, and a read there cannot be cancelled: after a signal
//! or a `bridge/shutdown` the runtime would wait for the host to close stdin before the process could
//! exit. A detached thread that forwards chunks has no such hold; the process ends it by exiting.

use std::io::Read as _;

use tokio::io::AsyncWriteExt as _;

/// Stdin as a reader that reaches its end when stdin does.
pub(crate) fn pipe() -> tokio::io::DuplexStream {
    let (reader, mut writer) = tokio::io::duplex(256 * 1024);
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let spawned = std::thread::Builder::new()
        .name("codex-img-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if chunks.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!("reading stdin failed: {e}; treating it as closed");
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the stdin reader: {e}");
    }
    tokio::spawn(async move {
        while let Some(chunk) = received.recv().await {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // Dropping the writer is the end of input for the face.
    });
    reader
}

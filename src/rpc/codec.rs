//! A bounded, cancel-safe reader of newline-delimited messages.
//!
//! Image items carry base64 inline, so one line can be tens of MiB; a line longer than the limit is
//! skipped up to its newline and reported as [`CodecError::TooLong`] instead of growing memory without
//! bound. The reader keeps every partial line in `self`, and `read_buf` either moves bytes into that buffer
//! or does nothing, so dropping `next_line` inside a `select!` loses no data.
//!
//! The image in such a line is handled without copies: [`inline`] cuts the base64 out of the line's own
//! buffer, and [`base64_in_place`] decodes it inside that same buffer.

use tokio::io::{AsyncRead, AsyncReadExt};

pub(crate) mod base64_in_place;
pub(crate) mod inline;

/// Codex's own client allows 128 MiB messages; codex-img allows the same by default.
pub(crate) const DEFAULT_MAX_LINE: usize = 128 * 1024 * 1024;
const READ_CHUNK: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CodecError {
    #[error("a message longer than {limit} bytes was skipped")]
    TooLong { limit: usize },
    #[error("reading from the app-server failed: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    max: usize,
    /// Inside an over-long line: drop bytes until its newline.
    discarding: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            scanned: 0,
            max,
            discarding: false,
            eof: false,
        }
    }

    /// The next non-empty line without its `\n`, `\r\n` or a leading BOM; `None` at end of stream.
    pub(crate) async fn next_line(&mut self) -> Result<Option<Vec<u8>>, CodecError> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let rest = self.buf.split_off(end + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                self.scanned = 0;
                line.pop();
                // The limit applies whether the line arrived in pieces or in one read.
                if std::mem::take(&mut self.discarding) || line.len() > self.max {
                    return Err(CodecError::TooLong { limit: self.max });
                }
                if let Some(line) = clean(line) {
                    return Ok(Some(line));
                }
                continue;
            }
            self.scanned = self.buf.len();
            if self.buf.len() > self.max {
                // Let the over-long line's capacity go: a cleared buffer would keep it for good.
                self.buf = Vec::new();
                self.scanned = 0;
                self.discarding = true;
            }
            if self.eof {
                if self.discarding {
                    // What came after the last clear is the tail of the same over-long line, not a line.
                    self.buf = Vec::new();
                    self.scanned = 0;
                    self.discarding = false;
                    return Err(CodecError::TooLong { limit: self.max });
                }
                let last = std::mem::take(&mut self.buf);
                self.scanned = 0;
                return Ok(clean(last));
            }
            self.buf.reserve(READ_CHUNK);
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                self.eof = true;
            }
        }
    }
}

fn clean(mut line: Vec<u8>) -> Option<Vec<u8>> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.starts_with(&[0xEF, 0xBB, 0xBF]) {
        line.drain(..3);
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(line)
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use tokio::io::AsyncWriteExt;

    async fn all_lines(input: &[u8], max: usize) -> Vec<Result<String, String>> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        loop {
            match reader.next_line().await {
                Ok(Some(line)) => out.push(Ok(String::from_utf8_lossy(&line).into_owned())),
                Ok(None) => return out,
                Err(e) => out.push(Err(e.to_string())),
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_and_tolerates_crlf_bom_blank_and_missing_final_newline() {
        let got = all_lines(b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 1024).await;
        assert_eq!(
            got,
            vec![
                Ok("{\"a\":1}".into()),
                Ok("{\"b\":2}".into()),
                Ok("{\"c\":3}".into())
            ]
        );
    }

    #[tokio::test]
    async fn an_over_long_line_is_an_error_and_the_next_line_survives() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nok\n");
        input.extend(std::iter::repeat_n(b'y', 50));
        let got = all_lines(&input, 10).await;
        let too_long = Err("a message longer than 10 bytes was skipped".to_owned());
        assert_eq!(got, vec![too_long.clone(), Ok("ok".into()), too_long]);
    }

    #[tokio::test]
    async fn a_line_split_across_many_writes_and_cancelled_reads_is_whole() {
        let (mut tx, rx) = tokio::io::duplex(16);
        let writer = tokio::spawn(async move {
            for chunk in b"{\"method\":\"x\",\"params\":{}}\n".chunks(3) {
                tx.write_all(chunk).await?;
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            Ok::<_, std::io::Error>(())
        });
        let mut reader = LineReader::new(rx, 1024);
        let line = loop {
            // A deadline shorter than the writer's pauses cancels `next_line` mid-line, repeatedly.
            match tokio::time::timeout(std::time::Duration::from_millis(1), reader.next_line())
                .await
            {
                Ok(result) => break result,
                Err(_) => continue,
            }
        };
        assert_eq!(
            line.ok().flatten(),
            Some(b"{\"method\":\"x\",\"params\":{}}".to_vec())
        );
        assert!(matches!(writer.await, Ok(Ok(()))));
    }
}

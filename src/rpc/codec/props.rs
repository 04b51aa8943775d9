//! Property tests of the line decoder: however a byte stream is cut into reads, the same lines come out;
//! every line is exactly the model's reading of it (no `\n`, no trailing `\r`, no leading BOM, blank lines
//! skipped); and a line over the limit is a typed error after which the next line still reads.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use tokio::io::{AsyncRead, ReadBuf};

use super::{CodecError, LineReader};

/// Hands out the input in the given pieces, one piece (at most) per read, like a pipe fed by many writes.
struct Pieces(VecDeque<Vec<u8>>);

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(mut piece) = self.0.pop_front() {
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            if n < piece.len() {
                self.0.push_front(piece.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// What the decoder yields, in a comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Line(Vec<u8>),
    TooLong,
}

fn read_all<R: AsyncRead + Unpin>(reader: R, max: usize) -> Vec<Got> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut lines = LineReader::new(reader, max);
        let mut out = Vec::new();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => out.push(Got::Line(line)),
                Ok(None) => return out,
                Err(CodecError::TooLong { limit }) => {
                    assert_eq!(limit, max);
                    out.push(Got::TooLong);
                }
                Err(CodecError::Io(e)) => panic!("in-memory reads cannot fail: {e}"),
            }
        }
    })
}

/// Cuts `bytes` at the given points (taken modulo its length), in order.
fn cut(bytes: &[u8], points: &[usize]) -> VecDeque<Vec<u8>> {
    let mut at: Vec<usize> = points
        .iter()
        .map(|p| p % (bytes.len() + 1))
        .chain([0, bytes.len()])
        .collect();
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

/// The model: a raw line (between newlines, `\r` and BOM still on) longer than `max` is an error;
/// otherwise it loses one trailing `\r` and one leading BOM, and is skipped when only whitespace is left.
fn model(raw: &[u8], max: usize) -> Option<Got> {
    if raw.len() > max {
        return Some(Got::TooLong);
    }
    let mut line = raw.strip_suffix(b"\r").unwrap_or(raw);
    line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(Got::Line(line.to_vec()))
    }
}

/// One line's body: bytes that are rarely whitespace, never a newline (so the test decides the framing).
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            1 => Just(b' '),
            1 => Just(b'\r'),
        ],
        0..40,
    )
}

/// A line as it travels: an optional BOM, a body, and `\n` or `\r\n` (or nothing, for the last line).
fn framed_line() -> impl Strategy<Value = (bool, Vec<u8>, &'static [u8])> {
    (
        any::<bool>(),
        body(),
        prop_oneof![Just(&b"\n"[..]), Just(&b"\r\n"[..])],
    )
}

proptest! {
    /// Arbitrary bytes, arbitrarily cut: the same lines (and errors) as the whole stream in one read.
    #[test]
    fn chunking_never_changes_the_lines(
        bytes in prop::collection::vec(
            prop_oneof![4 => any::<u8>(), 1 => Just(b'\n'), 1 => Just(b'\r')],
            0..600,
        ),
        points in prop::collection::vec(any::<usize>(), 0..40),
        max in 1usize..64,
    ) {
        let whole = read_all(&bytes[..], max);
        let pieces = read_all(Pieces(cut(&bytes, &points)), max);
        prop_assert_eq!(&pieces, &whole);
        let one_byte_reads = read_all(Pieces(bytes.iter().map(|b| vec![*b]).collect()), max);
        prop_assert_eq!(&one_byte_reads, &whole);
    }

    /// Framed lines with BOMs, CRLF, blanks and over-long ones: exactly the model's reading, in order,
    /// so an over-long line costs only itself and the line after it still reads.
    #[test]
    fn lines_are_the_model_reading(
        lines in prop::collection::vec(framed_line(), 0..20),
        last_unterminated in any::<bool>(),
        points in prop::collection::vec(any::<usize>(), 0..30),
        max in 1usize..48,
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        let count = lines.len();
        for (i, (bom, body, end)) in lines.into_iter().enumerate() {
            let mut raw = Vec::new();
            if bom {
                raw.extend_from_slice(b"\xEF\xBB\xBF");
            }
            raw.extend_from_slice(&body);
            let unterminated = last_unterminated && i + 1 == count;
            if !unterminated && *end == *b"\r\n" {
                raw.push(b'\r');
            }
            stream.extend_from_slice(&raw);
            if !unterminated {
                stream.push(b'\n');
            }
            want.extend(model(&raw, max));
        }
        prop_assert_eq!(read_all(Pieces(cut(&stream, &points)), max), want);
    }
}

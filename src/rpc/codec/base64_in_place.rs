//! Base64 decoded inside its own buffer, so an image costs one allocation from the wire to the caller.
//!
//! An 8 MiB image arrives as 10.7 MiB of base64; decoding into a second buffer would hold both at once,
//! for every image in flight. Decoding shrinks the data (4 symbols to 3 bytes), so each chunk can be
//! decoded through a small stack buffer and written back over symbols already read. The rules are the
//! standard alphabet with canonical padding or none (what Codex sends, and what codex-img has always
//! accepted), surrounding whitespace ignored, anything else inside an error.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, DecodeError, DecodeSliceError, Engine as _};

/// Symbols per chunk: a multiple of 4, so no chunk splits a quantum.
const CHUNK: usize = 4096;

/// Standard alphabet; padding checked by hand (canonical or none), since `Indifferent` alone would
/// also take a short pad.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes the base64 in `text` (whitespace around it ignored) into the bytes it encodes, reusing
/// `text`'s buffer.
pub(crate) fn decode_in_place(text: String) -> Result<Vec<u8>, DecodeError> {
    let trimmed = text.trim();
    let start = text.len() - text.trim_start().len();
    let len = trimmed.len();
    let mut buf = text.into_bytes();
    let written = decode_range(&mut buf, start, len)?;
    buf.truncate(written);
    buf.shrink_to_fit();
    Ok(buf)
}

/// Decodes `buf[start..start + len]` into `buf[..written]`; returns `written`.
fn decode_range(buf: &mut [u8], start: usize, len: usize) -> Result<usize, DecodeError> {
    let symbols = &buf[start..start + len];
    let pad = symbols.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 0 && !len.is_multiple_of(4) {
        return Err(DecodeError::InvalidPadding);
    }
    let mut out = [0u8; CHUNK / 4 * 3];
    let mut written = 0;
    let mut read = 0;
    while read < len {
        let end = (read + CHUNK).min(len);
        let chunk = &buf[start + read..start + end];
        // Only the last chunk may end in padding: a pad that closes an inner chunk is inside the data.
        if end < len {
            if let Some(at) = chunk.iter().position(|&b| b == b'=') {
                return Err(DecodeError::InvalidByte(read + at, b'='));
            }
        }
        let n = ENGINE
            .decode_slice(chunk, &mut out)
            .map_err(|e| shift(e, read))?;
        // `written + n` never passes `start + end`: the bytes written so far are 3/4 of the symbols read.
        buf[written..written + n].copy_from_slice(&out[..n]);
        written += n;
        read = end;
    }
    Ok(written)
}

/// An error of the chunk at `offset`, with its position in the whole text.
fn shift(error: DecodeSliceError, offset: usize) -> DecodeError {
    match error {
        DecodeSliceError::DecodeError(DecodeError::InvalidByte(at, b)) => {
            DecodeError::InvalidByte(offset + at, b)
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLastSymbol(at, b)) => {
            DecodeError::InvalidLastSymbol(offset + at, b)
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLength(n)) => {
            DecodeError::InvalidLength(offset + n)
        }
        DecodeSliceError::DecodeError(e) => e,
        // A chunk of `CHUNK` symbols decodes to at most `CHUNK / 4 * 3` bytes, the size of `out`.
        DecodeSliceError::OutputSliceTooSmall => DecodeError::InvalidLength(offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use pretty_assertions::assert_eq;

    /// What codex-img did before: a second buffer, canonical padding or none.
    fn reference(text: &str) -> Result<Vec<u8>, ()> {
        STANDARD
            .decode(text.trim())
            .or_else(|_| STANDARD_NO_PAD.decode(text.trim()))
            .map_err(|_| ())
    }

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn decodes_every_length_around_the_chunk_size_padded_and_not() {
        for n in [
            0, 1, 2, 3, 4, 5, 3070, 3071, 3072, 3073, 3074, 6144, 6145, 9217, 100_000,
        ] {
            let data = bytes(n);
            let padded = STANDARD.encode(&data);
            let bare = STANDARD_NO_PAD.encode(&data);
            assert_eq!(
                decode_in_place(padded).ok(),
                Some(data.clone()),
                "{n} padded"
            );
            assert_eq!(decode_in_place(bare).ok(), Some(data), "{n} unpadded");
        }
    }

    #[test]
    fn whitespace_around_is_ignored_and_inside_is_an_error() {
        let data = bytes(4998);
        let text = STANDARD.encode(&data);
        assert_eq!(
            decode_in_place(format!(" \r\n\t{text}\n  ")).ok(),
            Some(data)
        );
        let mut inner = text.clone();
        inner.insert(5000, '\n');
        assert_eq!(
            decode_in_place(inner),
            Err(DecodeError::InvalidByte(5000, b'\n'))
        );
    }

    #[test]
    fn empty_and_blank_decode_to_nothing() {
        assert_eq!(decode_in_place(String::new()), Ok(vec![]));
        assert_eq!(decode_in_place(" \n ".to_owned()), Ok(vec![]));
    }

    #[test]
    fn corrupt_input_is_an_error_with_its_position_in_the_whole_text() {
        let text = STANDARD.encode(bytes(9000));
        let mut bad = text.clone().into_bytes();
        bad[8195] = b'*';
        let bad = String::from_utf8(bad).expect("ascii");
        let cases = vec![
            decode_in_place(bad),
            // A short pad, a pad inside the data (in the first chunk and on a chunk's edge), a lone
            // symbol, a symbol whose unused bits are set.
            decode_in_place("AAA=AAA".to_owned()),
            decode_in_place("AA=".to_owned()),
            decode_in_place("AA==AAAA".to_owned()),
            decode_in_place(format!("{}AA==AAAA", "A".repeat(CHUNK - 4))),
            decode_in_place("AAAAA".to_owned()),
            decode_in_place("AB==".to_owned()),
        ];
        assert_eq!(
            cases,
            vec![
                Err(DecodeError::InvalidByte(8195, b'*')),
                Err(DecodeError::InvalidByte(3, b'=')),
                Err(DecodeError::InvalidPadding),
                Err(DecodeError::InvalidByte(2, b'=')),
                Err(DecodeError::InvalidByte(CHUNK - 2, b'=')),
                Err(DecodeError::InvalidLength(5)),
                Err(DecodeError::InvalidLastSymbol(1, b'B')),
            ]
        );
    }

    #[test]
    fn agrees_with_the_two_buffer_decode_on_odd_inputs() {
        let inputs = [
            "", "=", "==", "A", "AA", "AAA", "AAAA", "AA==", "AAA=", "A===", "AAAA====", "QQ",
            "QQ=", "QUI", "QUI=", "QUJD", " QUJD ", "QU JD", "QUJD\n", "-_-_", "QUJD=",
        ];
        for input in inputs {
            assert_eq!(
                decode_in_place(input.to_owned()).map_err(|_| ()),
                reference(input),
                "{input:?}"
            );
        }
    }

    #[test]
    fn the_decoded_bytes_keep_no_spare_capacity() {
        let mut text = String::with_capacity(1 << 20);
        text.push_str(&STANDARD.encode(bytes(300_000)));
        let decoded = decode_in_place(text).expect("decodes");
        assert_eq!((decoded.len(), decoded.capacity()), (300_000, 300_000));
    }
}

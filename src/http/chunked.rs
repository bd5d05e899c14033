//! The chunked transfer coding (RFC 9112 section 7.1) as a byte-level state
//! machine that counts data bytes and never stores them.
//!
//! It resumes at any byte boundary, so a body split across any number of
//! `on_data` calls decodes the same. Data parts are skipped in O(1);
//! extensions and trailer lines are skipped with `memchr`. Chunk sizes are
//! checked for overflow.

/// Where the decoder is inside the chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkState {
    /// Reading the hex digits of a chunk size (`digits` so far).
    Size { size: u64, digits: u32 },
    /// After the size: optional whitespace, then `;ext` or the line end.
    SizeTail { size: u64 },
    /// Inside chunk extensions, skipped up to the LF.
    Ext { size: u64 },
    /// Saw the CR ending the size line.
    SizeLf { size: u64 },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Expecting the CR (or bare LF) after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line, skipped up to the LF.
    Trailer,
    /// Saw the CR of the final empty line.
    EndLf,
    /// The last chunk and trailers are complete.
    Done,
}

/// Why a chunked body could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// Not a hex digit where a size was expected, or no digit at all.
    BadSize,
    /// The size does not fit in 64 bits.
    SizeOverflow,
    /// Missing CRLF after chunk data, or a stray byte in a size line.
    BadDelimiter,
    /// An extension or trailer line longer than the limit.
    LineTooLong,
}

/// Result of feeding bytes to the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Bytes of the input consumed (all of it unless `done` or an error).
    pub consumed: usize,
    /// Chunk data bytes among them.
    pub data: u64,
}

/// A chunked-body decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunked {
    pub state: ChunkState,
    /// Length of the current extension or trailer line, for the limit.
    line_len: usize,
    max_line: usize,
}

impl Chunked {
    pub fn new(max_line: usize) -> Self {
        Chunked {
            state: ChunkState::Size { size: 0, digits: 0 },
            line_len: 0,
            max_line,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Bytes left in the current chunk's data, if inside a data part.
    pub fn data_remaining(&self) -> Option<u64> {
        match self.state {
            ChunkState::Data { remaining } => Some(remaining),
            _ => None,
        }
    }

    /// The capture lost `len` bytes inside the current data part; the
    /// caller has checked they fit ([`Chunked::data_remaining`]).
    pub fn skip_data(&mut self, len: u64) {
        if let ChunkState::Data { remaining } = self.state {
            let left = remaining.saturating_sub(len);
            self.state = if left == 0 {
                ChunkState::DataCr
            } else {
                ChunkState::Data { remaining: left }
            };
        }
    }

    /// Consumes bytes until the input ends, the body ends, or an error.
    pub fn feed(&mut self, input: &[u8]) -> Result<Progress, (Progress, ChunkError)> {
        let mut pos = 0usize;
        let mut data = 0u64;
        let fail = |pos, data, e| {
            Err((
                Progress {
                    consumed: pos,
                    data,
                },
                e,
            ))
        };
        while pos < input.len() {
            let rest = input.get(pos..).unwrap_or_default();
            let Some(&b) = rest.first() else { break };
            match self.state {
                ChunkState::Done => break,
                ChunkState::Data { remaining } => {
                    let take = remaining.min(rest.len() as u64);
                    pos += take as usize;
                    data += take;
                    let left = remaining - take;
                    self.state = if left == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data { remaining: left }
                    };
                    continue;
                }
                ChunkState::Size { size, digits } => {
                    if let Some(d) = hex_value(b) {
                        if size > u64::MAX >> 4 {
                            return fail(pos, data, ChunkError::SizeOverflow);
                        }
                        self.state = ChunkState::Size {
                            size: (size << 4) | u64::from(d),
                            digits: digits.saturating_add(1),
                        };
                    } else if digits == 0 {
                        return fail(pos, data, ChunkError::BadSize);
                    } else {
                        // Not consumed: the tail state judges it.
                        self.state = ChunkState::SizeTail { size };
                        continue;
                    }
                }
                ChunkState::SizeTail { size } => match b {
                    // BWS before `;` (RFC 9112 section 7.1.1).
                    b' ' | b'\t' => {}
                    b';' => {
                        self.line_len = 0;
                        self.state = ChunkState::Ext { size };
                    }
                    b'\r' => self.state = ChunkState::SizeLf { size },
                    b'\n' => self.size_line_done(size),
                    _ => return fail(pos, data, ChunkError::BadDelimiter),
                },
                ChunkState::Ext { .. } | ChunkState::Trailer => {
                    let (skip, found) = match memchr::memchr(b'\n', rest) {
                        Some(i) => (i + 1, true),
                        None => (rest.len(), false),
                    };
                    self.line_len = self.line_len.saturating_add(skip);
                    if self.line_len > self.max_line {
                        return fail(pos, data, ChunkError::LineTooLong);
                    }
                    pos += skip;
                    if found {
                        match self.state {
                            ChunkState::Ext { size } => self.size_line_done(size),
                            _ => self.state = ChunkState::TrailerStart,
                        }
                    }
                    continue;
                }
                ChunkState::SizeLf { size } => {
                    if b != b'\n' {
                        return fail(pos, data, ChunkError::BadDelimiter);
                    }
                    self.size_line_done(size);
                }
                ChunkState::DataCr => match b {
                    b'\r' => self.state = ChunkState::DataLf,
                    b'\n' => self.state = ChunkState::Size { size: 0, digits: 0 },
                    _ => return fail(pos, data, ChunkError::BadDelimiter),
                },
                ChunkState::DataLf => {
                    if b != b'\n' {
                        return fail(pos, data, ChunkError::BadDelimiter);
                    }
                    self.state = ChunkState::Size { size: 0, digits: 0 };
                }
                ChunkState::TrailerStart => match b {
                    b'\r' => self.state = ChunkState::EndLf,
                    b'\n' => self.state = ChunkState::Done,
                    _ => {
                        self.line_len = 0;
                        self.state = ChunkState::Trailer;
                        continue;
                    }
                },
                ChunkState::EndLf => {
                    if b != b'\n' {
                        return fail(pos, data, ChunkError::BadDelimiter);
                    }
                    self.state = ChunkState::Done;
                }
            }
            pos += 1;
            if self.state == ChunkState::Done {
                break;
            }
        }
        Ok(Progress {
            consumed: pos,
            data,
        })
    }

    fn size_line_done(&mut self, size: u64) {
        self.state = if size == 0 {
            ChunkState::TrailerStart
        } else {
            ChunkState::Data { remaining: size }
        };
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` split at `cut` and returns (consumed, data, done) or
    /// the error.
    fn run(input: &[u8], cuts: &[usize]) -> Result<(usize, u64, bool), ChunkError> {
        let mut c = Chunked::new(1024);
        let mut consumed = 0;
        let mut data = 0;
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&input.len())) {
            let piece = &input[start..end];
            match c.feed(piece) {
                Ok(p) => {
                    consumed += p.consumed;
                    data += p.data;
                    if c.is_done() {
                        return Ok((consumed, data, true));
                    }
                    assert_eq!(p.consumed, piece.len());
                }
                Err((_, e)) => return Err(e),
            }
            start = end;
        }
        Ok((consumed, data, c.is_done()))
    }

    fn every_split(input: &[u8]) -> Result<(usize, u64, bool), ChunkError> {
        let whole = run(input, &[]);
        for cut in 0..=input.len() {
            assert_eq!(run(input, &[cut]), whole, "cut at {cut}");
        }
        let bytes: Vec<usize> = (1..input.len()).collect();
        assert_eq!(run(input, &bytes), whole, "1-byte pieces");
        whole
    }

    #[test]
    fn simple_body_and_what_follows() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /next";
        assert_eq!(every_split(body), Ok((body.len() - 9, 11, true)));
    }

    #[test]
    fn extensions_trailers_and_bare_lf() {
        let body = b"a;name=\"v;x\" ; other\r\n0123456789\r\nA \t;e\n0123456789\n\
                     0;last\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n";
        assert_eq!(every_split(body), Ok((body.len(), 20, true)));
    }

    #[test]
    fn size_overflow_is_an_error() {
        assert_eq!(
            every_split(b"ffffffffffffffffff\r\n"),
            Err(ChunkError::SizeOverflow)
        );
        // 16 f's fit in 64 bits: a huge but valid size.
        let mut c = Chunked::new(64);
        assert!(c.feed(b"ffffffffffffffff\r\nab").is_ok());
        assert_eq!(c.data_remaining(), Some(u64::MAX - 2));
    }

    #[test]
    fn bad_syntax() {
        assert_eq!(every_split(b"xyz\r\n"), Err(ChunkError::BadSize));
        assert_eq!(every_split(b"\r\n"), Err(ChunkError::BadSize));
        assert_eq!(every_split(b"5 x\r\n"), Err(ChunkError::BadDelimiter));
        assert_eq!(every_split(b"3\r\nabcX"), Err(ChunkError::BadDelimiter));
        assert_eq!(every_split(b"3\r\nabc\rX"), Err(ChunkError::BadDelimiter));
        assert_eq!(every_split(b"0\r\n\rX"), Err(ChunkError::BadDelimiter));
        let long = [b"1;".as_slice(), &[b'x'; 2000]].concat();
        assert_eq!(every_split(&long), Err(ChunkError::LineTooLong));
    }

    #[test]
    fn gap_inside_data() {
        let mut c = Chunked::new(64);
        c.feed(b"10\r\nabcd").unwrap();
        assert_eq!(c.data_remaining(), Some(12));
        c.skip_data(12);
        assert_eq!(c.state, ChunkState::DataCr);
        let p = c.feed(b"\r\n0\r\n\r\n").unwrap();
        assert_eq!(p.consumed, 7);
        assert!(c.is_done());
    }
}

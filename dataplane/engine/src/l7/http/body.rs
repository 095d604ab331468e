//! The body framing decoder: fed the bytes that follow a head, it says how many of them belong to this
//! message and when the message ends. Bytes pass through unchanged (a chunked body is forwarded as is),
//! but chunked syntax is checked on the way (RFC 9112 section 7.1): hex sizes without overflow,
//! extensions skipped, CRLF (never a bare LF) after every line and chunk, trailer lines, the final CRLF.
//! The state machine takes any split of the input: one byte at a time gives the same result.

use super::error::HttpError;
use super::message::Framing;

/// The longest chunk-size line with its extensions, and the largest trailer section: beyond these a
/// client is only trying to hold the connection.
const MAX_CHUNK_LINE: u32 = 4096;
const MAX_TRAILERS: u32 = 16 * 1024;

/// Where a decoder is in a message body.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    /// Content-Length: this many bytes still to come.
    Length(u64),
    /// Until the connection closes.
    UntilClose,
    /// Reading chunk-size hex digits (at least one read when `digits` > 0).
    Size { digits: u32 },
    /// After the size, inside whitespace or extensions, until CR (`line` counts the line's bytes).
    Extension { line: u32, semicolon: bool },
    /// CR seen at the end of a chunk-size line.
    SizeLf,
    /// Inside chunk data: `self.chunk` bytes still to come.
    Data,
    /// Chunk data over: CR expected.
    DataCr,
    /// Chunk data over: LF expected.
    DataLf,
    /// At the start of a trailer line, or of the final CRLF.
    TrailerStart,
    /// Inside a trailer field line (`colon`: its name has ended).
    TrailerLine { colon: bool },
    /// CR seen at the end of a trailer line.
    TrailerLf,
    /// CR seen at the start of a line after the last chunk: the final LF comes.
    FinalLf,
    /// The message is over.
    Done,
    /// An error was reported; every further call reports it again.
    Failed(HttpError),
}

/// What one call to [`BodyDecoder::feed`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// How many of the given bytes belong to this message's body (forward them).
    pub used: usize,
    /// Whether the body ended within them: the bytes after `used` belong to the next message.
    pub done: bool,
}

/// Follows one message body through its framing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BodyDecoder {
    state: State,
    /// Bytes left in the current chunk.
    chunk: u64,
    /// Body bytes so far (chunk data only, for a chunked body).
    total: u64,
    max_body: u64,
    trailer_bytes: u32,
}

impl BodyDecoder {
    /// A decoder for a body with this framing; more than `max_body` bytes of data is
    /// [`HttpError::BodyTooLarge`] (Content-Length values are checked by the head parsers).
    pub fn new(framing: Framing, max_body: u64) -> Self {
        let state = match framing {
            Framing::None | Framing::ContentLength(0) => State::Done,
            Framing::ContentLength(n) => State::Length(n),
            Framing::Chunked => State::Size { digits: 0 },
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder {
            state,
            chunk: 0,
            total: 0,
            max_body,
            trailer_bytes: 0,
        }
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes seen so far (chunk data for a chunked body, framing excluded).
    pub fn body_bytes(&self) -> u64 {
        self.total
    }

    /// Feeds the next received bytes. After `done`, further calls use nothing.
    pub fn feed(&mut self, input: &[u8]) -> Result<Feed, HttpError> {
        match self.state {
            State::Failed(e) => Err(e),
            State::Done => Ok(Feed {
                used: 0,
                done: true,
            }),
            State::UntilClose => {
                self.total = self.total.saturating_add(input.len() as u64);
                Ok(Feed {
                    used: input.len(),
                    done: false,
                })
            }
            State::Length(left) => {
                let used = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                let left = left - used as u64;
                self.total += used as u64;
                self.state = if left == 0 {
                    State::Done
                } else {
                    State::Length(left)
                };
                Ok(Feed {
                    used,
                    done: left == 0,
                })
            }
            _ => self
                .feed_chunked(input)
                .inspect_err(|e| self.state = State::Failed(*e)),
        }
    }

    /// The connection closed: fine only if the body had ended or runs until close.
    pub fn finish(&self) -> Result<(), HttpError> {
        match self.state {
            State::Done | State::UntilClose => Ok(()),
            State::Failed(e) => Err(e),
            _ => Err(HttpError::IncompleteBody),
        }
    }

    fn feed_chunked(&mut self, input: &[u8]) -> Result<Feed, HttpError> {
        let mut at = 0;
        while at < input.len() {
            if self.state == State::Data {
                let take = usize::try_from(self.chunk)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - at);
                self.chunk -= take as u64;
                at += take;
                if self.chunk == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let Some(&b) = input.get(at) else { break };
            at += 1;
            self.state = self.step(b)?;
            if self.state == State::Done {
                return Ok(Feed {
                    used: at,
                    done: true,
                });
            }
        }
        Ok(Feed {
            used: at,
            done: false,
        })
    }

    /// One byte of chunked framing outside chunk data.
    fn step(&mut self, b: u8) -> Result<State, HttpError> {
        let bad = Err(HttpError::BadChunk);
        Ok(match (self.state, b) {
            (State::Size { digits }, _) if digits >= MAX_CHUNK_LINE => return bad,
            (State::Size { digits }, _) if b.is_ascii_hexdigit() => {
                self.push_digit(b)?;
                State::Size { digits: digits + 1 }
            }
            (State::Size { digits: 0 }, _) => return bad,
            (State::Size { digits }, b'\r') => self.size_line_over(digits)?,
            (State::Size { digits }, b' ' | b'\t' | b';') => State::Extension {
                line: digits + 1,
                semicolon: b == b';',
            },
            (State::Extension { line, .. }, _) if line >= MAX_CHUNK_LINE => return bad,
            (
                State::Extension {
                    semicolon: true,
                    line,
                },
                b'\r',
            ) => self.size_line_over(line)?,
            (
                State::Extension {
                    semicolon: false,
                    line,
                },
                b' ' | b'\t' | b';',
            ) => State::Extension {
                line: line + 1,
                semicolon: b == b';',
            },
            (
                State::Extension {
                    semicolon: true,
                    line,
                },
                _,
            ) if b == b'\t' || (b' '..0x7f).contains(&b) => State::Extension {
                line: line + 1,
                semicolon: true,
            },
            (State::SizeLf, b'\n') if self.chunk == 0 => State::TrailerStart,
            (State::SizeLf, b'\n') => State::Data,
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { digits: 0 },
            (State::TrailerStart, b'\r') => State::FinalLf,
            (State::FinalLf, b'\n') => State::Done,
            (State::TrailerStart, _) if super::fields::is_tchar(b) => {
                self.count_trailer()?;
                State::TrailerLine { colon: false }
            }
            (State::TrailerLine { colon: false }, b':') => {
                self.count_trailer()?;
                State::TrailerLine { colon: true }
            }
            (State::TrailerLine { colon: false }, _) if super::fields::is_tchar(b) => {
                self.count_trailer()?;
                State::TrailerLine { colon: false }
            }
            (State::TrailerLine { colon: true }, b'\r') => State::TrailerLf,
            (State::TrailerLine { colon: true }, _) if b == b'\t' || (b >= b' ' && b != 0x7f) => {
                self.count_trailer()?;
                State::TrailerLine { colon: true }
            }
            (State::TrailerLf, b'\n') => State::TrailerStart,
            _ => return bad,
        })
    }

    fn push_digit(&mut self, hex: u8) -> Result<(), HttpError> {
        let d = match hex {
            b'0'..=b'9' => hex - b'0',
            b'a'..=b'f' => hex - b'a' + 10,
            _ => hex.wrapping_sub(b'A').wrapping_add(10),
        };
        if self.chunk > u64::MAX >> 4 {
            return Err(HttpError::BadChunk);
        }
        self.chunk = (self.chunk << 4) | u64::from(d);
        Ok(())
    }

    /// CR at the end of a chunk-size line: counts the chunk against the body limit.
    fn size_line_over(&mut self, line: u32) -> Result<State, HttpError> {
        if line >= MAX_CHUNK_LINE {
            return Err(HttpError::BadChunk);
        }
        self.total = self
            .total
            .checked_add(self.chunk)
            .ok_or(HttpError::BodyTooLarge)?;
        if self.total > self.max_body {
            return Err(HttpError::BodyTooLarge);
        }
        Ok(State::SizeLf)
    }

    fn count_trailer(&mut self) -> Result<(), HttpError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > MAX_TRAILERS {
            return Err(HttpError::BadChunk);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns the bytes used and whether the body ended.
    fn run(framing: Framing, input: &[u8], step: usize) -> Result<(usize, bool), HttpError> {
        let mut d = BodyDecoder::new(framing, u64::MAX);
        let mut used = 0;
        for piece in input.chunks(step.max(1)) {
            let f = d.feed(piece)?;
            used += f.used;
            if f.done {
                return Ok((used, true));
            }
            assert_eq!(f.used, piece.len());
        }
        Ok((used, false))
    }

    const CHUNKED: &[u8] =
        b"5;name=\"v\"\r\nhello\r\nA\r\n0123456789\r\n0 ; last\r\nX-Sum: 1\r\n\r\nGET /next";

    #[test]
    fn chunked_body_ends_before_the_next_request_at_every_split() {
        let body_len = CHUNKED.len() - b"GET /next".len();
        for step in 1..=CHUNKED.len() {
            assert_eq!(
                run(Framing::Chunked, CHUNKED, step),
                Ok((body_len, true)),
                "step {step}"
            );
        }
        let mut d = BodyDecoder::new(Framing::Chunked, u64::MAX);
        d.feed(CHUNKED).unwrap();
        assert_eq!(d.body_bytes(), 15);
        assert!(d.is_done());
        assert_eq!(
            d.feed(b"more"),
            Ok(Feed {
                used: 0,
                done: true
            })
        );
    }

    #[test]
    fn content_length_and_until_close() {
        assert_eq!(run(Framing::ContentLength(3), b"abcdef", 1), Ok((3, true)));
        assert_eq!(run(Framing::ContentLength(3), b"ab", 1), Ok((2, false)));
        assert_eq!(run(Framing::ContentLength(0), b"abc", 1), Ok((0, true)));
        assert_eq!(run(Framing::None, b"abc", 2), Ok((0, true)));
        assert_eq!(run(Framing::UntilClose, b"abc", 2), Ok((3, false)));
        let mut d = BodyDecoder::new(Framing::ContentLength(3), 10);
        d.feed(b"ab").unwrap();
        assert_eq!(d.finish(), Err(HttpError::IncompleteBody));
        assert_eq!(BodyDecoder::new(Framing::UntilClose, 10).finish(), Ok(()));
    }

    #[test]
    fn bad_chunking_is_refused() {
        let cases: &[&[u8]] = &[
            b"\r\n",                     // no size
            b"x\r\n",                    // not hex
            b"5\nhello\r\n0\r\n\r\n",    // bare LF after the size
            b"5\r\nhello\n0\r\n\r\n",    // bare LF after the data
            b"5\r\nhelloX\r\n",          // data longer than its size
            b"5 \r\nhello\r\n0\r\n\r\n", // whitespace not followed by an extension
            b"-5\r\n",                   // sign
            b"0x5\r\n",                  // prefix
            b"10000000000000000\r\n",    // 17 hex digits: overflow
            b"0\r\n : folded\r\n\r\n",   // trailer starting with whitespace
            b"0\r\nNoColon\r\n\r\n",     // trailer without a colon
            b"0\r\nA: b\nC: d\r\n\r\n",  // bare LF in trailers
            b"0\r\n\r\r",                // CR CR at the end
            b"5;a\x00b\r\n",             // control character in an extension
        ];
        for case in cases {
            let got = run(Framing::Chunked, case, 1);
            assert_eq!(
                got,
                Err(HttpError::BadChunk),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn largest_size_and_limits() {
        let mut d = BodyDecoder::new(Framing::Chunked, u64::MAX);
        assert_eq!(d.feed(b"FFFFFFFFFFFFFFFF\r\nab").map(|f| f.used), Ok(20));
        let mut d = BodyDecoder::new(Framing::Chunked, 4);
        assert_eq!(d.feed(b"5\r\n"), Err(HttpError::BodyTooLarge));
        assert_eq!(d.feed(b"hello"), Err(HttpError::BodyTooLarge));
        let long_ext = [b"1;".as_slice(), &[b'a'; 5000]].concat();
        assert_eq!(
            run(Framing::Chunked, &long_ext, 7),
            Err(HttpError::BadChunk)
        );
    }
}

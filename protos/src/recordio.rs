//! RecordIO framing (reference §2.2): each record is `<decimal byte length>\n<bytes>`,
//! with no separator after the payload. The decoder is incremental: feed it chunks cut
//! anywhere (HTTP chunk boundaries mean nothing) and it hands back whole records. No I/O.

/// Default bound on one record's payload (Mesos events are far smaller; this protects
/// against a peer announcing a huge length).
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 * 1024 * 1024;

/// Why a RecordIO stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    /// The length prefix held something other than decimal digits (or was empty).
    #[error("invalid record length {length:?}: expected decimal digits before '\\n'")]
    InvalidLength {
        /// The offending prefix, lossily decoded.
        length: String,
    },
    /// The length prefix does not fit in 64 bits.
    #[error("record length {length:?} does not fit in 64 bits")]
    LengthOverflow {
        /// The digits seen so far.
        length: String,
    },
    /// The announced length is above the configured bound.
    #[error("record length {length} exceeds the limit of {limit} bytes")]
    RecordTooLarge {
        /// Announced payload length.
        length: u64,
        /// Configured maximum.
        limit: usize,
    },
    /// The stream ended inside a record.
    #[error("stream ended inside a record ({pending} bytes of an incomplete record buffered)")]
    Truncated {
        /// Bytes buffered for the unfinished record (prefix or payload).
        pending: usize,
    },
    /// A previous error left the decoder unusable.
    #[error("decoder failed earlier and cannot continue")]
    Failed,
}

/// Frames one record.
pub fn encode(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 21);
    encode_into(record, &mut out);
    out
}

/// Appends one framed record to `out`.
pub fn encode_into(record: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(record.len().to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(record);
}

#[derive(Debug)]
enum State {
    /// Reading the decimal length; `digits` holds what was seen so far.
    Length {
        value: u64,
        digits: Vec<u8>,
    },
    /// Reading `remaining` more payload bytes into `record`.
    Payload {
        record: Vec<u8>,
        remaining: usize,
    },
    Failed,
}

/// Incremental RecordIO decoder.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    max_record_size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with [`DEFAULT_MAX_RECORD_SIZE`].
    pub fn new() -> Self {
        Self::with_max_record_size(DEFAULT_MAX_RECORD_SIZE)
    }

    /// A decoder rejecting records longer than `max_record_size` bytes.
    pub fn with_max_record_size(max_record_size: usize) -> Self {
        Decoder {
            state: State::Length {
                value: 0,
                digits: Vec::new(),
            },
            max_record_size,
        }
    }

    /// The configured bound.
    pub fn max_record_size(&self) -> usize {
        self.max_record_size
    }

    /// Consumes `chunk` and returns the records it completed. After an error the decoder
    /// stays failed (the stream position is lost).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, RecordIoError> {
        let mut out = Vec::new();
        let mut data = chunk;
        while !data.is_empty() {
            match &mut self.state {
                State::Failed => return Err(RecordIoError::Failed),
                State::Length { value, digits } => {
                    let b = data[0];
                    data = &data[1..];
                    if b == b'\n' {
                        if digits.is_empty() {
                            return self.fail(RecordIoError::InvalidLength {
                                length: String::new(),
                            });
                        }
                        let length = *value;
                        if length > self.max_record_size as u64 {
                            return self.fail(RecordIoError::RecordTooLarge {
                                length,
                                limit: self.max_record_size,
                            });
                        }
                        // Bounded by max_record_size, which is a usize.
                        let len = length as usize;
                        if len == 0 {
                            out.push(Vec::new());
                            self.state = State::Length {
                                value: 0,
                                digits: Vec::new(),
                            };
                        } else {
                            self.state = State::Payload {
                                // Cap the up-front allocation; the rest grows as bytes arrive.
                                record: Vec::with_capacity(len.min(64 * 1024)),
                                remaining: len,
                            };
                        }
                    } else if b.is_ascii_digit() {
                        digits.push(b);
                        match value
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(u64::from(b - b'0')))
                        {
                            Some(v) => *value = v,
                            None => {
                                let length = String::from_utf8_lossy(digits).into_owned();
                                return self.fail(RecordIoError::LengthOverflow { length });
                            }
                        }
                        // Leading zeros must not let the buffer grow without bound.
                        if digits.len() > 40 {
                            let length = String::from_utf8_lossy(digits).into_owned();
                            return self.fail(RecordIoError::InvalidLength { length });
                        }
                    } else {
                        digits.push(b);
                        let length = String::from_utf8_lossy(digits).into_owned();
                        return self.fail(RecordIoError::InvalidLength { length });
                    }
                }
                State::Payload { record, remaining } => {
                    let take = (*remaining).min(data.len());
                    record.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    *remaining -= take;
                    if *remaining == 0 {
                        out.push(std::mem::take(record));
                        self.state = State::Length {
                            value: 0,
                            digits: Vec::new(),
                        };
                    }
                }
            }
        }
        if matches!(self.state, State::Failed) {
            return Err(RecordIoError::Failed);
        }
        Ok(out)
    }

    /// True if no partial record is buffered (a clean place for the stream to end).
    pub fn is_idle(&self) -> bool {
        matches!(&self.state, State::Length { digits, .. } if digits.is_empty())
    }

    /// Checks that the stream ended on a record boundary.
    pub fn finish(&self) -> Result<(), RecordIoError> {
        match &self.state {
            State::Failed => Err(RecordIoError::Failed),
            State::Length { digits, .. } if digits.is_empty() => Ok(()),
            State::Length { digits, .. } => Err(RecordIoError::Truncated {
                pending: digits.len(),
            }),
            State::Payload { record, .. } => Err(RecordIoError::Truncated {
                pending: record.len(),
            }),
        }
    }

    fn fail<T>(&mut self, e: RecordIoError) -> Result<T, RecordIoError> {
        self.state = State::Failed;
        Err(e)
    }
}

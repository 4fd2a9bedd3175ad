//! Wire frames of plan submission over QUIC (sans-IO: bytes in, values out).
//!
//! One request per bidirectional stream: the client writes one request frame and finishes
//! its side, the node answers with one reply frame. Every frame is length-prefixed and
//! bounded, so a receiver knows before reading a byte of payload how much memory the frame
//! needs and can refuse it first.
//!
//! Layout (integers little-endian):
//!
//! | bytes            | content                                                   |
//! |------------------|-----------------------------------------------------------|
//! | 0..4             | [`MAGIC`]                                                 |
//! | 4..6             | [`PROTOCOL_VERSION`]                                      |
//! | 6..8             | [`FrameKind`] (1 request, 2 reply)                        |
//! | 8..12            | meta length `m` (≤ [`META_BYTES_MAX`])                    |
//! | 12..16           | body length `b` (≤ [`PLAN_BYTES_MAX`], 0 unless Deploy)   |
//! | 16..16+m         | rkyv archive of a [`Request`] or [`Reply`]                |
//! | 16+m..16+m+b     | body: the sealed plan of a Deploy ([`crate::envelope`])   |
//!
//! The body is kept apart from the message so a plan streams from the sender's buffer
//! straight onto the wire, and on the receiver straight into the aligned buffer the
//! envelope is opened from and the shards later read in place: a plan is never held twice.
//! [`FrameReader`] assembles a frame from chunks as they arrive; the decoders check the
//! header, the limits and the archive (bytecheck) and never panic on any input.

mod messages;

pub use messages::*;

use rkyv::util::AlignedVec;

use crate::envelope::SealedBytes;

/// First bytes of every frame.
pub const MAGIC: [u8; 4] = *b"LFWR";
/// Version of the frame layout and messages; bump on any change in this module.
/// 2: a Deploy carries its plan's credentials.
pub const PROTOCOL_VERSION: u16 = 2;
/// Size of the frame header.
pub const HEADER_BYTES: usize = 16;
/// Largest message archive (a listing of many shards and plans fits easily).
pub const META_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Largest sealed plan a Deploy may carry.
pub const PLAN_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most credentials one Deploy carries (the engine's own bound on a credential source).
pub const DEPLOY_CREDENTIALS_MAX: usize = 1_024;
/// Most data fields one delivered credential holds (n8n's generic ones have one to three).
pub const CREDENTIAL_FIELDS_MAX: usize = 64;
/// Longest credential type, id, name or field name, in bytes.
pub const CREDENTIAL_LABEL_BYTES_MAX: usize = 256;
/// Longest credential field value, in bytes (a PEM key or a long token fits).
pub const CREDENTIAL_VALUE_BYTES_MAX: usize = 64 * 1024;
/// ALPN protocol id of plan submission.
pub const ALPN: &[u8] = b"linkflow-plan/1";

/// Stable error codes of the QUIC plan protocol (the transport and the node's refusals).
pub mod codes {
    /// Certificate or key files missing or unreadable, or the TLS configuration is invalid.
    pub const TLS_CONFIG: &str = "LF-QUIC-001";
    /// Connecting or the TLS handshake failed (unknown CA, wrong name, node down).
    pub const CONNECT: &str = "LF-QUIC-002";
    /// The request did not complete within its timeout.
    pub const TIMEOUT: &str = "LF-QUIC-003";
    /// The plan was refused: envelope, hash or archive check failed.
    pub const PLAN_REFUSED: &str = "LF-QUIC-004";
    /// The plan's workflow version is lower than the installed one (and `allow_older` unset).
    pub const OLDER_VERSION: &str = "LF-QUIC-005";
    /// Nothing installed matches the undeploy target.
    pub const NOT_FOUND: &str = "LF-QUIC-006";
    /// A shard did not acknowledge an install or removal in time.
    pub const SHARD_TIMEOUT: &str = "LF-QUIC-007";
    /// The stream failed mid-request (reset, connection lost).
    pub const STREAM: &str = "LF-QUIC-008";
    /// Client and node speak different protocol versions.
    pub const PROTOCOL: &str = "LF-QUIC-009";
    /// The node has too many requests in progress; retry later.
    pub const BUSY: &str = "LF-QUIC-010";
}

/// Which side wrote a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Client to node.
    Request,
    /// Node to client.
    Reply,
}

impl FrameKind {
    fn code(self) -> u16 {
        match self {
            FrameKind::Request => 1,
            FrameKind::Reply => 2,
        }
    }
}

/// Why bytes are not a valid frame. Codes are stable (`LF-WIRE-NNN`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The stream ended inside a frame.
    #[error("LF-WIRE-001: truncated frame: {got} of {expected} bytes arrived")]
    Truncated {
        /// Bytes the frame needs (header alone while the header is incomplete).
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// Not a LinkFlow frame.
    #[error("LF-WIRE-002: not a LinkFlow plan frame (bad magic)")]
    BadMagic,
    /// Another protocol version.
    #[error("LF-WIRE-003: protocol version {found}, this build speaks {PROTOCOL_VERSION}")]
    Version {
        /// Version in the header.
        found: u16,
    },
    /// A length in the header exceeds its limit.
    #[error("LF-WIRE-004: {what} of {bytes} bytes exceeds the limit of {max} bytes")]
    Oversized {
        /// Which part (`message`, `plan`).
        what: &'static str,
        /// Announced length.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// The message archive failed bytecheck.
    #[error("LF-WIRE-005: malformed message: {0}")]
    Malformed(String),
    /// A frame of the wrong kind (a reply where a request belongs, or an unknown kind).
    #[error("LF-WIRE-006: unexpected frame kind {found}")]
    Kind {
        /// Kind code in the header.
        found: u16,
    },
    /// Bytes follow the frame on a stream that carries one frame.
    #[error("LF-WIRE-007: {bytes} bytes follow the frame")]
    Trailing {
        /// How many (at least).
        bytes: u64,
    },
    /// The body length does not fit the message (a body without a Deploy, or lengths differ).
    #[error("LF-WIRE-008: body of {body} bytes does not match the message: {why}")]
    Body {
        /// Body length in the header.
        body: u64,
        /// What the message expects.
        why: String,
    },
    /// A Deploy's credentials break a bound or are ill-formed (the message names the
    /// credential by index, type and id, and the bound; never a value).
    #[error("LF-WIRE-009: credentials refused: {0}")]
    Credentials(String),
}

impl WireError {
    /// The stable code (`LF-WIRE-NNN`).
    pub fn code(&self) -> &'static str {
        match self {
            WireError::Truncated { .. } => "LF-WIRE-001",
            WireError::BadMagic => "LF-WIRE-002",
            WireError::Version { .. } => "LF-WIRE-003",
            WireError::Oversized { .. } => "LF-WIRE-004",
            WireError::Malformed(_) => "LF-WIRE-005",
            WireError::Kind { .. } => "LF-WIRE-006",
            WireError::Trailing { .. } => "LF-WIRE-007",
            WireError::Body { .. } => "LF-WIRE-008",
            WireError::Credentials(_) => "LF-WIRE-009",
        }
    }
}

/// A checked frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Request or reply.
    pub kind: FrameKind,
    /// Length of the message archive.
    pub meta_bytes: u32,
    /// Length of the body.
    pub body_bytes: u32,
}

impl FrameHeader {
    /// Header, message and body together.
    pub fn frame_bytes(&self) -> u64 {
        HEADER_BYTES as u64 + u64::from(self.meta_bytes) + u64::from(self.body_bytes)
    }
}

/// Checks a header against the expected kind and the limits.
pub fn decode_header(
    bytes: &[u8; HEADER_BYTES],
    expect: FrameKind,
) -> Result<FrameHeader, WireError> {
    if bytes[..4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != PROTOCOL_VERSION {
        return Err(WireError::Version { found: version });
    }
    let kind = u16::from_le_bytes([bytes[6], bytes[7]]);
    if kind != expect.code() {
        return Err(WireError::Kind { found: kind });
    }
    let meta_bytes = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let body_bytes = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if meta_bytes as usize > META_BYTES_MAX {
        return Err(WireError::Oversized {
            what: "message",
            bytes: meta_bytes.into(),
            max: META_BYTES_MAX as u64,
        });
    }
    if meta_bytes == 0 {
        return Err(WireError::Malformed("empty message".to_owned()));
    }
    let body_max = match expect {
        FrameKind::Request => PLAN_BYTES_MAX,
        FrameKind::Reply => 0,
    };
    if body_bytes as usize > body_max {
        return Err(WireError::Oversized {
            what: "plan",
            bytes: body_bytes.into(),
            max: body_max as u64,
        });
    }
    Ok(FrameHeader {
        kind: expect,
        meta_bytes,
        body_bytes,
    })
}

fn encode_header(
    kind: FrameKind,
    meta: usize,
    body: usize,
) -> Result<[u8; HEADER_BYTES], WireError> {
    if meta > META_BYTES_MAX {
        return Err(WireError::Oversized {
            what: "message",
            bytes: meta as u64,
            max: META_BYTES_MAX as u64,
        });
    }
    if body > PLAN_BYTES_MAX {
        return Err(WireError::Oversized {
            what: "plan",
            bytes: body as u64,
            max: PLAN_BYTES_MAX as u64,
        });
    }
    let mut header = [0; HEADER_BYTES];
    header[..4].copy_from_slice(&MAGIC);
    header[4..6].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    header[6..8].copy_from_slice(&kind.code().to_le_bytes());
    header[8..12].copy_from_slice(&(meta as u32).to_le_bytes());
    header[12..16].copy_from_slice(&(body as u32).to_le_bytes());
    Ok(header)
}

/// Header and message of a request frame. For a Deploy, the caller writes the sealed plan
/// (`plan_bytes` long) right after these bytes.
pub fn encode_request(request: &Request) -> Result<Vec<u8>, WireError> {
    let body = match request {
        Request::Deploy(deploy) => {
            check_credentials(&deploy.credentials)?;
            usize::try_from(deploy.plan_bytes).unwrap_or(usize::MAX)
        }
        _ => 0,
    };
    encode(FrameKind::Request, request, body)
}

/// A whole reply frame.
pub fn encode_reply(reply: &Reply) -> Result<Vec<u8>, WireError> {
    encode(FrameKind::Reply, reply, 0)
}

fn encode<T>(kind: FrameKind, message: &T, body: usize) -> Result<Vec<u8>, WireError>
where
    T: for<'a> rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            AlignedVec,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rkyv::rancor::Error,
        >,
    >,
{
    // Serialising an owned message in memory fails only on allocation failure.
    let meta = rkyv::to_bytes::<rkyv::rancor::Error>(message)
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    let header = encode_header(kind, meta.len(), body)?;
    let mut out = Vec::with_capacity(HEADER_BYTES + meta.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&meta);
    Ok(out)
}

/// Checks a request message (bytecheck) against its header and returns it.
pub fn decode_request(header: &FrameHeader, meta: &[u8]) -> Result<Request, WireError> {
    debug_assert_eq!(header.kind, FrameKind::Request);
    let request = decode_meta::<Request>(meta)?;
    match &request {
        Request::Deploy(deploy) if deploy.plan_bytes != u64::from(header.body_bytes) => {
            Err(WireError::Body {
                body: header.body_bytes.into(),
                why: format!("the deploy announces {} plan bytes", deploy.plan_bytes),
            })
        }
        Request::Deploy(deploy) => {
            check_credentials(&deploy.credentials)?;
            Ok(request)
        }
        _ if header.body_bytes != 0 => Err(WireError::Body {
            body: header.body_bytes.into(),
            why: "only a deploy carries a body".to_owned(),
        }),
        _ => Ok(request),
    }
}

/// Checks a Deploy's credentials against the bounds: count, fields, label and value
/// lengths, non-empty type, no id given twice. Both sides check: the sender refuses to
/// send what the node would refuse.
pub fn check_credentials(credentials: &[DeployCredential]) -> Result<(), WireError> {
    if credentials.len() > DEPLOY_CREDENTIALS_MAX {
        return Err(WireError::Credentials(format!(
            "{} credentials, at most {DEPLOY_CREDENTIALS_MAX}",
            credentials.len()
        )));
    }
    for (index, credential) in credentials.iter().enumerate() {
        let at = || {
            format!(
                "credential {index} ({} `{}`)",
                truncated(&credential.kind),
                truncated(&credential.id)
            )
        };
        if credential.kind.is_empty() {
            return Err(WireError::Credentials(format!("{} has no type", at())));
        }
        for (what, label) in [
            ("type", &credential.kind),
            ("id", &credential.id),
            ("name", &credential.name),
        ] {
            if label.len() > CREDENTIAL_LABEL_BYTES_MAX {
                return Err(WireError::Credentials(format!(
                    "{}: {what} of {} bytes, at most {CREDENTIAL_LABEL_BYTES_MAX}",
                    at(),
                    label.len()
                )));
            }
        }
        if credential.fields.len() > CREDENTIAL_FIELDS_MAX {
            return Err(WireError::Credentials(format!(
                "{}: {} fields, at most {CREDENTIAL_FIELDS_MAX}",
                at(),
                credential.fields.len()
            )));
        }
        for (key, value) in &credential.fields {
            if key.is_empty() || key.len() > CREDENTIAL_LABEL_BYTES_MAX {
                return Err(WireError::Credentials(format!(
                    "{}: a field name of {} bytes, 1 to {CREDENTIAL_LABEL_BYTES_MAX} allowed",
                    at(),
                    key.len()
                )));
            }
            if value.len() > CREDENTIAL_VALUE_BYTES_MAX {
                return Err(WireError::Credentials(format!(
                    "{}: field `{}` of {} bytes, at most {CREDENTIAL_VALUE_BYTES_MAX}",
                    at(),
                    truncated(key),
                    value.len()
                )));
            }
        }
        let twice = !credential.id.is_empty()
            && credentials[..index]
                .iter()
                .any(|c| c.id == credential.id && c.kind == credential.kind);
        if twice {
            return Err(WireError::Credentials(format!("{} given twice", at())));
        }
    }
    Ok(())
}

/// A label cut for an error message (labels are bounded, but the check reports a label
/// that breaks the bound).
fn truncated(label: &str) -> &str {
    let mut end = label.len().min(64);
    while !label.is_char_boundary(end) {
        end -= 1;
    }
    &label[..end]
}

/// Checks a reply message (bytecheck) and returns it.
pub fn decode_reply(meta: &[u8]) -> Result<Reply, WireError> {
    decode_meta::<Reply>(meta)
}

fn decode_meta<T>(meta: &[u8]) -> Result<T, WireError>
where
    T: rkyv::Archive,
    T::Archived: for<'a> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>>
        + rkyv::Deserialize<T, rkyv::api::high::HighDeserializer<rkyv::rancor::Error>>,
{
    if meta.len() > META_BYTES_MAX {
        return Err(WireError::Oversized {
            what: "message",
            bytes: meta.len() as u64,
            max: META_BYTES_MAX as u64,
        });
    }
    // rkyv reads archives at their alignment; network bytes have none.
    let mut aligned = AlignedVec::<16>::with_capacity(meta.len());
    aligned.extend_from_slice(meta);
    rkyv::from_bytes::<T, rkyv::rancor::Error>(&aligned)
        .map_err(|e| WireError::Malformed(e.to_string()))
}

/// A complete frame as received.
#[derive(Debug)]
pub struct Frame {
    /// The checked header.
    pub header: FrameHeader,
    /// The message archive (not yet checked: [`decode_request`] / [`decode_reply`]).
    pub meta: Vec<u8>,
    /// The body, aligned for [`crate::envelope::open`].
    pub body: SealedBytes,
}

/// Where a [`FrameReader`] is.
#[derive(Debug)]
enum ReadState {
    Header { filled: usize },
    Meta,
    Body,
    Done,
}

/// Assembles one frame from chunks in arrival order (sans-IO). Memory is reserved from the
/// checked header lengths, exactly once, so a frame is never buffered twice.
#[derive(Debug)]
pub struct FrameReader {
    expect: FrameKind,
    state: ReadState,
    header_bytes: [u8; HEADER_BYTES],
    header: Option<FrameHeader>,
    meta: Vec<u8>,
    body: SealedBytes,
}

impl FrameReader {
    /// A reader of one frame of kind `expect`.
    pub fn new(expect: FrameKind) -> Self {
        FrameReader {
            expect,
            state: ReadState::Header { filled: 0 },
            header_bytes: [0; HEADER_BYTES],
            header: None,
            meta: Vec::new(),
            body: SealedBytes::new(),
        }
    }

    /// The checked header, once it arrived.
    pub fn header(&self) -> Option<FrameHeader> {
        self.header
    }

    /// Whether the whole frame arrived.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, ReadState::Done)
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        match self.state {
            ReadState::Header { filled } => filled as u64,
            _ => (HEADER_BYTES + self.meta.len() + self.body.len()) as u64,
        }
    }

    /// Feeds `chunk`; returns how many of its bytes belong to the frame. Fewer than
    /// `chunk.len()` means the frame is complete and the rest follows it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<usize, WireError> {
        let mut used = 0;
        while used < chunk.len() {
            let rest = &chunk[used..];
            match self.state {
                ReadState::Header { filled } => {
                    let take = rest.len().min(HEADER_BYTES - filled);
                    self.header_bytes[filled..filled + take].copy_from_slice(&rest[..take]);
                    used += take;
                    let filled = filled + take;
                    if filled < HEADER_BYTES {
                        self.state = ReadState::Header { filled };
                        continue;
                    }
                    let header = decode_header(&self.header_bytes, self.expect)?;
                    self.meta.reserve_exact(header.meta_bytes as usize);
                    self.body.reserve_exact(header.body_bytes as usize);
                    self.header = Some(header);
                    self.state = ReadState::Meta;
                }
                ReadState::Meta => {
                    let want = self.want_meta();
                    let take = rest.len().min(want);
                    self.meta.extend_from_slice(&rest[..take]);
                    used += take;
                    if self.want_meta() == 0 {
                        self.state = ReadState::Body;
                        self.finish_if_done();
                    }
                }
                ReadState::Body => {
                    let take = rest.len().min(self.want_body());
                    self.body.extend_from_slice(&rest[..take]);
                    used += take;
                    self.finish_if_done();
                }
                ReadState::Done => break,
            }
        }
        // An empty body completes the frame as soon as the message is in.
        if let ReadState::Body = self.state {
            self.finish_if_done();
        }
        Ok(used)
    }

    fn want_meta(&self) -> usize {
        self.header.map_or(0, |h| h.meta_bytes as usize) - self.meta.len()
    }

    fn want_body(&self) -> usize {
        self.header.map_or(0, |h| h.body_bytes as usize) - self.body.len()
    }

    fn finish_if_done(&mut self) {
        if matches!(self.state, ReadState::Body) && self.want_body() == 0 {
            self.state = ReadState::Done;
        }
    }

    /// The frame, once complete; [`WireError::Truncated`] when the stream ended before.
    pub fn finish(self) -> Result<Frame, WireError> {
        match (self.state, self.header) {
            (ReadState::Done, Some(header)) => {
                debug_assert_eq!(self.meta.len(), header.meta_bytes as usize);
                debug_assert_eq!(self.body.len(), header.body_bytes as usize);
                Ok(Frame {
                    header,
                    meta: self.meta,
                    body: self.body,
                })
            }
            (ReadState::Header { filled }, _) => Err(WireError::Truncated {
                expected: HEADER_BYTES as u64,
                got: filled as u64,
            }),
            (_, header) => Err(WireError::Truncated {
                expected: header.map_or(HEADER_BYTES as u64, |h| h.frame_bytes()),
                got: (HEADER_BYTES + self.meta.len() + self.body.len()) as u64,
            }),
        }
    }
}

/// Decodes a whole request frame held in one buffer (tests, fuzzing, small frames): the
/// request and its body. Trailing bytes are an error.
pub fn decode_request_frame(bytes: &[u8]) -> Result<(Request, SealedBytes), WireError> {
    let mut reader = FrameReader::new(FrameKind::Request);
    let used = reader.push(bytes)?;
    if used < bytes.len() {
        return Err(WireError::Trailing {
            bytes: (bytes.len() - used) as u64,
        });
    }
    let frame = reader.finish()?;
    let request = decode_request(&frame.header, &frame.meta)?;
    Ok((request, frame.body))
}

/// Decodes a whole reply frame held in one buffer. Trailing bytes are an error.
pub fn decode_reply_frame(bytes: &[u8]) -> Result<Reply, WireError> {
    let mut reader = FrameReader::new(FrameKind::Reply);
    let used = reader.push(bytes)?;
    if used < bytes.len() {
        return Err(WireError::Trailing {
            bytes: (bytes.len() - used) as u64,
        });
    }
    let frame = reader.finish()?;
    decode_reply(&frame.meta)
}

#[cfg(test)]
mod tests;

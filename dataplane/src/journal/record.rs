//! The execution record and its frame: what one finished execution leaves in the journal.
//!
//! A frame is `[payload length: u32 LE][crc32c of the payload: u32 LE][payload]`. A length
//! word of zero is not a record: it is the zero padding after the last record of a segment
//! (writes are whole 4 KiB blocks), so a scan stops there cleanly. Any other frame that is
//! incomplete, longer than [`RECORD_BYTES_MAX`] or fails its checksum ends the valid part
//! of a segment: that is a torn write (see [`super::scan`]).
//!
//! The payload is a compact little-endian layout rather than rkyv: records are written once
//! and read rarely (queries, export), a hand layout is a third of the size of the archived
//! form for these mostly-string records, and it needs no alignment when read back from an
//! arbitrary file offset.
//!
//! | field | encoding |
//! |---|---|
//! | format version | u8 ([`RECORD_VERSION`]) |
//! | flags | u8: bit 0 error present, bit 1 node data present |
//! | status, trigger | u8, u8 |
//! | shard | u16 |
//! | sequence, workflow version | u64, u64 |
//! | started, ended (Unix ms) | i64, i64 |
//! | execution id, workflow id, plan id, trigger detail, last node | u32-length strings |
//! | error code, node, message (when flagged) | u32-length strings |
//! | node data (when flagged): n8n `runData` JSON | u32-length bytes |

use crc::{Crc, Table, CRC_32_ISCSI};

/// Largest payload of one record. Records with more node data than this keep their
/// summary only ([`Record::data`] is dropped and `data_dropped` is set by the builder).
pub const RECORD_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Bytes of a frame header (length + checksum).
pub const FRAME_HEADER_BYTES: usize = 8;
/// Version of the payload layout; bump on any change.
pub const RECORD_VERSION: u8 = 1;
/// Longest error message kept in a record (longer ones are cut at a char boundary).
pub const ERROR_MESSAGE_BYTES_MAX: usize = 4 * 1024;

const FLAG_ERROR: u8 = 1;
const FLAG_DATA: u8 = 2;

/// CRC-32C (Castagnoli), table-sliced by 16: ~1-2 GB/s in software, enough that checksums
/// never show next to the execution they record.
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// The checksum frames carry.
pub fn checksum(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// n8n's execution status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// n8n `success`.
    Success,
    /// n8n `error`.
    Error,
}

impl Status {
    /// n8n's name (`success`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
        }
    }

    /// Parses n8n's name.
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "success" => Some(Status::Success),
            "error" => Some(Status::Error),
            _ => None,
        }
    }

    /// The event action of the fleet export (`linkflow.execution.<action>`).
    pub fn event_action(self) -> &'static str {
        match self {
            Status::Success => "completed",
            Status::Error => "failed",
        }
    }

    fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Error => 1,
        }
    }

    fn from_code(code: u8) -> Option<Status> {
        match code {
            0 => Some(Status::Success),
            1 => Some(Status::Error),
            _ => None,
        }
    }
}

/// What started an execution. Each is its own execution in n8n's model, with its own
/// record: a sub-workflow run by an Execute Workflow node too (n8n mode `integrated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// A webhook request (`webhook`).
    Webhook,
    /// A schedule (`trigger`).
    Schedule,
    /// A manual or test run (`manual`).
    Manual,
    /// A sub-workflow called by another execution (`integrated`).
    SubWorkflow,
}

impl TriggerKind {
    /// n8n's execution mode name (`mode` in n8n's execution API).
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Webhook => "webhook",
            TriggerKind::Schedule => "trigger",
            TriggerKind::Manual => "manual",
            TriggerKind::SubWorkflow => "integrated",
        }
    }

    /// LinkFlow's name of the trigger (`trigger` in the history API): `webhook`,
    /// `schedule`, `manual` or `subworkflow`; unlike n8n's mode names it says what fired.
    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Webhook => "webhook",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Manual => "manual",
            TriggerKind::SubWorkflow => "subworkflow",
        }
    }

    fn code(self) -> u8 {
        match self {
            TriggerKind::Webhook => 0,
            TriggerKind::Schedule => 1,
            TriggerKind::Manual => 2,
            TriggerKind::SubWorkflow => 3,
        }
    }

    fn from_code(code: u8) -> Option<TriggerKind> {
        match code {
            0 => Some(TriggerKind::Webhook),
            1 => Some(TriggerKind::Schedule),
            2 => Some(TriggerKind::Manual),
            3 => Some(TriggerKind::SubWorkflow),
            _ => None,
        }
    }
}

/// The error of a failed execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError<S = String> {
    /// Stable code (`LF-ENGINE-...` or the node error's code).
    pub code: S,
    /// Failing node's name ("" when the execution itself failed).
    pub node: S,
    /// Message.
    pub message: S,
}

/// One execution record. `S` is `&str` when encoding from the shard (no copies on the
/// hot path) and `String` when decoded; `D` likewise for the node data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<S = String, D = Vec<u8>> {
    /// Shard that ran the execution.
    pub shard: u16,
    /// Per-shard execution sequence number (the id is `<shard>-<sequence>`).
    pub sequence: u64,
    /// Execution id as the engine saw it (`$execution.id`).
    pub execution_id: S,
    /// Workflow id.
    pub workflow_id: S,
    /// Workflow version (0 for a plan compiled from a file).
    pub workflow_version: u64,
    /// Plan id (16 hex digits of the plan's content hash; "" when unknown).
    pub plan_id: S,
    /// What started it.
    pub trigger: TriggerKind,
    /// Trigger detail: `METHOD /path` for webhooks, the cron for schedules, the calling
    /// execution's id for sub-workflows.
    pub trigger_detail: S,
    /// Outcome.
    pub status: Status,
    /// Start, Unix epoch milliseconds.
    pub started_ms: i64,
    /// End, Unix epoch milliseconds.
    pub ended_ms: i64,
    /// n8n `lastNodeExecuted` ("" when no node ran).
    pub last_node: S,
    /// The execution's error when it failed.
    pub error: Option<RecordError<S>>,
    /// Per-node output data (n8n `runData` JSON object) when the level keeps it.
    pub data: Option<D>,
}

/// A record borrowing its strings and data (what the shard encodes).
pub type RecordRef<'r> = Record<&'r str, &'r [u8]>;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the frame announces (a write that did not finish).
    Incomplete,
    /// The length word is above [`RECORD_BYTES_MAX`] or too small for a payload.
    BadLength,
    /// The payload does not match its checksum.
    BadChecksum,
    /// The checksum holds but the payload is not a record of this version.
    Malformed,
}

impl FrameError {
    /// A short reason for reports.
    pub fn reason(self) -> &'static str {
        match self {
            FrameError::Incomplete => "incomplete frame",
            FrameError::BadLength => "impossible frame length",
            FrameError::BadChecksum => "checksum mismatch",
            FrameError::Malformed => "malformed record payload",
        }
    }
}

/// Smallest possible payload: the fixed fields plus five empty strings.
const PAYLOAD_BYTES_MIN: usize = 1 + 1 + 1 + 1 + 2 + 8 * 4 + 4 * 5;

impl<S: AsRef<str>, D: AsRef<[u8]>> Record<S, D> {
    /// Payload size of this record.
    pub fn payload_bytes(&self) -> usize {
        let strings = [
            &self.execution_id,
            &self.workflow_id,
            &self.plan_id,
            &self.trigger_detail,
            &self.last_node,
        ];
        let mut n = PAYLOAD_BYTES_MIN - 4 * 5;
        n += strings.iter().map(|s| 4 + s.as_ref().len()).sum::<usize>();
        if let Some(error) = &self.error {
            n += 12 + error.code.as_ref().len() + error.node.as_ref().len();
            n += error.message.as_ref().len().min(ERROR_MESSAGE_BYTES_MAX);
        }
        if let Some(data) = &self.data {
            n += 4 + data.as_ref().len();
        }
        n
    }

    /// Appends the framed record to `out`; returns the frame's size. A record whose
    /// payload would exceed [`RECORD_BYTES_MAX`] is written without its node data.
    pub fn encode(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        let mut payload_bytes = self.payload_bytes();
        let mut data = self.data.as_ref().map(AsRef::as_ref);
        if payload_bytes > RECORD_BYTES_MAX {
            payload_bytes -= 4 + data.map_or(0, <[u8]>::len);
            data = None;
        }
        assert!(payload_bytes <= RECORD_BYTES_MAX, "a summary fits a record");
        out.reserve(FRAME_HEADER_BYTES + payload_bytes);
        out.extend_from_slice(&(payload_bytes as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let mut flags = 0;
        if self.error.is_some() {
            flags |= FLAG_ERROR;
        }
        if data.is_some() {
            flags |= FLAG_DATA;
        }
        out.extend_from_slice(&[
            RECORD_VERSION,
            flags,
            self.status.code(),
            self.trigger.code(),
        ]);
        out.extend_from_slice(&self.shard.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.workflow_version.to_le_bytes());
        out.extend_from_slice(&self.started_ms.to_le_bytes());
        out.extend_from_slice(&self.ended_ms.to_le_bytes());
        for s in [
            &self.execution_id,
            &self.workflow_id,
            &self.plan_id,
            &self.trigger_detail,
            &self.last_node,
        ] {
            put_bytes(out, s.as_ref().as_bytes());
        }
        if let Some(error) = &self.error {
            put_bytes(out, error.code.as_ref().as_bytes());
            put_bytes(out, error.node.as_ref().as_bytes());
            put_bytes(
                out,
                cut(error.message.as_ref(), ERROR_MESSAGE_BYTES_MAX).as_bytes(),
            );
        }
        if let Some(data) = data {
            put_bytes(out, data);
        }
        let payload = &out[start + FRAME_HEADER_BYTES..];
        debug_assert_eq!(payload.len(), payload_bytes);
        let crc = checksum(payload);
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        out.len() - start
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// `text` cut to at most `max` bytes at a char boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a frame at the start of `bytes` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'b> {
    /// A checked payload and the frame's total size.
    Record {
        /// The payload (checksum verified).
        payload: &'b [u8],
        /// Header + payload bytes.
        frame_bytes: usize,
    },
    /// A zero length word: padding, no more records follow.
    End,
}

/// Reads the frame at the start of `bytes` and verifies its checksum.
pub fn read_frame(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    if bytes.len() < 4 {
        return if bytes.iter().all(|&b| b == 0) {
            Ok(Frame::End)
        } else {
            Err(FrameError::Incomplete)
        };
    }
    let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if length == 0 {
        return Ok(Frame::End);
    }
    if !(PAYLOAD_BYTES_MIN..=RECORD_BYTES_MAX).contains(&length) {
        return Err(FrameError::BadLength);
    }
    if bytes.len() < FRAME_HEADER_BYTES + length {
        return Err(FrameError::Incomplete);
    }
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let payload = &bytes[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + length];
    if checksum(payload) != crc {
        return Err(FrameError::BadChecksum);
    }
    Ok(Frame::Record {
        payload,
        frame_bytes: FRAME_HEADER_BYTES + length,
    })
}

/// Decodes a checked payload.
pub fn decode(payload: &[u8]) -> Result<Record, FrameError> {
    decode_with(payload, true)
}

/// Decodes a checked payload without copying its node data (index rebuilds, listings):
/// [`Record::data`] is `Some(empty)` when the record has data.
pub fn decode_summary(payload: &[u8]) -> Result<Record, FrameError> {
    decode_with(payload, false)
}

fn decode_with(payload: &[u8], keep_data: bool) -> Result<Record, FrameError> {
    let mut r = Reader { bytes: payload };
    let version = r.u8()?;
    if version != RECORD_VERSION {
        return Err(FrameError::Malformed);
    }
    let flags = r.u8()?;
    let status = Status::from_code(r.u8()?).ok_or(FrameError::Malformed)?;
    let trigger = TriggerKind::from_code(r.u8()?).ok_or(FrameError::Malformed)?;
    let shard = u16::from_le_bytes(r.array()?);
    let sequence = u64::from_le_bytes(r.array()?);
    let workflow_version = u64::from_le_bytes(r.array()?);
    let started_ms = i64::from_le_bytes(r.array()?);
    let ended_ms = i64::from_le_bytes(r.array()?);
    let execution_id = r.string()?;
    let workflow_id = r.string()?;
    let plan_id = r.string()?;
    let trigger_detail = r.string()?;
    let last_node = r.string()?;
    let error = if flags & FLAG_ERROR != 0 {
        Some(RecordError {
            code: r.string()?,
            node: r.string()?,
            message: r.string()?,
        })
    } else {
        None
    };
    let data = if flags & FLAG_DATA != 0 {
        let bytes = r.bytes()?;
        Some(if keep_data {
            bytes.to_vec()
        } else {
            Vec::new()
        })
    } else {
        None
    };
    if !r.bytes.is_empty() {
        return Err(FrameError::Malformed);
    }
    Ok(Record {
        shard,
        sequence,
        execution_id,
        workflow_id,
        workflow_version,
        plan_id,
        trigger,
        trigger_detail,
        status,
        started_ms,
        ended_ms,
        last_node,
        error,
        data,
    })
}

struct Reader<'b> {
    bytes: &'b [u8],
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], FrameError> {
        if self.bytes.len() < n {
            return Err(FrameError::Malformed);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn bytes(&mut self) -> Result<&'b [u8], FrameError> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, FrameError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| FrameError::Malformed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(sequence: u64, data: Option<&'static [u8]>) -> RecordRef<'static> {
        Record {
            shard: 1,
            sequence,
            execution_id: "1-7",
            workflow_id: "wf-1",
            workflow_version: 3,
            plan_id: "0123456789abcdef",
            trigger: TriggerKind::Webhook,
            trigger_detail: "POST /webhook/bench",
            status: Status::Error,
            started_ms: 1_700_000_000_000,
            ended_ms: 1_700_000_000_004,
            last_node: "If",
            error: Some(RecordError {
                code: "LF-ENGINE-010",
                node: "If",
                message: "wrong type",
            }),
            data,
        }
    }

    #[test]
    fn a_record_round_trips_through_its_frame() {
        let record = sample(7, Some(br#"{"If":[]}"#));
        let mut out = Vec::new();
        let n = record.encode(&mut out);
        assert_eq!(n, out.len());
        assert_eq!(n, FRAME_HEADER_BYTES + record.payload_bytes());
        let Frame::Record {
            payload,
            frame_bytes,
        } = read_frame(&out).unwrap()
        else {
            panic!("expected a record");
        };
        assert_eq!(frame_bytes, n);
        let decoded = decode(payload).unwrap();
        assert_eq!(decoded.execution_id, "1-7");
        assert_eq!(decoded.status, Status::Error);
        assert_eq!(decoded.error.unwrap().node, "If");
        assert_eq!(decoded.data.as_deref(), Some(&br#"{"If":[]}"#[..]));
        assert_eq!(decoded.started_ms, record.started_ms);
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let mut out = Vec::new();
        sample(1, None).encode(&mut out);
        let last = out.len() - 1;
        out[last] ^= 1;
        assert_eq!(read_frame(&out), Err(FrameError::BadChecksum));
    }

    #[test]
    fn a_cut_frame_is_incomplete_and_zeroes_are_the_end() {
        let mut out = Vec::new();
        sample(1, None).encode(&mut out);
        assert_eq!(
            read_frame(&out[..out.len() - 3]),
            Err(FrameError::Incomplete)
        );
        assert_eq!(read_frame(&[0; 16]), Ok(Frame::End));
        assert_eq!(read_frame(&[0; 2]), Ok(Frame::End));
        assert_eq!(read_frame(&[0xff; 8]), Err(FrameError::BadLength));
    }

    #[test]
    fn long_error_messages_are_cut_at_a_char_boundary() {
        let message = "é".repeat(ERROR_MESSAGE_BYTES_MAX);
        let mut record = sample(1, None);
        record.error = Some(RecordError {
            code: "X",
            node: "",
            message: &message,
        });
        let mut out = Vec::new();
        record.encode(&mut out);
        let Frame::Record { payload, .. } = read_frame(&out).unwrap() else {
            panic!("expected a record");
        };
        let kept = decode(payload).unwrap().error.unwrap().message;
        assert!(kept.len() <= ERROR_MESSAGE_BYTES_MAX);
        assert!(kept.chars().all(|c| c == 'é'));
    }
}

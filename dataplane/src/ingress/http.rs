//! HTTP/1.1 framing, sans IO: where a request head ends, what its headers say about the
//! body (length, chunked, `Expect`), chunked decoding, and response writing.
//!
//! The connection loop ([`super::conn`]) owns the bytes; this module only looks at them,
//! so it is testable without sockets.

use memchr::memmem;

/// Most header lines one request may carry.
pub const HEADERS_MAX: usize = 64;

/// Error codes of the JSON error format (`{"error":{"code":...}}`), stable for clients.
pub mod code {
    /// The request is not valid HTTP/1.1.
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The body is not valid JSON although its content type says so.
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// No webhook is registered for the path.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// A webhook is registered for the path but not for the method.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// The client did not send a whole request in time.
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// The body is larger than the configured limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// The request head is larger than the configured limit.
    pub const HEADERS_TOO_LARGE: &str = "HEADERS_TOO_LARGE";
    /// The shard refused the request to keep its latency budget or queue bound.
    pub const OVERLOADED: &str = "OVERLOADED";
    /// `/webhook-test/` URLs are served only in test mode.
    pub const TEST_WEBHOOK_DISABLED: &str = "TEST_WEBHOOK_DISABLED";
}

/// What the request head says about the body and the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Framing {
    /// `Content-Length`, when given.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The connection stays open after the response.
    pub keep_alive: bool,
}

/// Why a request head cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// Malformed or contradictory framing headers.
    Bad(&'static str),
}

/// Offset just past the `\r\n\r\n` that ends the head in `bytes`, if it is there.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    memmem::find(bytes, b"\r\n\r\n").map(|at| at + 4)
}

/// Reads the framing headers of a parsed request.
pub fn framing(request: &httparse::Request<'_, '_>) -> Result<Framing, FramingError> {
    // HTTP/1.1 keeps connections open unless told otherwise; HTTP/1.0 closes by default.
    let mut framing = Framing {
        keep_alive: request.version == Some(1),
        ..Framing::default()
    };
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value)
                .map_err(|_| FramingError::Bad("Content-Length is not a number"))?;
            let length = text
                .trim()
                .parse::<u64>()
                .map_err(|_| FramingError::Bad("Content-Length is not a number"))?;
            if framing.content_length.is_some_and(|l| l != length) {
                return Err(FramingError::Bad("conflicting Content-Length headers"));
            }
            framing.content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only `chunked` (possibly the last of a list) is a body framing we accept;
            // other codings would need decompression we do not offer.
            let value = header.value;
            let last = value.rsplit(|&b| b == b',').next().unwrap_or(value);
            if trim(last).eq_ignore_ascii_case(b"chunked") {
                framing.chunked = true;
            } else {
                return Err(FramingError::Bad("unsupported Transfer-Encoding"));
            }
        } else if name.eq_ignore_ascii_case("expect") {
            framing.expect_continue = trim(header.value).eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = trim(token);
                if token.eq_ignore_ascii_case(b"close") {
                    framing.keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    framing.keep_alive = true;
                }
            }
        }
    }
    if framing.chunked && framing.content_length.is_some() {
        // RFC 9112 §6.3: both present is a smuggling vector; refuse rather than guess.
        return Err(FramingError::Bad(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    Ok(framing)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &bytes[start..end]
}

/// State of a chunked body in the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunked {
    /// The body is complete: decoded size and bytes consumed (including the trailer).
    Complete {
        /// Decoded body size.
        body_len: usize,
        /// Encoded bytes consumed.
        consumed: usize,
    },
    /// More bytes are needed.
    Partial,
    /// The decoded body would exceed the limit.
    TooLarge,
    /// Malformed chunk framing.
    Bad,
}

/// Scans a chunked body without copying: jumps from size line to size line. Calling it
/// again as bytes arrive costs one step per chunk, not per byte.
pub fn scan_chunked(bytes: &[u8], body_bytes_max: u64) -> Chunked {
    let mut at = 0usize;
    let mut body_len = 0u64;
    loop {
        let Some(line_len) = memmem::find(&bytes[at..], b"\r\n") else {
            return if bytes.len() - at > 1024 {
                Chunked::Bad
            } else {
                Chunked::Partial
            };
        };
        let line = &bytes[at..at + line_len];
        // Chunk extensions (`;name=value`) are allowed and ignored.
        let size_text = line.split(|&b| b == b';').next().unwrap_or(line);
        let Some(size) = parse_hex(trim(size_text)) else {
            return Chunked::Bad;
        };
        at += line_len + 2;
        if size == 0 {
            // Trailer section: header lines until an empty line.
            loop {
                let Some(len) = memmem::find(&bytes[at..], b"\r\n") else {
                    return Chunked::Partial;
                };
                at += len + 2;
                if len == 0 {
                    return Chunked::Complete {
                        body_len: body_len as usize,
                        consumed: at,
                    };
                }
            }
        }
        body_len = body_len.saturating_add(size);
        if body_len > body_bytes_max {
            return Chunked::TooLarge;
        }
        let Some(after) = at.checked_add(size as usize).and_then(|a| a.checked_add(2)) else {
            return Chunked::Bad;
        };
        if bytes.len() < after {
            return Chunked::Partial;
        }
        if &bytes[after - 2..after] != b"\r\n" {
            return Chunked::Bad;
        }
        at = after;
    }
}

/// Copies the data of a complete chunked body (as [`scan_chunked`] accepted it) into `out`.
pub fn decode_chunked(bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut at = 0usize;
    while let Some(line_len) = memmem::find(&bytes[at..], b"\r\n") {
        let line = &bytes[at..at + line_len];
        let size_text = line.split(|&b| b == b';').next().unwrap_or(line);
        let size = parse_hex(trim(size_text)).unwrap_or(0) as usize;
        at += line_len + 2;
        if size == 0 {
            return;
        }
        out.extend_from_slice(&bytes[at..at + size]);
        at += size + 2;
    }
}

fn parse_hex(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 15 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        (b as char).to_digit(16).map(|d| acc * 16 + u64::from(d))
    })
}

/// Reason phrase of the status codes this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Appends a whole response (status line, headers, `Content-Length`, body) to `out`.
/// `headers` must not contain `content-length` or `connection`; they are written here.
pub fn write_response<'h>(
    out: &mut Vec<u8>,
    status: u16,
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: &[u8],
    keep_alive: bool,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        // A header value with CR/LF would split the response; such headers are dropped.
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    if !keep_alive {
        out.extend_from_slice(b"\r\nconnection: close");
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// Appends an error response in the JSON error format of DESIGN.md:
/// `{"error":{"code":"...","message":"...","details":{}}}`.
pub fn write_error(
    out: &mut Vec<u8>,
    status: u16,
    code: &str,
    message: &str,
    extra_headers: &[(&str, &str)],
    keep_alive: bool,
) {
    let mut body = Vec::with_capacity(64 + message.len());
    body.extend_from_slice(br#"{"error":{"code":"#);
    write_json_string(&mut body, code);
    body.extend_from_slice(br#","message":"#);
    write_json_string(&mut body, message);
    body.extend_from_slice(br#","details":{}}}"#);
    let headers = extra_headers
        .iter()
        .copied()
        .chain([("content-type", "application/json; charset=utf-8")]);
    write_response(out, status, headers, &body, keep_alive);
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'h, 'b>(
        bytes: &'b [u8],
        headers: &'h mut [httparse::Header<'b>],
    ) -> httparse::Request<'h, 'b> {
        let mut request = httparse::Request::new(headers);
        assert!(request.parse(bytes).unwrap().is_complete());
        request
    }

    #[test]
    fn http11_keeps_alive_unless_connection_close() {
        let mut h = [httparse::EMPTY_HEADER; 8];
        let r = parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut h);
        assert!(framing(&r).unwrap().keep_alive);
        let mut h = [httparse::EMPTY_HEADER; 8];
        let r = parse(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &mut h);
        assert!(!framing(&r).unwrap().keep_alive);
        let mut h = [httparse::EMPTY_HEADER; 8];
        let r = parse(b"GET / HTTP/1.0\r\n\r\n", &mut h);
        assert!(!framing(&r).unwrap().keep_alive);
    }

    #[test]
    fn content_length_and_chunked_together_are_refused() {
        let mut h = [httparse::EMPTY_HEADER; 8];
        let r = parse(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            &mut h,
        );
        assert!(framing(&r).is_err());
    }

    #[test]
    fn chunked_body_scans_partially_then_decodes() {
        let full = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n";
        assert_eq!(scan_chunked(&full[..10], 100), Chunked::Partial);
        assert_eq!(
            scan_chunked(full, 100),
            Chunked::Complete {
                body_len: 9,
                consumed: full.len()
            }
        );
        let mut out = Vec::new();
        decode_chunked(full, &mut out);
        assert_eq!(out, b"Wikipedia");
        assert_eq!(scan_chunked(full, 5), Chunked::TooLarge);
        assert_eq!(scan_chunked(b"zz\r\n", 100), Chunked::Bad);
    }

    #[test]
    fn error_body_follows_the_design_format() {
        let mut out = Vec::new();
        write_error(&mut out, 404, code::NOT_FOUND, "no \"x\"", &[], true);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(
            text.ends_with(r#"{"error":{"code":"NOT_FOUND","message":"no \"x\"","details":{}}}"#)
        );
    }
}

//! HTTP/1.1 client framing, sans IO: writing a request, and deciding from the bytes read
//! so far whether a whole response has arrived, how long it is and whether the
//! connection can be reused.

use crate::ingress::http::{decode_chunked, head_end, scan_chunked, Chunked};

use super::url::Target;

/// Most response header lines read.
pub const RESPONSE_HEADERS_MAX: usize = 64;
/// Largest response head (status line + headers).
pub const RESPONSE_HEAD_BYTES_MAX: usize = 64 * 1024;

/// Request headers the client writes itself (framing and connection management).
fn managed_header(name: &str) -> bool {
    ["host", "content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|m| name.eq_ignore_ascii_case(m))
}

/// Appends the request to `out`.
pub fn write_request(
    out: &mut Vec<u8>,
    method: &str,
    target: &Target<'_>,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    if !target.path.starts_with('/') {
        out.push(b'/');
    }
    out.extend_from_slice(target.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(target.authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_user_agent = false;
    for &(name, value) in headers {
        if managed_header(name) || name.bytes().any(|b| b == b'\r' || b == b'\n') {
            continue;
        }
        has_user_agent |= name.eq_ignore_ascii_case("user-agent");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        // A value may not smuggle a header line in.
        for &b in value.as_bytes() {
            if b != b'\r' && b != b'\n' {
                out.push(b);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    if !has_user_agent {
        out.extend_from_slice(b"user-agent: linkflow\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// A whole response, located in the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Status code.
    pub status: u16,
    /// Header pairs, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes (decoded when chunked).
    pub body: Vec<u8>,
    /// The connection may carry another request.
    pub reusable: bool,
}

/// What the bytes read so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Read more (`eof` = the peer closed: then a close-delimited body is complete).
    More,
    /// A whole response.
    Done(Parsed),
    /// Larger than the limit.
    TooLarge,
    /// Not HTTP/1.x.
    Bad(&'static str),
}

/// Examines `bytes` (everything read for this response). `head_request`: the request was
/// HEAD (no body follows); `eof`: the peer closed its side.
pub fn parse_response(
    bytes: &[u8],
    head_request: bool,
    eof: bool,
    body_bytes_max: u64,
) -> Progress {
    let Some(head_len) = head_end(bytes) else {
        if bytes.len() > RESPONSE_HEAD_BYTES_MAX {
            return Progress::TooLarge;
        }
        return if eof {
            Progress::Bad("the connection closed before a response head")
        } else {
            Progress::More
        };
    };
    let mut header_slots = [httparse::EMPTY_HEADER; RESPONSE_HEADERS_MAX];
    let mut response = httparse::Response::new(&mut header_slots);
    match response.parse(&bytes[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => return Progress::Bad("malformed response head"),
    }
    let status = response.code.unwrap_or(0);
    let rest = &bytes[head_len..];
    if (100..200).contains(&status) {
        // Interim response (e.g. 100 Continue): the real one follows it.
        return parse_response(rest, head_request, eof, body_bytes_max);
    }
    let mut headers = Vec::with_capacity(response.headers.len());
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut reusable = response.version == Some(1);
    for header in response.headers.iter() {
        let value = String::from_utf8_lossy(header.value).trim().to_owned();
        let name = header.name.to_ascii_lowercase();
        match name.as_str() {
            "content-length" => match value.parse::<u64>() {
                Ok(length) => content_length = Some(length),
                Err(_) => return Progress::Bad("invalid content-length"),
            },
            "transfer-encoding" => chunked |= value.to_ascii_lowercase().contains("chunked"),
            "connection" => {
                let value = value.to_ascii_lowercase();
                if value.contains("close") {
                    reusable = false;
                } else if value.contains("keep-alive") {
                    reusable = true;
                }
            }
            _ => {}
        }
        headers.push((name, value));
    }
    let no_body = head_request || status == 204 || status == 304;
    let body = if no_body {
        Vec::new()
    } else if chunked {
        match scan_chunked(rest, body_bytes_max) {
            Chunked::Complete { consumed, .. } => {
                let mut body = Vec::new();
                decode_chunked(&rest[..consumed], &mut body);
                body
            }
            Chunked::Partial if eof => return Progress::Bad("truncated chunked body"),
            Chunked::Partial => return Progress::More,
            Chunked::TooLarge => return Progress::TooLarge,
            Chunked::Bad => return Progress::Bad("malformed chunked body"),
        }
    } else if let Some(length) = content_length {
        if length > body_bytes_max {
            return Progress::TooLarge;
        }
        if (rest.len() as u64) < length {
            return if eof {
                Progress::Bad("the connection closed before the whole body")
            } else {
                Progress::More
            };
        }
        rest[..length as usize].to_vec()
    } else {
        // Delimited by the peer closing the connection.
        if rest.len() as u64 > body_bytes_max {
            return Progress::TooLarge;
        }
        if !eof {
            return Progress::More;
        }
        reusable = false;
        rest.to_vec()
    };
    Progress::Done(Parsed {
        status,
        headers,
        body,
        reusable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::url::parse;

    #[test]
    fn requests_carry_host_length_and_no_smuggled_headers() {
        let target = parse("http://127.0.0.1:8080/a?b=1").unwrap();
        let mut out = Vec::new();
        write_request(
            &mut out,
            "POST",
            &target,
            &[
                ("content-type", "application/json"),
                ("Content-Length", "999"),
                ("x-evil", "a\r\nhost: other"),
            ],
            b"{}",
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "POST /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\n\
             x-evil: ahost: other\r\nuser-agent: linkflow\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn content_length_responses_complete_and_keep_alive() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        assert_eq!(
            parse_response(&bytes[..30], false, false, 100),
            Progress::More
        );
        let Progress::Done(parsed) = parse_response(bytes, false, false, 100) else {
            panic!("complete");
        };
        assert_eq!(parsed.status, 200);
        assert_eq!(parsed.body, b"hello");
        assert!(parsed.reusable);
        assert!(parsed.headers.contains(&("x-a".into(), "b".into())));
    }

    #[test]
    fn chunked_close_delimited_and_interim_responses() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let Progress::Done(parsed) = parse_response(chunked, false, false, 100) else {
            panic!("chunked");
        };
        assert_eq!(parsed.body, b"abc");
        let closed = b"HTTP/1.0 200 OK\r\n\r\nuntil close";
        assert_eq!(parse_response(closed, false, false, 100), Progress::More);
        let Progress::Done(parsed) = parse_response(closed, false, true, 100) else {
            panic!("eof");
        };
        assert_eq!(parsed.body, b"until close");
        assert!(!parsed.reusable);
        let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let Progress::Done(parsed) = parse_response(interim, false, false, 100) else {
            panic!("interim");
        };
        assert_eq!(parsed.status, 204);
    }

    #[test]
    fn limits_and_garbage_are_reported() {
        let big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        assert_eq!(parse_response(big, false, false, 100), Progress::TooLarge);
        assert!(matches!(
            parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false, false, 100),
            Progress::Bad(_)
        ));
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab",
                false,
                true,
                100
            ),
            Progress::Bad(_)
        ));
    }
}

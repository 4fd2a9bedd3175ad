//! Incremental HTTP/1.1 response framing: enough to find where a response ends
//! (Content-Length or chunked) and its status, without copying the body.

/// Largest response head accepted, in bytes.
pub const RESPONSE_HEAD_BYTES_MAX: usize = 64 * 1024;
/// Largest response body accepted, in bytes.
pub const RESPONSE_BODY_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most headers in one response.
const RESPONSE_HEADERS_MAX: usize = 64;

/// One complete response found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Bytes of the buffer this response occupies.
    pub len: usize,
    /// The server will close the connection after it.
    pub close: bool,
}

/// Outcome of looking at buffered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    /// A whole response.
    Done(Response),
    /// More bytes are needed.
    Partial,
    /// The bytes are not a valid or acceptable response.
    Invalid,
}

/// Looks for one complete response at the start of `buf`.
pub fn parse_response(buf: &[u8]) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; RESPONSE_HEADERS_MAX];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > RESPONSE_HEAD_BYTES_MAX => {
            return Parse::Invalid
        }
        Ok(httparse::Status::Partial) => return Parse::Partial,
        Err(_) => return Parse::Invalid,
    };
    let status = resp.code.unwrap_or(0);
    let mut content_length = None;
    let mut chunked = false;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
            {
                Some(n) if n <= RESPONSE_BODY_BYTES_MAX => content_length = Some(n),
                _ => return Parse::Invalid,
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h.value.eq_ignore_ascii_case(b"chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    // 1xx, 204 and 304 carry no body whatever the headers say (RFC 9112 section 6.3).
    let body_len = if status / 100 == 1 || status == 204 || status == 304 {
        Some(0)
    } else if chunked {
        match chunked_len(&buf[head_len..]) {
            Ok(Some(n)) => Some(n),
            Ok(None) => return Parse::Partial,
            Err(()) => return Parse::Invalid,
        }
    } else {
        // Without a length the body runs to connection close; a load generator cannot
        // reuse such a connection, so it is treated as a protocol error.
        match content_length {
            Some(n) => Some(n),
            None => return Parse::Invalid,
        }
    };
    match body_len {
        Some(n) if buf.len() >= head_len + n => Parse::Done(Response {
            status,
            len: head_len + n,
            close,
        }),
        _ => Parse::Partial,
    }
}

/// Length of a complete chunked body at the start of `b`, `Ok(None)` if incomplete.
fn chunked_len(b: &[u8]) -> Result<Option<usize>, ()> {
    let mut pos = 0;
    loop {
        let Some(eol) = b[pos..].windows(2).position(|w| w == b"\r\n") else {
            return if b.len() - pos > 64 {
                Err(())
            } else {
                Ok(None)
            };
        };
        let line = std::str::from_utf8(&b[pos..pos + eol]).map_err(|_| ())?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| ())?;
        if size > RESPONSE_BODY_BYTES_MAX || pos > RESPONSE_BODY_BYTES_MAX {
            return Err(());
        }
        pos += eol + 2;
        if size == 0 {
            // Trailers end with an empty line; only the common no-trailer form is needed.
            if b.len() < pos + 2 {
                return Ok(None);
            }
            return if &b[pos..pos + 2] == b"\r\n" {
                Ok(Some(pos + 2))
            } else {
                Err(())
            };
        }
        if b.len() < pos + size + 2 {
            return Ok(None);
        }
        pos += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_responses_are_framed_and_pipelined_bytes_left_alone() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1";
        assert_eq!(
            parse_response(r),
            Parse::Done(Response {
                status: 200,
                len: 41,
                close: false
            })
        );
        assert_eq!(parse_response(&r[..40]), Parse::Partial);
    }

    #[test]
    fn chunked_bodies_end_at_the_zero_chunk() {
        let r =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(r),
            Parse::Done(Response {
                status: 404,
                len: r.len(),
                close: false
            })
        );
        assert_eq!(parse_response(&r[..r.len() - 1]), Parse::Partial);
    }

    #[test]
    fn garbage_and_unframed_bodies_are_invalid() {
        assert_eq!(parse_response(b"SMTP ready\r\n\r\n"), Parse::Invalid);
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\n\r\n"), Parse::Invalid);
        let close = b"HTTP/1.1 503 x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(
            parse_response(close),
            Parse::Done(Response {
                close: true,
                status: 503,
                ..
            })
        ));
    }
}

//! Request templates: a small HTTP-like text file expanded once per request.
//!
//! Format (the first line is the request line, then headers, a blank line, the body):
//!
//! ```text
//! POST /webhook/bench
//! Content-Type: application/json
//!
//! {"a":{{rand:1:100}},"id":"{{uuid}}","n":{{seq}}}
//! ```
//!
//! Variables: `{{seq}}` (0, 1, 2, ... per generator), `{{rand:LO:HI}}` (uniform integer,
//! inclusive), `{{uuid}}` (random v4 UUID). `Host`, `Content-Length` and keep-alive are
//! added by the generator, so a template never has to get them right.

use std::fmt::Write as _;

/// Largest template file accepted, in bytes (a template is one request, not a corpus).
pub const TEMPLATE_BYTES_MAX: usize = 1 << 20;
/// Most headers a template may declare.
pub const TEMPLATE_HEADERS_MAX: usize = 64;

/// Why a template was rejected; `code()` is stable for scripts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    /// The file is larger than [`TEMPLATE_BYTES_MAX`].
    #[error("template is larger than {TEMPLATE_BYTES_MAX} bytes")]
    TooLarge,
    /// The first line is not `METHOD /path`.
    #[error("bad request line {0:?}: expected `METHOD /path`")]
    BadRequestLine(String),
    /// A header line has no `:`.
    #[error("bad header line {0:?}: expected `Name: value`")]
    BadHeader(String),
    /// More than [`TEMPLATE_HEADERS_MAX`] headers.
    #[error("more than {TEMPLATE_HEADERS_MAX} headers")]
    TooManyHeaders,
    /// `{{...}}` names no known variable or has bad bounds.
    #[error("unknown or malformed variable {{{{{0}}}}}")]
    BadVariable(String),
    /// A `{{` without its `}}`.
    #[error("unterminated `{{{{`")]
    Unterminated,
}

impl TemplateError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "template_too_large",
            Self::BadRequestLine(_) => "template_bad_request_line",
            Self::BadHeader(_) => "template_bad_header",
            Self::TooManyHeaders => "template_too_many_headers",
            Self::BadVariable(_) => "template_bad_variable",
            Self::Unterminated => "template_unterminated",
        }
    }
}

/// One piece of a compiled text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Lit(String),
    Seq,
    Rand(u64, u64),
    Uuid,
}

/// A text with variables, split once so expansion is a linear walk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text(Vec<Segment>);

impl Text {
    fn parse(src: &str) -> Result<Self, TemplateError> {
        let mut segs = Vec::new();
        let mut rest = src;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                segs.push(Segment::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unterminated)?;
            segs.push(parse_var(after[..end].trim())?);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            segs.push(Segment::Lit(rest.to_string()));
        }
        Ok(Self(segs))
    }

    fn is_static(&self) -> bool {
        self.0.iter().all(|s| matches!(s, Segment::Lit(_)))
    }

    fn expand(&self, seq: u64, rng: &mut Rng, out: &mut String) {
        for seg in &self.0 {
            match seg {
                Segment::Lit(s) => out.push_str(s),
                Segment::Seq => {
                    let _ = write!(out, "{seq}");
                }
                Segment::Rand(lo, hi) => {
                    let span = hi - lo + 1;
                    let v = if span == 0 {
                        rng.next_u64()
                    } else {
                        lo + rng.next_u64() % span
                    };
                    let _ = write!(out, "{v}");
                }
                Segment::Uuid => {
                    let (a, b) = (rng.next_u64(), rng.next_u64());
                    // Version 4 and RFC 4122 variant bits, as uuid::Uuid::new_v4 sets them.
                    let a = (a & !0xF000) | 0x4000;
                    let b = (b & !(0b11 << 62)) | (0b10 << 62);
                    let _ = write!(
                        out,
                        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                        a >> 32,
                        (a >> 16) & 0xFFFF,
                        a & 0xFFFF,
                        b >> 48,
                        b & 0xFFFF_FFFF_FFFF
                    );
                }
            }
        }
    }
}

fn parse_var(name: &str) -> Result<Segment, TemplateError> {
    let bad = || TemplateError::BadVariable(name.to_string());
    match name {
        "seq" => Ok(Segment::Seq),
        "uuid" => Ok(Segment::Uuid),
        _ => {
            let mut parts = name.split(':');
            if parts.next() != Some("rand") {
                return Err(bad());
            }
            let lo: u64 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let hi: u64 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            if parts.next().is_some() || hi < lo {
                return Err(bad());
            }
            Ok(Segment::Rand(lo, hi))
        }
    }
}

/// xorshift64*: fast, deterministic per seed; load generation needs spread, not secrecy.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
    /// Next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A parsed request template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    method: String,
    path: Text,
    headers: Vec<(String, Text)>,
    body: Text,
}

impl Template {
    /// `GET path` with no body: the default when no `--request` file is given.
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".into(),
            path: Text(vec![Segment::Lit(path.to_string())]),
            headers: Vec::new(),
            body: Text(Vec::new()),
        }
    }

    /// Parses a template file's text.
    pub fn parse(src: &str) -> Result<Self, TemplateError> {
        if src.len() > TEMPLATE_BYTES_MAX {
            return Err(TemplateError::TooLarge);
        }
        let (head, body) = match src.find("\n\n").or_else(|| src.find("\r\n\r\n")) {
            Some(i) => {
                let sep = if src[i..].starts_with("\r\n\r\n") {
                    4
                } else {
                    2
                };
                (&src[..i], &src[i + sep..])
            }
            None => (src.trim_end(), ""),
        };
        let mut lines = head.lines().map(|l| l.trim_end_matches('\r'));
        let first = lines.next().unwrap_or("").trim();
        let mut words = first.split_whitespace();
        let (method, path) = match (words.next(), words.next()) {
            (Some(m), Some(p))
                if p.starts_with('/') && m.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                (m, p)
            }
            _ => return Err(TemplateError::BadRequestLine(first.to_string())),
        };
        let mut headers = Vec::new();
        for line in lines {
            if line.trim().is_empty() {
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| TemplateError::BadHeader(line.into()))?;
            let name = name.trim();
            if name.is_empty() || name.contains(' ') {
                return Err(TemplateError::BadHeader(line.into()));
            }
            // The generator owns framing and connection headers.
            if ["content-length", "host", "connection", "transfer-encoding"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                continue;
            }
            headers.push((name.to_string(), Text::parse(value.trim())?));
            if headers.len() > TEMPLATE_HEADERS_MAX {
                return Err(TemplateError::TooManyHeaders);
            }
        }
        // A trailing newline after the body is an editor artefact, not payload.
        let body = body.strip_suffix('\n').unwrap_or(body);
        let body = body.strip_suffix('\r').unwrap_or(body);
        Ok(Self {
            method: method.to_string(),
            path: Text::parse(path)?,
            headers,
            body: Text::parse(body)?,
        })
    }

    /// True when every request is the same bytes (the generator then renders once).
    pub fn is_static(&self) -> bool {
        self.path.is_static()
            && self.body.is_static()
            && self.headers.iter().all(|(_, v)| v.is_static())
    }

    /// Renders request number `seq` as HTTP/1.1 wire bytes into `out` (cleared first).
    pub fn render(&self, host: &str, seq: u64, rng: &mut Rng, out: &mut Vec<u8>) {
        let mut body = String::new();
        self.body.expand(seq, rng, &mut body);
        let mut head = String::with_capacity(128);
        head.push_str(&self.method);
        head.push(' ');
        self.path.expand(seq, rng, &mut head);
        head.push_str(" HTTP/1.1\r\nHost: ");
        head.push_str(host);
        head.push_str("\r\n");
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            value.expand(seq, rng, &mut head);
            head.push_str("\r\n");
        }
        if !body.is_empty() || self.method != "GET" {
            let _ = write!(head, "Content-Length: {}\r\n", body.len());
        }
        head.push_str("\r\n");
        out.clear();
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(body.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Template, seq: u64, rng: &mut Rng) -> String {
        let mut out = Vec::new();
        t.render("h:1", seq, rng, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn seq_rand_and_uuid_expand_per_request() {
        let t = Template::parse(
            "POST /x/{{seq}}\nX-Id: {{uuid}}\n\n{\"a\":{{rand:5:7}},\"n\":{{seq}}}\n",
        )
        .unwrap();
        assert!(!t.is_static());
        let mut rng = Rng::new(1);
        for seq in 0..200 {
            let req = render(&t, seq, &mut rng);
            assert!(req.starts_with(&format!("POST /x/{seq} HTTP/1.1\r\nHost: h:1\r\nX-Id: ")));
            let (head, body) = req.split_once("\r\n\r\n").unwrap();
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["n"], seq);
            assert!((5..=7).contains(&v["a"].as_u64().unwrap()));
            assert!(head.contains(&format!("Content-Length: {}", body.len())));
            let id = head.lines().find_map(|l| l.strip_prefix("X-Id: ")).unwrap();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
        }
    }

    #[test]
    fn framing_headers_from_the_file_are_replaced() {
        let t = Template::parse("POST /a\nContent-Length: 99\nHost: evil\n\nabc").unwrap();
        let req = render(&t, 0, &mut Rng::new(1));
        assert_eq!(
            req,
            "POST /a HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nabc"
        );
        assert!(t.is_static());
    }

    #[test]
    fn malformed_templates_have_stable_codes() {
        assert_eq!(
            Template::parse("nonsense").unwrap_err().code(),
            "template_bad_request_line"
        );
        assert_eq!(
            Template::parse("GET /a\nnocolon").unwrap_err().code(),
            "template_bad_header"
        );
        assert_eq!(
            Template::parse("GET /{{what}}").unwrap_err().code(),
            "template_bad_variable"
        );
        assert_eq!(
            Template::parse("GET /{{rand:9:1}}").unwrap_err().code(),
            "template_bad_variable"
        );
        assert_eq!(
            Template::parse("GET /{{seq").unwrap_err().code(),
            "template_unterminated"
        );
    }
}

//! Splitting an absolute `http(s)://` URL into what a connection and a request line need.
//! Sans-IO and allocation-free: every part borrows the URL.

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'u> {
    /// `https`.
    pub tls: bool,
    /// Host to connect to and to verify the certificate for (IPv6 without brackets).
    pub host: &'u str,
    /// Port (80/443 by default).
    pub port: u16,
    /// `Host` header value (as written in the URL, port included when given).
    pub authority: &'u str,
    /// Path and query for the request line (`/` when the URL has none); no fragment.
    pub path: &'u str,
}

/// Why a URL cannot be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Not `http://` or `https://`.
    Scheme,
    /// No host, a bad port, or user info (credentials in URLs are refused).
    Authority,
}

/// Parses `url`.
pub fn parse(url: &str) -> Result<Target<'_>, UrlError> {
    let url = url.trim();
    let (tls, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
        (false, rest)
    } else {
        return Err(UrlError::Scheme);
    };
    let rest = rest.split('#').next().unwrap_or("");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.is_empty() || authority.contains('@') {
        return Err(UrlError::Authority);
    }
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(UrlError::Authority)?;
        match after {
            "" => (host, default_port),
            port => (host, parse_port(port.strip_prefix(':'))?),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, parse_port(Some(port))?),
            None => (authority, default_port),
        }
    };
    if host.is_empty() {
        return Err(UrlError::Authority);
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok(Target {
        tls,
        host,
        port,
        authority,
        path,
    })
}

fn parse_port(port: Option<&str>) -> Result<u16, UrlError> {
    match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().map_err(|_| UrlError::Authority)
        }
        _ => Err(UrlError::Authority),
    }
}

fn strip_prefix_ignore_case<'u>(s: &'u str, prefix: &str) -> Option<&'u str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_get_default_ports_and_a_root_path() {
        let t = parse("http://example.com").unwrap();
        assert_eq!(
            (t.tls, t.host, t.port, t.path),
            (false, "example.com", 80, "/")
        );
        let t = parse("HTTPS://api.example.com/v1/x?a=1#frag").unwrap();
        assert_eq!(
            (t.tls, t.host, t.port, t.authority, t.path),
            (true, "api.example.com", 443, "api.example.com", "/v1/x?a=1")
        );
    }

    #[test]
    fn ports_ipv6_and_query_without_path_parse() {
        let t = parse("http://127.0.0.1:8080/echo").unwrap();
        assert_eq!(
            (t.host, t.port, t.authority),
            ("127.0.0.1", 8080, "127.0.0.1:8080")
        );
        let t = parse("http://[::1]:9000?q=1").unwrap();
        assert_eq!((t.host, t.port, t.path), ("::1", 9000, "?q=1"));
        let t = parse("https://[::1]/").unwrap();
        assert_eq!((t.host, t.port), ("::1", 443));
    }

    #[test]
    fn bad_urls_are_refused() {
        assert_eq!(parse("ftp://x/"), Err(UrlError::Scheme));
        assert_eq!(parse("example.com/x"), Err(UrlError::Scheme));
        assert_eq!(parse("http:///x"), Err(UrlError::Authority));
        assert_eq!(parse("http://user:pw@host/"), Err(UrlError::Authority));
        assert_eq!(parse("http://host:99999/"), Err(UrlError::Authority));
        assert_eq!(parse("http://host:/"), Err(UrlError::Authority));
        assert_eq!(parse("http://[::1/"), Err(UrlError::Authority));
    }
}

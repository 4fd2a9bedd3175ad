//! `http://host:port/path` targets (plain HTTP only; TLS is out of scope for a loopback
//! benchmark tool).

use std::net::{SocketAddr, ToSocketAddrs};

/// A resolved target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Address to connect to.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host: String,
    /// Path and query (default `/`).
    pub path: String,
}

/// Why a URL was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// Not `http://`.
    #[error("only http:// URLs are supported, got {0:?}")]
    Scheme(String),
    /// Host did not resolve.
    #[error("cannot resolve {0:?}")]
    Resolve(String),
}

impl UrlError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Scheme(_) => "url_scheme",
            Self::Resolve(_) => "url_resolve",
        }
    }
}

/// Parses and resolves a URL.
pub fn parse(url: &str) -> Result<Target, UrlError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| UrlError::Scheme(url.into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| UrlError::Resolve(authority.into()))?;
    Ok(Target {
        addr,
        host: authority.to_string(),
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_host_and_path() {
        let t = parse("http://127.0.0.1:8081/webhook/bench?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8081".parse::<SocketAddr>().unwrap());
        assert_eq!(t.host, "127.0.0.1:8081");
        assert_eq!(t.path, "/webhook/bench?x=1");
        assert_eq!(parse("http://127.0.0.1").unwrap().path, "/");
        assert_eq!(parse("https://x").unwrap_err().code(), "url_scheme");
    }
}

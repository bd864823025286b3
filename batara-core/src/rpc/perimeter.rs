//! Who may talk to the server at all: the `Host` allowlist (DNS rebinding) and the `Origin`
//! allowlist (web pages), with CORS for the allowed origins. Checked on every HTTP request and on
//! the WebSocket upgrade, before jsonrpsee sees the request.
//!
//! - `Host`: a browser tricked by DNS rebinding sends the attacker's *name* (`Host: evil.example`)
//!   to a loopback address. `localhost` and every IP literal are allowed by default (an IP
//!   cannot be rebound); other names only when listed in `rpc.allowed_hosts` (or `"*"`). No
//!   `Host` header (HTTP/1.0 tools) is allowed, as in geth.
//! - `Origin`: a request without one (curl, the SDKs, servers) is allowed. With one, it must match
//!   `rpc.allowed_origins`: an exact origin (`https://app.example`), a scheme and host with any
//!   port (`http://localhost:*`), or `"*"`. Default: on a dev chain the local pages
//!   (`http(s)://localhost`, `127.0.0.1`, `[::1]`, any port); elsewhere none. A disallowed origin
//!   gets `403` — for a WebSocket upgrade too (not `101`), and for a plain POST (a browser could
//!   send it without preflight; it is refused, not only left unreadable).
//! - CORS: a preflight (`OPTIONS` with `Origin`) from an allowed origin gets `204` with
//!   `Access-Control-Allow-Origin` (the origin itself, or `*` when `"*"` is configured),
//!   `-Methods: POST, GET, OPTIONS`, `-Headers` (what was asked), `-Max-Age: 600`; every answer to an
//!   allowed origin carries `Access-Control-Allow-Origin` and `Vary: Origin`. Nothing is sent for
//!   other origins.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use jsonrpsee::server::{HttpBody, HttpResponse};

/// Hosts allowed when `rpc.allowed_hosts` is not set (besides every IP literal).
const DEFAULT_HOSTS: &[&str] = &["localhost"];

/// The parsed allowlists.
#[derive(Debug, Clone)]
pub(crate) struct Perimeter {
    hosts: Allow<String>,
    origins: Allow<OriginPattern>,
}

#[derive(Debug, Clone)]
enum Allow<T> {
    Any,
    /// The listed entries; `ip_literals` also allows any IP address (hosts only).
    List {
        entries: Vec<T>,
        ip_literals: bool,
    },
}

/// `scheme://host[:port]`; `port == None` with `any_port` matches every port.
#[derive(Debug, Clone, PartialEq)]
struct OriginPattern {
    scheme: String,
    host: String,
    port: Option<u16>,
    any_port: bool,
}

/// What the perimeter decided about a request.
pub(crate) enum Verdict {
    /// Refused: answer this (403) and stop.
    Refuse(HttpResponse),
    /// A CORS preflight from an allowed origin: answer this (204) and stop.
    Preflight(HttpResponse),
    /// Pass it on; add CORS headers for this origin to the answer.
    Pass(Option<HeaderValue>),
}

impl Perimeter {
    /// The allowlists from the config; `None` lists take the defaults (`dev` opens the origins of
    /// local pages).
    pub(crate) fn new(
        hosts: Option<&[String]>,
        origins: Option<&[String]>,
        dev: bool,
    ) -> Result<Self, String> {
        let hosts = match hosts {
            None => Allow::List {
                entries: DEFAULT_HOSTS.iter().map(|h| h.to_string()).collect(),
                ip_literals: true,
            },
            Some(l) if l.iter().any(|h| h == "*") => Allow::Any,
            Some(l) => Allow::List {
                entries: l.iter().map(|h| normalize_host(h)).collect(),
                ip_literals: false,
            },
        };
        let origins = match origins {
            None if dev => Allow::List {
                entries: ["http", "https"]
                    .iter()
                    .flat_map(|s| {
                        ["localhost", "127.0.0.1", "[::1]"]
                            .iter()
                            .map(move |h| format!("{s}://{h}:*"))
                    })
                    .map(|o| OriginPattern::parse(&o).expect("valid default origin"))
                    .collect(),
                ip_literals: false,
            },
            None => Allow::List {
                entries: vec![],
                ip_literals: false,
            },
            Some(l) if l.iter().any(|o| o == "*") => Allow::Any,
            Some(l) => Allow::List {
                entries: l
                    .iter()
                    .map(|o| {
                        OriginPattern::parse(o)
                            .ok_or_else(|| format!("rpc.allowed_origins: bad origin {o:?} (expected scheme://host[:port|:*] or \"*\")"))
                    })
                    .collect::<Result<_, _>>()?,
                ip_literals: false,
            },
        };
        Ok(Self { hosts, origins })
    }

    fn host_allowed(&self, host: &str) -> bool {
        match &self.hosts {
            Allow::Any => true,
            Allow::List {
                entries,
                ip_literals,
            } => {
                let h = normalize_host(host);
                (*ip_literals && h.parse::<std::net::IpAddr>().is_ok()) || entries.contains(&h)
            }
        }
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        match &self.origins {
            Allow::Any => true,
            Allow::List { entries, .. } => match OriginPattern::parse(origin) {
                Some(o) if !o.any_port => entries.iter().any(|p| p.matches(&o)),
                _ => false,
            },
        }
    }

    /// Decides about a request from its method and headers (and the authority of its URI, which
    /// HTTP/2 uses instead of `Host`).
    pub(crate) fn check(
        &self,
        method: &Method,
        authority: Option<&str>,
        headers: &HeaderMap,
    ) -> Verdict {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority);
        if let Some(host) = host {
            if !self.host_allowed(host_part(host)) {
                return Verdict::Refuse(forbidden(format!(
                    "host not allowed: {host} (see rpc.allowed_hosts)"
                )));
            }
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Verdict::Pass(None);
        };
        let text = origin.to_str().unwrap_or("");
        if !self.origin_allowed(text) {
            return Verdict::Refuse(forbidden(format!(
                "origin not allowed: {text} (see rpc.allowed_origins)"
            )));
        }
        let allow = match self.origins {
            Allow::Any => HeaderValue::from_static("*"),
            Allow::List { .. } => origin.clone(),
        };
        if method == Method::OPTIONS {
            let mut r = HttpResponse::new(HttpBody::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, GET, OPTIONS"),
            );
            let asked = headers
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static("content-type"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            add_cors(h, allow);
            return Verdict::Preflight(r);
        }
        Verdict::Pass(Some(allow))
    }
}

/// Adds `Access-Control-Allow-Origin: allow` and `Vary: Origin`.
pub(crate) fn add_cors(h: &mut HeaderMap, allow: HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    h.append(header::VARY, HeaderValue::from_static("origin"));
}

fn forbidden(msg: String) -> HttpResponse {
    tracing::debug!(target: "batara::rpc", "{msg}");
    let mut r = HttpResponse::new(HttpBody::from(msg + "\n"));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `host[:port]` → `host` (`[::1]:8545` → `[::1]`).
fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    }
}

/// Lower case, without the brackets of an IPv6 literal and a trailing dot.
fn normalize_host(h: &str) -> String {
    let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
    match h.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        Some(inner) => inner.to_owned(),
        None => h,
    }
}

impl OriginPattern {
    /// `scheme://host[:port]` (a pattern may end in `:*`). Paths are not part of an origin.
    fn parse(s: &str) -> Option<Self> {
        let (scheme, rest) = s.trim().split_once("://")?;
        if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
            return None;
        }
        let (rest, any_port) = match rest.strip_suffix(":*") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let host = host_part(rest);
        let port = match &rest[host.len()..] {
            "" => None,
            p if !any_port => Some(p.strip_prefix(':')?.parse().ok()?),
            _ => return None,
        };
        Some(Self {
            scheme: scheme.to_ascii_lowercase(),
            host: normalize_host(host),
            port,
            any_port,
        })
    }

    fn matches(&self, o: &OriginPattern) -> bool {
        self.scheme == o.scheme && self.host == o.host && (self.any_port || self.port == o.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(dev: bool, origins: Option<&[&str]>) -> Perimeter {
        let o: Option<Vec<String>> = origins.map(|l| l.iter().map(|s| s.to_string()).collect());
        Perimeter::new(None, o.as_deref(), dev).unwrap()
    }

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        let dev = p(true, None);
        for ok in [
            "http://localhost",
            "http://localhost:3000",
            "https://127.0.0.1:8080",
            "http://[::1]:5173",
        ] {
            assert!(dev.origin_allowed(ok), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://localhost.evil.example",
            "null",
            "file://",
            "ftp://localhost",
            "",
        ] {
            assert!(!dev.origin_allowed(bad), "{bad}");
        }
        let closed = p(false, None);
        assert!(!closed.origin_allowed("http://localhost:3000"));
        let one = p(false, Some(&["https://app.example"]));
        assert!(one.origin_allowed("https://APP.example"));
        assert!(!one.origin_allowed("https://app.example:444"));
        assert!(!one.origin_allowed("http://app.example"));
        assert!(p(false, Some(&["*"])).origin_allowed("http://anything.example"));
        assert!(Perimeter::new(None, Some(&["localhost".to_string()]), false).is_err());
    }

    #[test]
    fn hosts_allow_ip_literals_and_localhost_by_default() {
        let d = p(false, None);
        for ok in ["localhost", "LOCALHOST.", "127.0.0.1", "[::1]", "10.1.2.3"] {
            assert!(d.host_allowed(ok), "{ok}");
        }
        assert!(!d.host_allowed("evil.example"));
        assert_eq!(host_part("[::1]:8545"), "[::1]");
        assert_eq!(host_part("evil.example:8545"), "evil.example");
        let listed = Perimeter::new(Some(&["node.example".to_string()]), None, false).unwrap();
        assert!(listed.host_allowed("node.example"));
        assert!(!listed.host_allowed("127.0.0.1"));
    }
}

//! Who the client is when a reverse proxy stands in front: the client address and whether the
//! browser used https, believed from `X-Forwarded-For` / `X-Forwarded-Proto` only when the
//! direct peer is one of `LETTA_ADMIN_TRUSTED_PROXIES`. From any other peer those headers are
//! ignored, so nobody can pick their own address to dodge the sign-in throttle.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};

/// An address range: `10.0.0.0/8`, `::1/128`, or one address (`127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not an IP address or CIDR range");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(Cidr { net, prefix })
    }

    /// A comma- or space-separated list.
    pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
        s.split([',', ' '])
            .filter(|p| !p.trim().is_empty())
            .map(Cidr::parse)
            .collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:1.2.3.4` is the IPv4 address it maps (a dual-stack listener reports those).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client of one request, as far as the dashboard can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub addr: IpAddr,
    /// The browser reached the dashboard over https (said by a trusted proxy).
    pub https: bool,
    /// The direct peer is a trusted proxy (its forwarding headers were believed).
    pub trusted_peer: bool,
}

impl Client {
    /// Reads the client from the direct peer and, if that peer is trusted, its forwarding
    /// headers: the client address is the rightmost `X-Forwarded-For` entry that is not itself
    /// a trusted proxy (entries further left are whatever the client claimed).
    pub fn from_parts(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> Client {
        let peer = canonical(peer);
        let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
        if !is_trusted(peer) {
            return Client {
                addr: peer,
                https: false,
                trusted_peer: false,
            };
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map_while(|p| parse_forwarded_ip(p.trim()))
            .collect();
        let addr = forwarded
            .iter()
            .rev()
            .copied()
            .map(canonical)
            .find(|ip| !is_trusted(*ip))
            .or_else(|| forwarded.first().copied().map(canonical))
            .unwrap_or(peer);
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        Client {
            addr,
            https,
            trusted_peer: true,
        }
    }
}

/// An `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_forwarded_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

/// Middleware: puts the request's [`Client`] into its extensions, and marks the session cookie
/// `Secure` on the way out when the browser used https (or the configuration says so).
pub async fn client_info(
    State(trusted): State<std::sync::Arc<[Cidr]>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let client = Client::from_parts(peer, req.headers(), &trusted);
    req.extensions_mut().insert(client);
    let mut res = next.run(req).await;
    if client.https {
        secure_cookies(res.headers_mut());
    }
    res
}

/// Adds `Secure` to every cookie this response sets that lacks it.
fn secure_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for c in cookies {
        let secured = match c.to_str() {
            Ok(s)
                if !s
                    .split(';')
                    .any(|attr| attr.trim().eq_ignore_ascii_case("secure")) =>
            {
                HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or(c)
            }
            _ => c,
        };
        headers.append(header::SET_COOKIE, secured);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_match_their_addresses_only() {
        let lan = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(lan.contains(ip("10.1.200.3")));
        assert!(!lan.contains(ip("10.2.0.1")));
        assert!(Cidr::parse("127.0.0.1")
            .unwrap()
            .contains(ip("::ffff:127.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!Cidr::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        for bad in ["", "10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Cidr::parse_list("127.0.0.1, 10.0.0.0/8").unwrap().len(), 2);
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_peer() {
        let trusted = Cidr::parse_list("127.0.0.1,10.0.0.0/8").unwrap();
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ]);
        // Through the proxy: the rightmost entry the proxy added is the client; what the client
        // itself put in front (6.6.6.6) is not believed.
        let c = Client::from_parts(ip("127.0.0.1"), &h, &trusted);
        assert_eq!(c.addr, ip("203.0.113.7"));
        assert!(c.https);
        // A chain of our own proxies is skipped.
        let h2 = headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.5")]);
        assert_eq!(
            Client::from_parts(ip("10.0.0.9"), &h2, &trusted).addr,
            ip("203.0.113.7")
        );
        // Straight from an untrusted peer: the headers are ignored.
        let c = Client::from_parts(ip("198.51.100.1"), &h, &trusted);
        assert_eq!(c.addr, ip("198.51.100.1"));
        assert!(!c.https);
        // No proxies configured: never believed.
        let c = Client::from_parts(ip("127.0.0.1"), &h, &[]);
        assert_eq!(c.addr, ip("127.0.0.1"));
        assert!(!c.https);
        // Garbage in the header: the peer stands.
        let h3 = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(
            Client::from_parts(ip("127.0.0.1"), &h3, &trusted).addr,
            ip("127.0.0.1")
        );
    }

    #[test]
    fn cookies_get_secure_once() {
        let mut h = headers(&[
            ("set-cookie", "a=1; Path=/; HttpOnly"),
            ("set-cookie", "b=2; Secure"),
        ]);
        secure_cookies(&mut h);
        let all: Vec<_> = h
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(all, ["a=1; Path=/; HttpOnly; Secure", "b=2; Secure"]);
    }
}

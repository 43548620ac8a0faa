//! Whose address a connection is, behind proxies: `X-Forwarded-For` or
//! `Forwarded` (RFC 7239), believed only from proxies the operator named
//! (`--trusted-proxy`).
//!
//! Each proxy appends the address it received the request from, so the
//! list is only as honest as the proxy that wrote each entry. Walking from
//! the right, past the relay's own trusted proxies, the first address that
//! is not one of them was written by a trusted proxy about its peer: that
//! is the client. Anything further left came from the client and may be
//! forged. A connection that does not come from a trusted proxy is its
//! peer address, whatever headers it sends.

use std::{net::IpAddr, str::FromStr};

use axum::http::HeaderMap;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not an address or block like 10.0.0.0/8 or ::1");
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let net = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { net, bits })
    }
}

impl core::fmt::Display for Cidr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx, caddy, most load
    /// balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

impl FromStr for ProxyHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(format!(
                "`{s}` is not a proxy header; use x-forwarded-for or forwarded"
            )),
        }
    }
}

/// The proxies whose forwarding header is believed, and which header that
/// is. Empty (the default): no header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// Addresses and blocks of the relay's own proxies.
    pub trusted: Vec<Cidr>,
    /// The header they write.
    pub header: ProxyHeader,
}

impl Proxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(ip))
    }

    /// The client's address for a connection from `peer` carrying
    /// `headers`: the rightmost address of the forwarding chain that is
    /// not a trusted proxy, or `peer` itself when `peer` is not a trusted
    /// proxy. An entry that does not parse ends the walk at the last
    /// trusted hop (never further left, where a client writes).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let name = match self.header {
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::Forwarded => "forwarded",
        };
        let mut hops: Vec<Option<IpAddr>> = Vec::new();
        for value in headers.get_all(name) {
            let Ok(value) = value.to_str() else {
                hops.push(None);
                continue;
            };
            hops.extend(value.split(',').map(|element| match self.header {
                ProxyHeader::XForwardedFor => parse_node(element),
                ProxyHeader::Forwarded => forwarded_for(element),
            }));
        }
        for hop in hops.into_iter().rev() {
            let Some(ip) = hop else { return client };
            client = ip.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address with or without a port: `192.0.2.1`, `192.0.2.1:80`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`. Obfuscated and
/// `unknown` nodes (RFC 7239 section 6) are no address.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(trusted: &[&str], header: ProxyHeader) -> Proxies {
        Proxies {
            trusted: trusted.iter().map(|c| c.parse().unwrap()).collect(),
            header,
        }
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn blocks_parse_and_match() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.255.3")) && !c.contains(ip("10.2.0.1")));
        assert!(
            c.contains(ip("::ffff:10.1.0.9")),
            "v4-mapped v6 is the v4 address"
        );
        let c: Cidr = "2001:db8::/33".parse().unwrap();
        assert!(c.contains(ip("2001:db8:7fff::1")) && !c.contains(ip("2001:db8:8000::1")));
        assert!(!c.contains(ip("10.1.0.1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "example.org",
            "1.2.3.4/x",
            "",
        ] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let p = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(p.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        let none = Proxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"], ProxyHeader::XForwardedFor);
        let peer = ip("127.0.0.1");
        let cases: &[(&[&str], &str)] = &[
            // One proxy: what it appended.
            (&["203.0.113.5"], "203.0.113.5"),
            // The client's own (forged) entries are left of the real one.
            (&["1.1.1.1, 203.0.113.5"], "203.0.113.5"),
            // Two proxies of ours: skip the inner one's address.
            (&["198.51.100.1, 203.0.113.5, 10.2.3.4"], "203.0.113.5"),
            // Several header lines are one list, in order.
            (&["9.9.9.9", "203.0.113.6, 10.0.0.7"], "203.0.113.6"),
            // Ports and brackets.
            (&["203.0.113.5:4711"], "203.0.113.5"),
            (&["[2001:db8::17]:4711"], "2001:db8::17"),
            (&["2001:db8::17"], "2001:db8::17"),
            (&["::ffff:203.0.113.8"], "203.0.113.8"),
            // Garbage where the client would be: stop at the last trusted hop.
            (&["203.0.113.5, garbage, 10.0.0.3"], "10.0.0.3"),
            (&["unknown"], "127.0.0.1"),
            // No header: the proxy itself.
            (&[], "127.0.0.1"),
            // Only trusted hops: the leftmost of them.
            (&["10.0.0.1, 10.0.0.2"], "10.0.0.1"),
        ];
        for (values, want) in cases {
            let h = headers("x-forwarded-for", values);
            assert_eq!(p.client_ip(peer, &h), ip(want), "{values:?}");
        }
    }

    #[test]
    fn forwarded_is_read_when_the_proxy_writes_it() {
        let p = proxies(&["127.0.0.1"], ProxyHeader::Forwarded);
        let peer = ip("127.0.0.1");
        let cases: &[(&[&str], &str)] = &[
            (&["for=192.0.2.60;proto=http;by=203.0.113.43"], "192.0.2.60"),
            (&[r#"for="[2001:db8:cafe::17]:4711""#], "2001:db8:cafe::17"),
            (&["for=198.51.100.1, For=192.0.2.61"], "192.0.2.61"),
            (&["for=192.0.2.60, for=_hidden"], "127.0.0.1"),
            (&["proto=https"], "127.0.0.1"),
        ];
        for (values, want) in cases {
            let h = headers("forwarded", values);
            assert_eq!(p.client_ip(peer, &h), ip(want), "{values:?}");
        }
        // In this mode X-Forwarded-For is just another client header.
        let h = headers("x-forwarded-for", &["203.0.113.5"]);
        assert_eq!(p.client_ip(peer, &h), peer);
        assert_eq!(
            "Forwarded".parse::<ProxyHeader>(),
            Ok(ProxyHeader::Forwarded)
        );
        assert!("x-real-ip".parse::<ProxyHeader>().is_err());
    }
}

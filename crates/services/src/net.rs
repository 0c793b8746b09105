//! Which addresses Moat connects to on a customer's behalf: webhooks and MX probes go to
//! public unicast addresses only, unless the operator allows otherwise.

use std::net::IpAddr;

/// Whether `ip` is a public unicast address (not [`private`]).
pub fn is_public(ip: IpAddr) -> bool {
    !private(ip)
}

/// Whether Moat must not connect to `ip` on a customer's behalf: loopback, private,
/// link-local, shared (CGNAT), benchmarking, documentation, multicast and reserved ranges,
/// and IPv6 forms that embed an IPv4 address the network may route inside (mapped,
/// compatible, NAT64, 6to4, Teredo).
fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            a == 0
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && (c == 0 || c == 2))
                || (a == 198 && (b & 0xfe) == 18)
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48).
                || (s[0] == 0x64 && s[1] == 0xff9b)
                // 6to4, Teredo, documentation, discard-only.
                || s[0] == 0x2002
                || (s[0] == 0x2001 && s[1] == 0)
                || (s[0] == 0x2001 && s[1] == 0xdb8)
                || (s[0] == 0x100 && s[1..4] == [0, 0, 0])
                // IPv4-mapped and IPv4-compatible (::a.b.c.d).
                || v6.to_ipv4_mapped().is_some()
                || s[..6] == [0; 6]
        }
    }
}

//! The outbound address policy: which IP addresses and host names the server may fetch from.
//! Cloud-metadata and link-local targets are never reached; private, loopback and special-purpose
//! ranges only with `--allow-private-fetch`. IPv6 forms that carry an IPv4 address (IPv4-mapped,
//! IPv4-compatible, NAT64, 6to4) are judged by the address they carry, so `::ffff:127.0.0.1` is as
//! private as `127.0.0.1` and `64:ff9b::a9fe:a9fe` as forbidden as `169.254.169.254`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an address is, from the point of view of an outbound fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A global unicast address: always allowed.
    Public,
    /// Private, loopback, CGNAT, ULA, documentation, benchmarking…: only with
    /// `--allow-private-fetch`.
    Private,
    /// Cloud metadata, link-local, unspecified, multicast, broadcast: never.
    Blocked,
}

/// Host names of cloud metadata services, refused whatever they resolve to.
const METADATA_NAMES: &[&str] = &["metadata.google.internal", "metadata.goog", "metadata"];

/// Whether `ip` may be fetched from.
pub fn allowed(ip: IpAddr, allow_private: bool) -> bool {
    match classify(ip) {
        AddressClass::Public => true,
        AddressClass::Private => allow_private,
        AddressClass::Blocked => false,
    }
}

/// Whether the host name `name` is a cloud metadata service (checked before resolution).
pub fn is_metadata_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    METADATA_NAMES.contains(&name.as_str())
}

/// Classifies an address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    const BLOCKED: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),          // "this network"; 0.0.0.0 reaches localhost on Linux
        ([169, 254, 0, 0], 16),     // link-local, AWS/GCP/Azure/OCI metadata 169.254.169.254
        ([100, 100, 100, 200], 32), // Alibaba Cloud metadata
        ([224, 0, 0, 0], 4),        // multicast
        ([240, 0, 0, 0], 4),        // reserved, broadcast
    ];
    const PRIVATE: &[([u8; 4], u32)] = &[
        ([10, 0, 0, 0], 8),      // RFC 1918
        ([172, 16, 0, 0], 12),   // RFC 1918
        ([192, 168, 0, 0], 16),  // RFC 1918
        ([127, 0, 0, 0], 8),     // loopback
        ([100, 64, 0, 0], 10),   // CGNAT (RFC 6598)
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([198, 18, 0, 0], 15),   // benchmarking (RFC 2544)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ];
    if BLOCKED.iter().any(|(n, p)| in_v4(ip, *n, *p)) {
        AddressClass::Blocked
    } else if PRIVATE.iter().any(|(n, p)| in_v4(ip, *n, *p)) {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
}

/// The stricter of two classes.
fn stricter(a: AddressClass, b: AddressClass) -> AddressClass {
    use AddressClass::{Blocked, Private, Public};
    match (a, b) {
        (Blocked, _) | (_, Blocked) => Blocked,
        (Private, _) | (_, Private) => Private,
        (Public, Public) => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_multicast() {
        return AddressClass::Blocked;
    }
    if ip.is_loopback() {
        return AddressClass::Private;
    }
    // IPv4-mapped `::ffff:a.b.c.d` and IPv4-compatible `::a.b.c.d` (deprecated, but routed to
    // the IPv4 address by some stacks).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96 and the local-use prefix 64:ff9b:1::/48 (RFC 8215):
    // a NAT64 gateway forwards to the IPv4 address in the low 32 bits; the local-use prefix is
    // private whatever it carries.
    if s[0] == 0x64 && s[1] == 0xff9b {
        let inner = classify_v4(embedded_v4(s[6], s[7]));
        return if s[2..6] == [0; 4] {
            inner
        } else if s[2] == 1 {
            stricter(inner, AddressClass::Private)
        } else {
            AddressClass::Public
        };
    }
    // 6to4 2002:AABB:CCDD::/48 tunnels to the IPv4 address AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return classify_v4(embedded_v4(s[1], s[2]));
    }
    let in_v6 = |net: u16, mask: u16| s[0] & mask == net;
    if in_v6(0xfe80, 0xffc0) || (s[0] == 0xfd00 && s[1] == 0x0ec2) {
        // link-local; AWS metadata fd00:ec2::254 (the whole fd00:ec2::/32)
        return AddressClass::Blocked;
    }
    let private = in_v6(0xfc00, 0xfe00) // unique local fc00::/7
        || in_v6(0xfec0, 0xffc0) // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking 2001:2::/48
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: the client's IPv4 address is obscured
        || (s[0] == 0x0100 && s[1..4] == [0; 3]); // discard-only 100::/64
    if private {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn metadata_and_link_local_are_never_fetched() {
        for ip in [
            "169.254.169.254",
            "169.254.170.2",
            "169.254.0.1",
            "100.100.100.200",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "255.255.255.255",
            "224.0.0.1",
            "ff02::1",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::169.254.169.254",
            "64:ff9b:1::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "::ffff:100.100.100.200",
            "2002:6464:64c8::",
        ] {
            assert_eq!(class(ip), AddressClass::Blocked, "{ip}");
            assert!(!allowed(ip.parse().unwrap(), true), "{ip}");
        }
    }

    #[test]
    fn private_ranges_need_the_operator_s_permission() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.9.9.9",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::8.8.8.8",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert_eq!(class(ip), AddressClass::Private, "{ip}");
            assert!(allowed(ip.parse().unwrap(), true), "{ip}");
            assert!(!allowed(ip.parse().unwrap(), false), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_fetched() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.255.255",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn metadata_names() {
        assert!(is_metadata_name("metadata.google.internal"));
        assert!(is_metadata_name("Metadata.Google.Internal."));
        assert!(!is_metadata_name("example.com"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every IPv6 form that carries an IPv4 address is at least as strict as that address.
        #[test]
        fn embedded_ipv4_is_never_looser(v4 in any::<u32>()) {
            let inner = classify_v4(Ipv4Addr::from(v4));
            let [a, b, c, d] = v4.to_be_bytes();
            let hi = u16::from_be_bytes([a, b]);
            let lo = u16::from_be_bytes([c, d]);
            for v6 in [
                Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, hi, lo),
                Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
                Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
            ] {
                prop_assert_eq!(classify_v6(v6), inner, "{}", v6);
            }
            let compat = Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo);
            if v4 > 1 {
                prop_assert_eq!(classify_v6(compat), inner, "{}", compat);
            }
            let local_nat64 = Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, hi, lo);
            prop_assert_ne!(classify_v6(local_nat64), AddressClass::Public);
        }

        /// Link-local and cloud-metadata ranges are blocked, whatever the host bits.
        #[test]
        fn link_local_always_blocked(host in any::<u16>(), rest in any::<[u16; 7]>()) {
            let v4 = Ipv4Addr::from(0xa9fe_0000 | u32::from(host));
            prop_assert!(!allowed(IpAddr::V4(v4), true));
            let ll = Ipv6Addr::new(0xfe80 | (rest[0] & 0x3f), rest[1], rest[2], rest[3], rest[4], rest[5], rest[6], host);
            prop_assert!(!allowed(IpAddr::V6(ll), true));
            let aws = Ipv6Addr::new(0xfd00, 0x0ec2, rest[0], rest[1], rest[2], rest[3], rest[4], host);
            prop_assert!(!allowed(IpAddr::V6(aws), true));
        }

        /// Without permission, nothing in a private IPv4 range is reachable.
        #[test]
        fn private_v4_refused_without_permission(bits in any::<u32>(), net in 0usize..5) {
            let (base, prefix): (u32, u32) = [
                (0x0a00_0000, 8), (0xac10_0000, 12), (0xc0a8_0000, 16), (0x7f00_0000, 8), (0x6440_0000, 10),
            ][net];
            let ip = Ipv4Addr::from(base | (bits >> prefix));
            prop_assert!(!allowed(IpAddr::V4(ip), false), "{}", ip);
        }
    }
}

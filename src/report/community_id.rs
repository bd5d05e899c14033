//! Community ID v1 (corelight/community-id-spec): the flow hash Zeek,
//! Suricata and Wireshark emit, so our records join with theirs.
//!
//! `"1:" + base64(SHA-1(seed (2 bytes, big-endian) . src ip . dst ip .
//! proto (1 byte) . 0 (1 byte) . src port . dst port))`, with the endpoints
//! ordered so the smaller (ip, port) comes first.
//!
//! SHA-1 comes from RustCrypto's sha1 crate, which uses the CPU's SHA
//! extensions when present: one hash per connection was 4 % of a run over
//! short connections with our own implementation. base64 is written here
//! (a few lines, fixed). The spec's published vectors below pin the
//! output. SHA-1's weakness is irrelevant: this is a join key, not a
//! signature.

use std::net::IpAddr;

/// IANA protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// Community ID v1 of a TCP flow, seed 0 (the default in every tool).
pub fn community_id_tcp(a: IpAddr, a_port: u16, b: IpAddr, b_port: u16) -> String {
    community_id_v1(0, PROTO_TCP, a, a_port, b, b_port)
}

/// Community ID v1 for a port-based protocol (TCP, UDP, SCTP).
pub fn community_id_v1(
    seed: u16,
    proto: u8,
    a: IpAddr,
    a_port: u16,
    b: IpAddr,
    b_port: u16,
) -> String {
    let (src, sport, dst, dport) = if (ip_key(a), a_port) <= (ip_key(b), b_port) {
        (a, a_port, b, b_port)
    } else {
        (b, b_port, a, a_port)
    };
    // 2 + 16 + 16 + 1 + 1 + 2 + 2 bytes at most.
    let mut buf = [0u8; 40];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(dst) = buf.get_mut(n..n + bytes.len()) {
            dst.copy_from_slice(bytes);
            n += bytes.len();
        }
    };
    put(&seed.to_be_bytes());
    put_ip(&mut put, src);
    put_ip(&mut put, dst);
    put(&[proto, 0]);
    put(&sport.to_be_bytes());
    put(&dport.to_be_bytes());
    let digest = sha1(buf.get(..n).unwrap_or(&[]));
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64_into(&digest, &mut out);
    out
}

/// Addresses compare as their network-order bytes (IPv4 and IPv6 never meet
/// in one flow).
fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&v4.octets());
            k
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn put_ip(put: &mut impl FnMut(&[u8]), ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => put(&v4.octets()),
        IpAddr::V6(v6) => put(&v6.octets()),
    }
}

/// SHA-1 (FIPS 180-4) of a short message, with the CPU's SHA extensions
/// when it has them (the sha1 crate detects them at run time).
pub(crate) fn sha1(msg: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(msg).into()
}

/// Standard base64 (RFC 4648 section 4) with padding.
fn base64_into(data: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_fips_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // 56 bytes: the padding spills into a second block.
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        // A million 'a's: many full blocks.
        assert_eq!(
            hex(&sha1(&vec![b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            base64_into(input.as_bytes(), &mut s);
            assert_eq!(s, want);
        }
    }

    // Vectors from the spec's reference implementation tests
    // (corelight/pycommunityid), both directions.
    #[test]
    fn community_id_v1_published_vectors() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases = [
            (
                ("128.232.110.120", 34855, "66.35.250.204", 80),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
                "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
            ),
            (
                ("10.0.0.1", 10, "10.0.0.2", 11569),
                "1:SXBGMX1lBOwhhoDrZynfROxnhnM=",
                "1:HmBRGR+fUyXF4t8WEtal7Y0gEAo=",
            ),
        ];
        for ((a, ap, b, bp), seed0, seed1) in cases {
            assert_eq!(community_id_tcp(ip(a), ap, ip(b), bp), seed0);
            assert_eq!(community_id_tcp(ip(b), bp, ip(a), ap), seed0);
            assert_eq!(community_id_v1(1, 6, ip(a), ap, ip(b), bp), seed1);
            assert_eq!(community_id_v1(1, 6, ip(b), bp, ip(a), ap), seed1);
        }
        let (a, b) = (
            ip("2001:470:e5bf:dead:4957:2174:e82c:4887"),
            ip("2607:f8b0:400c:c03::1a"),
        );
        assert_eq!(
            community_id_tcp(a, 63943, b, 25),
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="
        );
        assert_eq!(
            community_id_tcp(b, 25, a, 63943),
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="
        );
        // UDP: the protocol byte is part of the hash.
        assert_eq!(
            community_id_v1(0, 17, ip("192.168.1.52"), 54585, ip("8.8.8.8"), 53),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
    }
}

//! PROXY protocol version 2 headers (haproxy's proxy-protocol.txt, section 2.2) for TCP upstreams that
//! want the client's address: the binary form, TCP over IPv4 or IPv6, no TLVs.

use core::net::{IpAddr, SocketAddr};

use super::writer::{Out, TooSmall};

/// The 12-byte signature every v2 header starts with.
pub const PROXY_V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Version 2 in the high nibble; PROXY (0x1) or LOCAL (0x0) command in the low one.
const CMD_PROXY: u8 = 0x21;
const CMD_LOCAL: u8 = 0x20;
/// Address family in the high nibble (1 = INET, 2 = INET6), transport in the low one (1 = STREAM).
const TCP4: u8 = 0x11;
const TCP6: u8 = 0x21;

/// Writes the header for a TCP connection from `client` to `local` (the address the client connected
/// to); returns its length (28 bytes for IPv4, 52 for IPv6). When the families differ, both are written
/// as IPv6 (IPv4 ones mapped, `::ffff:a.b.c.d`).
pub fn write_proxy_v2(
    client: SocketAddr,
    local: SocketAddr,
    out: &mut [u8],
) -> Result<usize, TooSmall> {
    let mut out = Out::new(out);
    out.put(&PROXY_V2_SIGNATURE)?;
    match (client.ip(), local.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            out.put(&[CMD_PROXY, TCP4])?;
            out.put(&12u16.to_be_bytes())?;
            out.put(&src.octets())?;
            out.put(&dst.octets())?;
        }
        (src, dst) => {
            out.put(&[CMD_PROXY, TCP6])?;
            out.put(&36u16.to_be_bytes())?;
            out.put(&v6_octets(src))?;
            out.put(&v6_octets(dst))?;
        }
    }
    out.put(&client.port().to_be_bytes())?;
    out.put(&local.port().to_be_bytes())?;
    Ok(out.len())
}

/// Writes a LOCAL header (16 bytes): a connection of edgelb's own (a health check), no addresses.
pub fn write_proxy_v2_local(out: &mut [u8]) -> Result<usize, TooSmall> {
    let mut out = Out::new(out);
    out.put(&PROXY_V2_SIGNATURE)?;
    out.put(&[CMD_LOCAL, 0x00, 0x00, 0x00])?;
    Ok(out.len())
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_bytes() {
        let mut buf = [0u8; 64];
        let n = write_proxy_v2(
            "198.18.0.1:50000".parse().unwrap(),
            "198.19.0.10:443".parse().unwrap(),
            &mut buf,
        )
        .unwrap();
        let expected: [u8; 28] = [
            0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
            0x0a, // signature
            0x21, 0x11, 0x00, 0x0c, // v2 PROXY, TCP over IPv4, 12 bytes
            198, 18, 0, 1, 198, 19, 0, 10, // addresses
            0xc3, 0x50, 0x01, 0xbb, // ports 50000, 443
        ];
        assert_eq!(&buf[..n], &expected);
    }

    #[test]
    fn ipv6_and_mixed_headers() {
        let mut buf = [0u8; 64];
        let n = write_proxy_v2(
            "[2001:2::1]:1234".parse().unwrap(),
            "[2001:2::a]:80".parse().unwrap(),
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, 52);
        assert_eq!(&buf[12..16], &[0x21, 0x21, 0x00, 36]);
        assert_eq!(
            &buf[16..32],
            &"2001:2::1".parse::<core::net::Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(
            &buf[32..48],
            &"2001:2::a".parse::<core::net::Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(&buf[48..52], &[0x04, 0xd2, 0x00, 0x50]);
        let n = write_proxy_v2(
            "10.0.0.1:1".parse().unwrap(),
            "[2001:2::a]:2".parse().unwrap(),
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, 52);
        assert_eq!(
            &buf[16..32],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]
        );
        assert_eq!(write_proxy_v2_local(&mut buf), Ok(16));
        assert_eq!(&buf[12..16], &[0x20, 0, 0, 0]);
        let mut small = [0u8; 27];
        let client = "198.18.0.1:1".parse().unwrap();
        assert_eq!(write_proxy_v2(client, client, &mut small), Err(TooSmall));
    }
}

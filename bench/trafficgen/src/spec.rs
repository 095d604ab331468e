//! The address arguments as the command line spells them: MAC addresses, IPv4 ranges (`A.B.C.D`,
//! `A.B.C.D/len`, `A.B.C.D-A.B.C.E`) and port ranges (`P`, `LO-HI`), and the rule that every address
//! the generator writes lies in the benchmarking range 198.18.0.0/15 (RFC 2544): the lab's traffic
//! never names anything outside the machine's own namespaces.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// 198.18.0.0/15, the only addresses the generator sends from or to.
pub const BENCH_NET: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);
/// The prefix length of [`BENCH_NET`].
pub const BENCH_PREFIX: u32 = 15;

/// An Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacAddr(pub [u8; 6]);

impl FromStr for MacAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not a MAC address (six hex bytes separated by ':')");
        let mut out = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || part.len() > 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A contiguous run of IPv4 addresses, `count` of them from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Range {
    /// The first address.
    pub first: Ipv4Addr,
    /// How many (at least 1).
    pub count: u32,
}

impl Ipv4Range {
    /// The last address.
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.first) + (self.count - 1))
    }

    /// Whether every address lies in 198.18.0.0/15.
    pub fn in_bench_net(&self) -> bool {
        in_bench_net(self.first) && in_bench_net(self.last())
    }
}

/// Whether `addr` lies in 198.18.0.0/15.
pub fn in_bench_net(addr: Ipv4Addr) -> bool {
    u32::from(addr) >> (32 - BENCH_PREFIX) == u32::from(BENCH_NET) >> (32 - BENCH_PREFIX)
}

impl FromStr for Ipv4Range {
    type Err = String;

    /// `A.B.C.D` (one address), `A.B.C.D/len` (every address of the prefix, network and broadcast
    /// included: these are sources on a wire, not hosts of a subnet) or `A.B.C.D-A.B.C.E`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let addr = |s: &str| {
            s.parse::<Ipv4Addr>()
                .map_err(|_| format!("{s:?} is not an IPv4 address (in {text:?})"))
        };
        if let Some((base, len)) = text.split_once('/') {
            let base = addr(base)?;
            let len: u32 = len
                .parse()
                .ok()
                .filter(|l| (1..=32).contains(l))
                .ok_or_else(|| format!("{text:?}: the prefix length must be 1..=32"))?;
            let mask = u32::MAX << (32 - len);
            if u32::from(base) & !mask != 0 {
                return Err(format!(
                    "{text:?}: host bits are set (the prefix starts at {})",
                    Ipv4Addr::from(u32::from(base) & mask)
                ));
            }
            let count = u32::try_from(1u64 << (32 - len))
                .map_err(|_| format!("{text:?}: too many addresses"))?;
            return Ok(Ipv4Range { first: base, count });
        }
        if let Some((lo, hi)) = text.split_once('-') {
            let (lo, hi) = (addr(lo)?, addr(hi)?);
            if u32::from(hi) < u32::from(lo) {
                return Err(format!("{text:?}: the range ends before it starts"));
            }
            let count = (u32::from(hi) - u32::from(lo))
                .checked_add(1)
                .ok_or_else(|| format!("{text:?}: too many addresses"))?;
            return Ok(Ipv4Range { first: lo, count });
        }
        Ok(Ipv4Range {
            first: addr(text)?,
            count: 1,
        })
    }
}

impl fmt::Display for Ipv4Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 1 {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last())
        }
    }
}

/// A run of UDP ports, `lo..=hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// The first port.
    pub lo: u16,
    /// The last port (`>= lo`).
    pub hi: u16,
}

impl PortRange {
    /// How many ports.
    pub fn count(&self) -> u32 {
        u32::from(self.hi) - u32::from(self.lo) + 1
    }
}

impl FromStr for PortRange {
    type Err = String;

    /// `P` or `LO-HI`, ports 1..=65535.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let port = |s: &str| {
            s.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{s:?} is not a port 1..=65535 (in {text:?})"))
        };
        let (lo, hi) = match text.split_once('-') {
            Some((lo, hi)) => (port(lo)?, port(hi)?),
            None => {
                let p = port(text)?;
                (p, p)
            }
        };
        if hi < lo {
            return Err(format!("{text:?}: the range ends before it starts"));
        }
        Ok(PortRange { lo, hi })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trips_and_rejects_junk() {
        let mac: MacAddr = "02:00:c6:12:00:01".parse().unwrap();
        assert_eq!(mac, MacAddr([0x02, 0, 0xc6, 0x12, 0, 0x01]));
        assert_eq!(mac.to_string(), "02:00:c6:12:00:01");
        for bad in [
            "",
            "02:00:c6:12:00",
            "02:00:c6:12:00:01:02",
            "02:00:c6:12:00:1g",
            "002:0:c6:12:0:1",
            "02::c6:12:00:01",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_in_three_spellings() {
        let one: Ipv4Range = "198.18.0.2".parse().unwrap();
        assert_eq!(
            (one.first, one.count, one.last()),
            (
                Ipv4Addr::new(198, 18, 0, 2),
                1,
                Ipv4Addr::new(198, 18, 0, 2)
            )
        );
        let net: Ipv4Range = "198.18.1.0/24".parse().unwrap();
        assert_eq!((net.first, net.count), (Ipv4Addr::new(198, 18, 1, 0), 256));
        assert_eq!(net.last(), Ipv4Addr::new(198, 18, 1, 255));
        assert_eq!(net.to_string(), "198.18.1.0-198.18.1.255");
        let span: Ipv4Range = "198.18.1.10-198.18.2.9".parse().unwrap();
        assert_eq!(
            (span.first, span.count),
            (Ipv4Addr::new(198, 18, 1, 10), 256)
        );
        let all: Ipv4Range = "0.0.0.0-255.255.255.254".parse().unwrap();
        assert_eq!(all.count, u32::MAX);
    }

    #[test]
    fn bad_ranges_say_why() {
        assert!("198.18.1.1/24"
            .parse::<Ipv4Range>()
            .unwrap_err()
            .contains("host bits"));
        assert!("198.18.1.0/33"
            .parse::<Ipv4Range>()
            .unwrap_err()
            .contains("1..=32"));
        assert!("198.18.1.9-198.18.1.8"
            .parse::<Ipv4Range>()
            .unwrap_err()
            .contains("ends before"));
        assert!("0.0.0.0-255.255.255.255"
            .parse::<Ipv4Range>()
            .unwrap_err()
            .contains("too many"));
        assert!("198.18.1".parse::<Ipv4Range>().is_err());
    }

    #[test]
    fn bench_net_is_198_18_slash_15() {
        assert!(in_bench_net(Ipv4Addr::new(198, 18, 0, 0)));
        assert!(in_bench_net(Ipv4Addr::new(198, 19, 255, 255)));
        assert!(!in_bench_net(Ipv4Addr::new(198, 17, 255, 255)));
        assert!(!in_bench_net(Ipv4Addr::new(198, 20, 0, 0)));
        assert!(!in_bench_net(Ipv4Addr::new(10, 0, 0, 1)));
        assert!("198.18.0.0/15".parse::<Ipv4Range>().unwrap().in_bench_net());
        assert!(!"198.16.0.0/14".parse::<Ipv4Range>().unwrap().in_bench_net());
        assert!(!"198.19.255.250-198.20.0.1"
            .parse::<Ipv4Range>()
            .unwrap()
            .in_bench_net());
    }

    #[test]
    fn port_ranges() {
        assert_eq!(
            "9".parse::<PortRange>().unwrap(),
            PortRange { lo: 9, hi: 9 }
        );
        let r: PortRange = "1024-65535".parse().unwrap();
        assert_eq!((r.lo, r.hi, r.count()), (1024, 65535, 64512));
        assert_eq!(r.to_string(), "1024-65535");
        for bad in ["0", "65536", "10-9", "a-b", "", "5-"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }
}

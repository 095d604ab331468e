//! IP prefixes in CIDR notation (`198.18.0.1/24`, `2001:2::1/64`): an address plus a prefix length.
//!
//! The address keeps its host bits, so one type serves both for an interface address (`198.18.0.1/24`: the
//! host and its connected network) and for a route's destination (`10.0.0.0/8`, see [`Ipv4Cidr::is_network`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a text is not a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// No `/length` after the address.
    #[error("it needs a /length after the address")]
    MissingLength,
    /// The part before the `/` is not an address of the family.
    #[error("{0:?} is not an {1} address")]
    Address(String, &'static str),
    /// The length is not a decimal number.
    #[error("the length {0:?} is not a number")]
    LengthSyntax(String),
    /// The length is larger than the address.
    #[error("the length must be 0..={max}")]
    LengthOutOfRange {
        /// The largest length of the family (32 or 128).
        max: u8,
    },
}

/// Splits `addr/len`.
fn split(text: &str) -> Result<(&str, &str), CidrError> {
    text.split_once('/').ok_or(CidrError::MissingLength)
}

/// Parses a prefix length, at most `max`.
fn length(text: &str, max: u8) -> Result<u8, CidrError> {
    // u8's parser takes a leading '+'; a prefix length is digits only.
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CidrError::LengthSyntax(text.to_owned()));
    }
    match text.parse::<u8>() {
        Ok(len) if len <= max => Ok(len),
        _ => Err(CidrError::LengthOutOfRange { max }),
    }
}

/// The netmask of a `len`-bit prefix in a `bits`-bit address, as the low `bits` bits of a u128.
fn mask(len: u8, bits: u32) -> u128 {
    let all = u128::MAX >> (128 - bits);
    match u32::from(len) {
        0 => 0,
        len => all & !all.checked_shr(len).unwrap_or(0),
    }
}

/// An IPv4 address with a prefix length 0..=32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// A prefix of `prefix_len` bits, at most 32.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Result<Self, CidrError> {
        if prefix_len > 32 {
            return Err(CidrError::LengthOutOfRange { max: 32 });
        }
        Ok(Self { addr, prefix_len })
    }

    /// The address as written, host bits included.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask (`255.255.255.0` for /24).
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    fn mask(&self) -> u32 {
        // The mask of a 32-bit address fits in 32 bits.
        u32::try_from(mask(self.prefix_len, 32)).unwrap_or(u32::MAX)
    }

    /// The same prefix with the host bits cleared (`198.18.0.0/24` for `198.18.0.1/24`).
    #[must_use]
    pub fn network(&self) -> Self {
        Self {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix_len: self.prefix_len,
        }
    }

    /// Whether the host bits are all zero, as a route's destination must be.
    pub fn is_network(&self) -> bool {
        self.network().addr == self.addr
    }

    /// The directed broadcast address (all host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// Whether `ip` is inside the prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network().addr)
    }

    /// Whether the two prefixes share an address.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let (addr, len) = split(text)?;
        let addr = addr
            .parse()
            .map_err(|_| CidrError::Address(addr.to_owned(), "IPv4"))?;
        Ok(Self {
            addr,
            prefix_len: length(len, 32)?,
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// An IPv6 address with a prefix length 0..=128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Cidr {
    addr: Ipv6Addr,
    prefix_len: u8,
}

impl Ipv6Cidr {
    /// A prefix of `prefix_len` bits, at most 128.
    pub fn new(addr: Ipv6Addr, prefix_len: u8) -> Result<Self, CidrError> {
        if prefix_len > 128 {
            return Err(CidrError::LengthOutOfRange { max: 128 });
        }
        Ok(Self { addr, prefix_len })
    }

    /// The address as written, host bits included.
    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask (`ffff:ffff:ffff:ffff::` for /64).
    pub fn netmask(&self) -> Ipv6Addr {
        Ipv6Addr::from(mask(self.prefix_len, 128))
    }

    /// The same prefix with the host bits cleared.
    #[must_use]
    pub fn network(&self) -> Self {
        let bits = u128::from(self.addr) & mask(self.prefix_len, 128);
        Self {
            addr: Ipv6Addr::from(bits),
            prefix_len: self.prefix_len,
        }
    }

    /// Whether the host bits are all zero, as a route's destination must be.
    pub fn is_network(&self) -> bool {
        self.network().addr == self.addr
    }

    /// Whether `ip` is inside the prefix.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask(self.prefix_len, 128) == u128::from(self.network().addr)
    }

    /// Whether the two prefixes share an address.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
}

impl FromStr for Ipv6Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let (addr, len) = split(text)?;
        let addr = addr
            .parse()
            .map_err(|_| CidrError::Address(addr.to_owned(), "IPv6"))?;
        Ok(Self {
            addr,
            prefix_len: length(len, 128)?,
        })
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpCidr {
    /// An IPv4 prefix.
    V4(Ipv4Cidr),
    /// An IPv6 prefix.
    V6(Ipv6Cidr),
}

impl IpCidr {
    /// The address as written, host bits included.
    pub fn addr(&self) -> IpAddr {
        match self {
            Self::V4(cidr) => IpAddr::V4(cidr.addr),
            Self::V6(cidr) => IpAddr::V6(cidr.addr),
        }
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        match self {
            Self::V4(cidr) => cidr.prefix_len,
            Self::V6(cidr) => cidr.prefix_len,
        }
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        matches!(self, Self::V4(_))
    }

    /// The same prefix with the host bits cleared.
    #[must_use]
    pub fn network(&self) -> Self {
        match self {
            Self::V4(cidr) => Self::V4(cidr.network()),
            Self::V6(cidr) => Self::V6(cidr.network()),
        }
    }

    /// Whether the host bits are all zero.
    pub fn is_network(&self) -> bool {
        match self {
            Self::V4(cidr) => cidr.is_network(),
            Self::V6(cidr) => cidr.is_network(),
        }
    }

    /// Whether `ip` is inside the prefix (never for an address of the other family).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Self::V4(cidr), IpAddr::V4(ip)) => cidr.contains(ip),
            (Self::V6(cidr), IpAddr::V6(ip)) => cidr.contains(ip),
            _ => false,
        }
    }

    /// Whether the two prefixes share an address (never across families).
    pub fn overlaps(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::V4(a), Self::V4(b)) => a.overlaps(b),
            (Self::V6(a), Self::V6(b)) => a.overlaps(b),
            _ => false,
        }
    }
}

impl From<Ipv4Cidr> for IpCidr {
    fn from(cidr: Ipv4Cidr) -> Self {
        Self::V4(cidr)
    }
}

impl From<Ipv6Cidr> for IpCidr {
    fn from(cidr: Ipv6Cidr) -> Self {
        Self::V6(cidr)
    }
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let (addr, _) = split(text)?;
        match addr.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => text.parse().map(Self::V4),
            Ok(IpAddr::V6(_)) => text.parse().map(Self::V6),
            Err(_) => Err(CidrError::Address(addr.to_owned(), "IP")),
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(cidr) => cidr.fmt(f),
            Self::V6(cidr) => cidr.fmt(f),
        }
    }
}

crate::text_serde::serde_as_text!(Ipv4Cidr, "an IPv4 prefix like 198.18.0.1/24");
crate::text_serde::serde_as_text!(Ipv6Cidr, "an IPv6 prefix like 2001:2::1/64");
crate::text_serde::serde_as_text!(IpCidr, "an IP prefix like 10.0.0.0/8 or 2001:2::/48");

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_and_computes_network_parts() {
        let cidr: Ipv4Cidr = "198.18.0.1/24".parse().unwrap();
        assert_eq!(
            (cidr.addr(), cidr.prefix_len()),
            (Ipv4Addr::new(198, 18, 0, 1), 24)
        );
        assert_eq!(cidr.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(cidr.network().to_string(), "198.18.0.0/24");
        assert_eq!(cidr.broadcast(), Ipv4Addr::new(198, 18, 0, 255));
        assert!(!cidr.is_network());
        assert!(cidr.network().is_network());
        assert!(cidr.contains(Ipv4Addr::new(198, 18, 0, 254)));
        assert!(!cidr.contains(Ipv4Addr::new(198, 18, 1, 1)));
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
        assert!(all.contains(Ipv4Addr::BROADCAST));
        let host: Ipv4Cidr = "10.1.2.3/32".parse().unwrap();
        assert_eq!(host.netmask(), Ipv4Addr::BROADCAST);
        assert!(host.is_network());
    }

    #[test]
    fn ipv6_network_parts() {
        let cidr: Ipv6Cidr = "2001:2:0:1::1/64".parse().unwrap();
        assert_eq!(cidr.netmask().to_string(), "ffff:ffff:ffff:ffff::");
        assert_eq!(cidr.network().to_string(), "2001:2:0:1::/64");
        assert!(cidr.contains("2001:2:0:1:ffff::9".parse().unwrap()));
        assert!(!cidr.contains("2001:2::1".parse().unwrap()));
        let wide: Ipv6Cidr = "2001:2::/48".parse().unwrap();
        assert!(wide.overlaps(&cidr) && cidr.overlaps(&wide));
        assert!(!cidr.overlaps(&"2001:2::1/64".parse().unwrap()));
        let host: Ipv6Cidr = "2001:2::1/128".parse().unwrap();
        assert_eq!(host.netmask(), Ipv6Addr::from(u128::MAX));
        assert!(host.contains(host.addr()) && !host.contains("2001:2::2".parse().unwrap()));
        let all: Ipv6Cidr = "::/0".parse().unwrap();
        assert!(all.contains(Ipv6Addr::from(u128::MAX)));
    }

    #[test]
    fn refuses_malformed_text() {
        assert_eq!(
            "198.18.0.1".parse::<Ipv4Cidr>(),
            Err(CidrError::MissingLength)
        );
        assert_eq!(
            "198.18.0.1/33".parse::<Ipv4Cidr>(),
            Err(CidrError::LengthOutOfRange { max: 32 })
        );
        assert_eq!(
            "198.18.0.1/256".parse::<Ipv4Cidr>(),
            Err(CidrError::LengthOutOfRange { max: 32 })
        );
        assert_eq!(
            "198.18.0.1/+8".parse::<Ipv4Cidr>(),
            Err(CidrError::LengthSyntax("+8".into()))
        );
        assert_eq!(
            "198.18.0.1/".parse::<Ipv4Cidr>(),
            Err(CidrError::LengthSyntax(String::new()))
        );
        assert_eq!(
            "2001::1/24".parse::<Ipv4Cidr>(),
            Err(CidrError::Address("2001::1".into(), "IPv4"))
        );
        assert_eq!(
            "::1/129".parse::<Ipv6Cidr>(),
            Err(CidrError::LengthOutOfRange { max: 128 })
        );
        assert_eq!(
            "x/1".parse::<IpCidr>(),
            Err(CidrError::Address("x".into(), "IP"))
        );
        assert_eq!(
            CidrError::LengthOutOfRange { max: 32 }.to_string(),
            "the length must be 0..=32"
        );
        assert!(Ipv4Cidr::new(Ipv4Addr::LOCALHOST, 33).is_err());
        assert!(Ipv6Cidr::new(Ipv6Addr::LOCALHOST, 129).is_err());
    }

    #[test]
    fn ip_cidr_picks_the_family() {
        assert!("10.0.0.0/8".parse::<IpCidr>().unwrap().is_ipv4());
        let v6: IpCidr = "2001:2::/48".parse().unwrap();
        assert!(!v6.is_ipv4());
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(!v6.overlaps(&"0.0.0.0/0".parse().unwrap()));
    }

    proptest! {
        #[test]
        fn ipv4_text_round_trips(bits: u32, len in 0u8..=32) {
            let cidr = Ipv4Cidr::new(Ipv4Addr::from(bits), len).unwrap();
            prop_assert_eq!(cidr.to_string().parse::<Ipv4Cidr>(), Ok(cidr));
            prop_assert_eq!(cidr.to_string().parse::<IpCidr>(), Ok(IpCidr::V4(cidr)));
            prop_assert!(cidr.contains(cidr.addr()) && cidr.network().is_network());
            prop_assert!(cidr.contains(cidr.broadcast()));
        }

        #[test]
        fn ipv6_text_round_trips(bits: u128, len in 0u8..=128) {
            let cidr = Ipv6Cidr::new(Ipv6Addr::from(bits), len).unwrap();
            prop_assert_eq!(cidr.to_string().parse::<Ipv6Cidr>(), Ok(cidr));
            prop_assert_eq!(cidr.to_string().parse::<IpCidr>(), Ok(IpCidr::V6(cidr)));
            prop_assert!(cidr.contains(cidr.addr()) && cidr.network().is_network());
        }

        #[test]
        fn yaml_round_trips(bits: u32, len in 0u8..=32) {
            let cidr = IpCidr::V4(Ipv4Cidr::new(Ipv4Addr::from(bits), len).unwrap());
            let text = serde_yaml::to_string(&cidr).unwrap();
            prop_assert_eq!(serde_yaml::from_str::<IpCidr>(&text).unwrap(), cidr);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,50}") {
            let _ = text.parse::<IpCidr>();
            let _ = text.parse::<Ipv4Cidr>();
            let _ = text.parse::<Ipv6Cidr>();
        }
    }
}

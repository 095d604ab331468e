//! Ranges of VIPs, as `--vip-pool` gives them: `FIRST-LAST`, a CIDR prefix (without its network and broadcast
//! addresses) or one address.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use edgelb_config::IpCidr;

use super::IpFamily;

/// A range of VIPs, both ends included, of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VipRange {
    first: IpAddr,
    last: IpAddr,
}

/// Why a VIP range does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a VIP range ({why}): write FIRST-LAST, a CIDR prefix or one address")]
pub struct VipRangeError {
    text: String,
    why: String,
}

impl VipRange {
    /// The range from `first` to `last`, of one family, `first <= last`.
    pub fn new(first: IpAddr, last: IpAddr) -> Result<Self, String> {
        if first.is_ipv4() != last.is_ipv4() {
            return Err(format!("{first} and {last} are of different families"));
        }
        if to_u128(first) > to_u128(last) {
            return Err(format!("{first} comes after {last}"));
        }
        Ok(Self { first, last })
    }

    pub fn first(&self) -> IpAddr {
        self.first
    }

    pub fn last(&self) -> IpAddr {
        self.last
    }

    pub fn family(&self) -> IpFamily {
        IpFamily::of(self.first)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        IpFamily::of(ip) == self.family()
            && (to_u128(self.first)..=to_u128(self.last)).contains(&to_u128(ip))
    }

    /// The lowest address of the range that `taken` does not hold: the first gap among the taken addresses of
    /// the range, read in order (no look-up per candidate address).
    pub(crate) fn first_free<V>(&self, taken: &BTreeMap<IpAddr, V>) -> Option<IpAddr> {
        let family = self.family();
        let (mut at, last) = (to_u128(self.first), to_u128(self.last));
        for ip in taken
            .range(self.first..=self.last)
            .map(|(ip, _)| to_u128(*ip))
        {
            if ip > at {
                break;
            }
            at = at.max(ip.checked_add(1)?);
        }
        (at <= last).then(|| from_u128(at, family))
    }

    /// The usable addresses of a prefix: without the IPv4 network and broadcast addresses (prefixes up to /30)
    /// and the IPv6 subnet-router anycast address (up to /127).
    fn from_cidr(cidr: IpCidr) -> Self {
        let network = cidr.network().addr();
        let bits: u32 = if network.is_ipv4() { 32 } else { 128 };
        let host_bits = bits - u32::from(cidr.prefix_len());
        let start = to_u128(network);
        let size_minus_one = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let end = start.saturating_add(size_minus_one);
        let family = IpFamily::of(network);
        let (first, last) = match family {
            IpFamily::IPv4 if host_bits >= 2 => (start + 1, end - 1),
            IpFamily::IPv6 if host_bits >= 1 => (start + 1, end),
            _ => (start, end),
        };
        Self {
            first: from_u128(first, family),
            last: from_u128(last, family),
        }
    }
}

impl FromStr for VipRange {
    type Err = VipRangeError;

    fn from_str(text: &str) -> Result<Self, VipRangeError> {
        let fail = |why: String| VipRangeError {
            text: text.to_string(),
            why,
        };
        let text = text.trim();
        if text.contains('/') {
            let cidr: IpCidr = text.parse().map_err(|e| fail(format!("{e}")))?;
            return Ok(Self::from_cidr(cidr));
        }
        let (first, last) = text.split_once('-').unwrap_or((text, text));
        let parse = |t: &str| {
            t.trim()
                .parse::<IpAddr>()
                .map_err(|_| fail(format!("{:?} is not an address", t.trim())))
        };
        Self::new(parse(first)?, parse(last)?).map_err(fail)
    }
}

impl fmt::Display for VipRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(value: u128, family: IpFamily) -> IpAddr {
    match family {
        IpFamily::IPv4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX))),
        IpFamily::IPv6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_parse_from_pairs_prefixes_and_single_addresses() {
        let r: VipRange = "198.18.10.100-198.18.10.199".parse().unwrap();
        assert_eq!(
            (r.first(), r.last()),
            (ip("198.18.10.100"), ip("198.18.10.199"))
        );
        let r: VipRange = "198.18.10.0/24".parse().unwrap();
        assert_eq!(r.to_string(), "198.18.10.1-198.18.10.254");
        let r: VipRange = "198.18.10.7/31".parse().unwrap();
        assert_eq!(r.to_string(), "198.18.10.6-198.18.10.7");
        let r: VipRange = "2001:2:0:10::/120".parse().unwrap();
        assert_eq!(r.to_string(), "2001:2:0:10::1-2001:2:0:10::ff");
        let r: VipRange = "::/0".parse().unwrap();
        assert_eq!(r.to_string(), "::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        let r: VipRange = " 198.18.10.9 ".parse().unwrap();
        assert!(r.contains(ip("198.18.10.9")) && !r.contains(ip("198.18.10.10")));
        assert!(!r.contains(ip("::ffff:198.18.10.9")));
        let err = "198.18.10.9-2001:2::1".parse::<VipRange>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"198.18.10.9-2001:2::1\" is not a VIP range (198.18.10.9 and 2001:2::1 are of different families): \
             write FIRST-LAST, a CIDR prefix or one address"
        );
        assert!("198.18.10.9-198.18.10.1".parse::<VipRange>().is_err());
        assert!("198.18.10.300".parse::<VipRange>().is_err());
        assert!("198.18.10.0/33".parse::<VipRange>().is_err());
    }

    #[test]
    fn the_lowest_free_address_is_found_past_the_taken_ones() {
        let r: VipRange = "198.18.10.254-198.18.10.255".parse().unwrap();
        let mut taken = BTreeMap::new();
        assert_eq!(r.first_free(&taken), Some(ip("198.18.10.254")));
        taken.insert(ip("198.18.10.254"), ());
        assert_eq!(r.first_free(&taken), Some(ip("198.18.10.255")));
        taken.insert(ip("198.18.10.255"), ());
        assert_eq!(r.first_free(&taken), None);
        let top: VipRange = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        taken.insert(top.first(), ());
        assert_eq!(
            top.first_free(&taken),
            None,
            "no overflow past the last address"
        );
    }
}

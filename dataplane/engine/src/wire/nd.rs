//! Neighbour solicitations and advertisements (RFC 4861 sections 4.3, 4.4, 7.1).
//!
//! Called on ICMPv6 messages whose checksum was already checked.

use core::net::Ipv6Addr;

use super::icmp::{ICMPV6_NEIGHBOUR_ADVERT, ICMPV6_NEIGHBOUR_SOLICIT};
use super::ipv6::Ipv6Header;
use super::{array, byte, put};
use crate::addresses::solicited_node;
use crate::DropReason;

/// Length of an NS or NA without options.
pub const FIXED_LEN: usize = 24;
/// Length of an NS or NA with one link-layer address option (what the engine sends).
pub const WITH_LL_OPTION_LEN: usize = FIXED_LEN + 8;

const OPT_SOURCE_LL: u8 = 1;
const OPT_TARGET_LL: u8 = 2;

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// A valid neighbour solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Solicit {
    /// The address being resolved.
    pub target: Ipv6Addr,
    /// The sender's MAC, from the source link-layer address option.
    pub source_mac: Option<[u8; 6]>,
}

/// A valid neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    /// The address advertised.
    pub target: Ipv6Addr,
    /// Router flag.
    pub router: bool,
    /// Sent in answer to a solicitation.
    pub solicited: bool,
    /// May replace a cached MAC.
    pub override_flag: bool,
    /// The target's MAC, from the target link-layer address option.
    pub target_mac: Option<[u8; 6]>,
}

/// Checks what NS and NA have in common; returns the target and the options.
fn check_common<'a>(
    msg: &'a [u8],
    ip: &Ipv6Header,
) -> Result<(Ipv6Addr, u8, &'a [u8]), DropReason> {
    if ip.hop_limit != 255 {
        return Err(DropReason::NdBadHopLimit);
    }
    if msg.len() < FIXED_LEN {
        return Err(DropReason::NdTruncated);
    }
    let t = DropReason::NdTruncated;
    if byte(msg, 1).ok_or(t)? != 0 {
        return Err(DropReason::NdInvalid);
    }
    let target = Ipv6Addr::from(array::<16>(msg, 8).ok_or(t)?);
    if target.is_multicast() {
        return Err(DropReason::NdInvalid);
    }
    let flags = byte(msg, 4).ok_or(t)?;
    Ok((target, flags, msg.get(FIXED_LEN..).unwrap_or_default()))
}

/// The MAC of the first link-layer address option of type `wanted`, after checking every option.
fn link_layer_option(mut opts: &[u8], wanted: u8) -> Result<Option<[u8; 6]>, DropReason> {
    let mut found = None;
    while !opts.is_empty() {
        let ty = byte(opts, 0).ok_or(DropReason::NdBadOption)?;
        let len = usize::from(byte(opts, 1).ok_or(DropReason::NdBadOption)?) * 8;
        if len == 0 || len > opts.len() {
            return Err(DropReason::NdBadOption);
        }
        if ty == wanted && found.is_none() {
            found = array::<6>(opts, 2);
        }
        opts = opts.get(len..).unwrap_or_default();
    }
    Ok(found)
}

impl Solicit {
    /// Checks a neighbour solicitation carried by `ip`.
    pub fn parse(msg: &[u8], ip: &Ipv6Header) -> Result<Self, DropReason> {
        let (target, _, opts) = check_common(msg, ip)?;
        let source_mac = link_layer_option(opts, OPT_SOURCE_LL)?;
        if ip.src.is_unspecified() && (!ip.dst.is_multicast() || source_mac.is_some()) {
            return Err(DropReason::NdInvalid);
        }
        if ip.dst.is_multicast() && ip.dst != solicited_node(target) {
            return Err(DropReason::NdInvalid);
        }
        Ok(Self { target, source_mac })
    }

    /// Writes a solicitation for `target` with a source link-layer option; the checksum is left zero.
    pub fn emit(msg: &mut [u8], target: Ipv6Addr, source_mac: [u8; 6]) -> Option<()> {
        put(msg, 0, &[ICMPV6_NEIGHBOUR_SOLICIT, 0, 0, 0, 0, 0, 0, 0])?;
        put(msg, 8, &target.octets())?;
        put(msg, 24, &[OPT_SOURCE_LL, 1])?;
        put(msg, 26, &source_mac)
    }
}

impl Advert {
    /// Checks a neighbour advertisement carried by `ip`.
    pub fn parse(msg: &[u8], ip: &Ipv6Header) -> Result<Self, DropReason> {
        let (target, flags, opts) = check_common(msg, ip)?;
        let target_mac = link_layer_option(opts, OPT_TARGET_LL)?;
        let solicited = flags & FLAG_SOLICITED != 0;
        if solicited && ip.dst.is_multicast() {
            return Err(DropReason::NdInvalid);
        }
        Ok(Self {
            target,
            router: flags & FLAG_ROUTER != 0,
            solicited,
            override_flag: flags & FLAG_OVERRIDE != 0,
            target_mac,
        })
    }

    /// Writes an advertisement (router flag clear) with a target link-layer option; the checksum
    /// is left zero.
    pub fn emit(
        msg: &mut [u8],
        target: Ipv6Addr,
        solicited: bool,
        target_mac: [u8; 6],
    ) -> Option<()> {
        let flags = FLAG_OVERRIDE | if solicited { FLAG_SOLICITED } else { 0 };
        put(msg, 0, &[ICMPV6_NEIGHBOUR_ADVERT, 0, 0, 0, flags, 0, 0, 0])?;
        put(msg, 8, &target.octets())?;
        put(msg, 24, &[OPT_TARGET_LL, 1])?;
        put(msg, 26, &target_mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(src: &str, dst: &str, hop_limit: u8) -> Ipv6Header {
        Ipv6Header {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            next_header: 58,
            hop_limit,
            payload_len: 32,
        }
    }

    fn target() -> Ipv6Addr {
        "2001:2::1".parse().unwrap()
    }

    #[test]
    fn solicit_round_trip_and_rules() {
        let mut m = [0u8; 32];
        Solicit::emit(&mut m, target(), [2, 0, 0, 0, 0, 9]).unwrap();
        let good = ip("2001:2::9", "ff02::1:ff00:1", 255);
        assert_eq!(
            Solicit::parse(&m, &good),
            Ok(Solicit {
                target: target(),
                source_mac: Some([2, 0, 0, 0, 0, 9])
            })
        );
        assert_eq!(
            Solicit::parse(&m, &ip("2001:2::9", "2001:2::1", 255)).map(|s| s.target),
            Ok(target())
        );
        assert_eq!(
            Solicit::parse(&m, &ip("2001:2::9", "ff02::1:ff00:2", 255)),
            Err(DropReason::NdInvalid)
        );
        assert_eq!(
            Solicit::parse(&m, &ip("::", "ff02::1:ff00:1", 255)),
            Err(DropReason::NdInvalid)
        );
        assert_eq!(
            Solicit::parse(&m[..24], &ip("::", "ff02::1:ff00:1", 255)).map(|s| s.source_mac),
            Ok(None)
        );
        assert_eq!(
            Solicit::parse(&m, &ip("2001:2::9", "ff02::1:ff00:1", 254)),
            Err(DropReason::NdBadHopLimit)
        );
        assert_eq!(
            Solicit::parse(&m[..23], &good),
            Err(DropReason::NdTruncated)
        );
        let mut bad = m;
        bad[25] = 0;
        assert_eq!(Solicit::parse(&bad, &good), Err(DropReason::NdBadOption));
        bad[25] = 2;
        assert_eq!(Solicit::parse(&bad, &good), Err(DropReason::NdBadOption));
        let mut bad = m;
        bad[1] = 1;
        assert_eq!(Solicit::parse(&bad, &good), Err(DropReason::NdInvalid));
    }

    #[test]
    fn advert_round_trip_and_rules() {
        let mut m = [0u8; 32];
        Advert::emit(&mut m, target(), true, [2, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(m[4], 0x60);
        let a = Advert::parse(&m, &ip("2001:2::1", "2001:2::9", 255)).unwrap();
        assert_eq!(
            (a.target, a.router, a.solicited, a.override_flag),
            (target(), false, true, true)
        );
        assert_eq!(a.target_mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(
            Advert::parse(&m, &ip("2001:2::1", "ff02::1", 255)),
            Err(DropReason::NdInvalid)
        );
        let mut mc = m;
        mc[8] = 0xff;
        assert_eq!(
            Advert::parse(&mc, &ip("2001:2::1", "2001:2::9", 255)),
            Err(DropReason::NdInvalid)
        );
    }
}

//! PCI addresses (`0000:3b:00.0`) naming a NIC that DPDK drives through vfio-pci.

use std::fmt;
use std::str::FromStr;

/// A PCI address: domain, bus, device (0..=0x1f) and function (0..=7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    /// PCI domain (segment).
    pub domain: u16,
    /// Bus number.
    pub bus: u8,
    /// Device number, 0..=0x1f.
    pub device: u8,
    /// Function number, 0..=7.
    pub function: u8,
}

/// Why a text is not a PCI address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PCI address is DDDD:BB:DD.F or BB:DD.F in hex, with device 00..=1f and function 0..=7")]
pub struct PciAddressError;

/// Parses exactly `digits` hex digits.
fn hex<T: TryFrom<u32>>(text: &str, digits: usize) -> Result<T, PciAddressError> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PciAddressError);
    }
    let value = u32::from_str_radix(text, 16).map_err(|_| PciAddressError)?;
    T::try_from(value).map_err(|_| PciAddressError)
}

impl FromStr for PciAddress {
    type Err = PciAddressError;

    /// Takes the full form `DDDD:BB:DD.F` or the short `BB:DD.F` (domain 0), as `lspci` prints them.
    fn from_str(text: &str) -> Result<Self, PciAddressError> {
        let (rest, function) = text.rsplit_once('.').ok_or(PciAddressError)?;
        let parts: Vec<&str> = rest.split(':').collect();
        let (domain, bus, device) = match parts.as_slice() {
            [domain, bus, device] => (hex(domain, 4)?, *bus, *device),
            [bus, device] => (0, *bus, *device),
            _ => return Err(PciAddressError),
        };
        let address = Self {
            domain,
            bus: hex(bus, 2)?,
            device: hex(device, 2)?,
            function: hex(function, 1)?,
        };
        if address.device > 0x1f || address.function > 7 {
            return Err(PciAddressError);
        }
        Ok(address)
    }
}

impl fmt::Display for PciAddress {
    /// The full form DPDK's `-a` option and `rte_eth_dev_get_port_by_name` use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

crate::text_serde::serde_as_text!(PciAddress, "a PCI address like 0000:3b:00.0");

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_full_and_short_forms() {
        let full: PciAddress = "0000:3b:00.1".parse().unwrap();
        assert_eq!(
            full,
            PciAddress {
                domain: 0,
                bus: 0x3b,
                device: 0,
                function: 1
            }
        );
        assert_eq!(
            "3B:1f.7".parse::<PciAddress>().unwrap().to_string(),
            "0000:3b:1f.7"
        );
        assert_eq!("abcd:ff:00.0".parse::<PciAddress>().unwrap().domain, 0xabcd);
    }

    #[test]
    fn refuses_out_of_range_and_malformed() {
        for bad in [
            "0000:3b:20.0",
            "0000:3b:00.8",
            "000:3b:00.0",
            "0000:3b:00",
            "0000:3b:0.0",
            "3b.0",
            "",
            "+000:3b:00.0",
            "0000:3b:00.0.1",
            "0000:0000:3b:00.0",
        ] {
            assert_eq!(bad.parse::<PciAddress>(), Err(PciAddressError), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn text_round_trips(domain: u16, bus: u8, device in 0u8..=0x1f, function in 0u8..=7) {
            let address = PciAddress { domain, bus, device, function };
            prop_assert_eq!(address.to_string().parse::<PciAddress>(), Ok(address));
        }
    }
}

//! The flow table against a plain map: random inserts, removals and lookups over a small key space
//! in a small table, so that index clusters form, wrap and are torn up by backward-shift deletion.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Op {
    Insert(u8),
    Remove(u8),
    Lookup(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..48).prop_map(Op::Insert),
        (0u8..48).prop_map(Op::Remove),
        (0u8..48).prop_map(Op::Lookup),
    ]
}

/// Key `i`: half IPv4, half IPv6, TCP and UDP.
fn fwd(i: u8) -> FlowKey {
    let src = if i % 2 == 0 {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))
    } else {
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(i)))
    };
    let dst = if i % 2 == 0 {
        IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1))
    } else {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    };
    let proto = if i % 3 == 0 { Proto::Udp } else { Proto::Tcp };
    FlowKey {
        src,
        dst,
        sport: 1000 + u16::from(i),
        dport: 80,
        proto,
    }
}

fn rev(i: u8) -> FlowKey {
    FlowKey {
        sport: 8080,
        dport: 30_000 + u16::from(i),
        ..fwd(i).reversed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..400), seed: u64) {
        // Capacity equals the key space: nothing is ever evicted, so the model is a plain map.
        let config = FlowConfig { hash_seed: seed, ..FlowConfig::default() };
        let mut table = FlowTable::with_capacity(48, config);
        let mut model: BTreeMap<u8, u32> = BTreeMap::new(); // key -> backend
        let now = Instant::from_nanos(1);
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Insert(i) => {
                    let data = FlowData { listener: 1, backend: step as u32 };
                    let got = table.insert(now, fwd(i), rev(i), data, PacketInfo::default());
                    match model.entry(i) {
                        Entry::Occupied(_) => {
                            prop_assert_eq!(got, Err(InsertError::ForwardKeyInUse));
                        }
                        Entry::Vacant(v) => {
                            prop_assert!(got.is_ok());
                            v.insert(step as u32);
                        }
                    }
                }
                Op::Remove(i) => {
                    let removed = table.lookup_forward(&fwd(i), now).and_then(|h| table.remove(h));
                    prop_assert_eq!(removed.map(|e| e.backend), model.remove(&i));
                }
                Op::Lookup(i) => {
                    let by_rev = table.lookup_reverse(&rev(i), now).and_then(|h| table.entry(h));
                    prop_assert_eq!(by_rev.map(|e| e.backend), model.get(&i).copied());
                }
            }
            prop_assert_eq!(table.len(), model.len());
        }
        // Every key agrees at the end, through both indexes.
        for i in 0..48 {
            let f = table.lookup_forward(&fwd(i), now).and_then(|h| table.entry(h));
            let f = f.map(|e| e.backend);
            let r = table.lookup_reverse(&rev(i), now).and_then(|h| table.entry(h));
            let r = r.map(|e| (e.fwd, e.backend));
            prop_assert_eq!(f, model.get(&i).copied());
            prop_assert_eq!(r, model.get(&i).map(|&b| (fwd(i), b)));
        }
        prop_assert_eq!(table.iter().count(), model.len());
    }
}

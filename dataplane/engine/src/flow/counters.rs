//! One core's flow table counters: plain integers, summed across cores when read.

macro_rules! flow_counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Flow table events on one core, and the number of live flows.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct FlowCounters {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl FlowCounters {
            /// Adds `other` into `self` (to sum the cores).
            pub fn add(&mut self, other: &FlowCounters) {
                $(self.$name = self.$name.wrapping_add(other.$name);)*
            }

            /// Every counter with its snake_case name.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$((stringify!($name), self.$name),)*].into_iter()
            }

            /// Every counter named `flow_<name>` (the flow table's, in [`crate::Counters::iter`]).
            pub fn iter_as_flows(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$((concat!("flow_", stringify!($name)), self.$name),)*].into_iter()
            }

            /// Every counter named `affinity_<name>` (the affinity table's, in
            /// [`crate::Counters::iter`]).
            pub fn iter_as_affinity(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$((concat!("affinity_", stringify!($name)), self.$name),)*].into_iter()
            }
        }
    };
}

flow_counters! {
    /// Flows inserted.
    inserts,
    /// Live flows pushed out to make room for a new one.
    evictions,
    /// Flows removed because their timeout passed (by the sweep, a lookup, or an insert needing
    /// room).
    expirations,
    /// Flows removed by the caller (`remove`, `sweep`, `drain_backend`).
    removals,
    /// Inserts refused by the insert cap.
    rate_limited,
    /// Inserts refused because the forward or reverse key was already in use.
    insert_conflicts,
    /// Lookups that found a live flow.
    lookups_hit,
    /// Lookups that found none (or only an expired one).
    lookups_miss,
    /// Live flows when the counters were read (a gauge; summing cores gives the total).
    active,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_iter_cover_every_counter() {
        let mut a = FlowCounters {
            inserts: 1,
            active: 4,
            ..FlowCounters::default()
        };
        a.add(&FlowCounters {
            inserts: 2,
            evictions: 3,
            active: 5,
            ..FlowCounters::default()
        });
        let all: Vec<_> = a.iter().collect();
        assert_eq!(all.len(), 9);
        assert!(all.contains(&("inserts", 3)));
        assert!(all.contains(&("evictions", 3)));
        assert!(all.contains(&("active", 9)));
        assert!(all.contains(&("lookups_miss", 0)));
        assert!(a.iter_as_flows().any(|c| c == ("flow_active", 9)));
        assert!(a.iter_as_affinity().any(|c| c == ("affinity_inserts", 3)));
    }
}

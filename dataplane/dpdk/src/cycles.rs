//! The TSC: the cheap clock the workers read once per burst.

use edgelb_dpdk_sys as sys;

/// The TSC now (`rte_get_tsc_cycles`); valid before EAL init too.
#[inline]
pub fn tsc_cycles() -> u64 {
    // SAFETY: reads the time-stamp counter; no memory is touched.
    unsafe { sys::edgelb_rte_get_tsc_cycles() }
}

/// TSC ticks per second as EAL measured it at init (`rte_get_tsc_hz`); 0 before EAL init.
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value EAL stores at init (zero before); no other effect.
    unsafe { sys::edgelb_rte_get_tsc_hz() }
}

/// A CPU hint for spin loops (`rte_pause`).
#[inline]
pub fn pause() {
    // SAFETY: a pause instruction; no memory is touched.
    unsafe { sys::edgelb_rte_pause() }
}

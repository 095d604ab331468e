//! Logical cores: ids, the current one, and launching a Rust closure on a worker lcore.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use edgelb_dpdk_sys as sys;

use crate::error::DpdkError;

/// What a launched closure "returns" when it panicked (the panic is caught at the FFI boundary).
pub const LAUNCH_PANICKED: i32 = i32::MIN;

/// A DPDK logical core id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lcore(u32);

impl Lcore {
    /// The lcore with this id (as in `-l 0-3`).
    pub const fn from_id(id: u32) -> Self {
        Lcore(id)
    }

    /// The id.
    pub const fn id(self) -> u32 {
        self.0
    }

    /// The lcore the calling thread is, or `None` on a thread that EAL did not make (or before init).
    pub fn current() -> Option<Lcore> {
        // SAFETY: reads a thread-local; LCORE_ID_ANY on threads EAL did not create.
        let id = unsafe { sys::edgelb_rte_lcore_id() };
        (id != sys::LCORE_ID_ANY).then_some(Lcore(id))
    }
}

impl std::fmt::Display for Lcore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lcore {}", self.0)
    }
}

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

/// Hands `job` to `lcore` through `rte_eal_remote_launch`; the caller holds an [`crate::Eal`].
pub(crate) fn launch(lcore: Lcore, job: Job) -> Result<(), DpdkError> {
    let subject = lcore.to_string();
    if lcore.id() >= sys::RTE_MAX_LCORE {
        return Err(DpdkError::invalid(subject, "id out of range"));
    }
    // The job is boxed twice so that a thin pointer crosses the C boundary.
    let arg = Box::into_raw(Box::new(job)).cast::<c_void>();
    // SAFETY: EAL is initialised (the caller holds Eal) and this is the main lcore; `trampoline`
    // matches lcore_function_t and takes ownership of `arg` when, and only when, DPDK runs it.
    let ret = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg, lcore.id()) };
    if ret < 0 {
        // SAFETY: the launch failed, so DPDK never handed `arg` to trampoline: reclaim it.
        drop(unsafe { Box::from_raw(arg.cast::<Job>()) });
        return Err(DpdkError::call(subject, "rte_eal_remote_launch", ret));
    }
    Ok(())
}

unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` came from Box::into_raw in `launch` and DPDK passes it here exactly once.
    let job = unsafe { Box::from_raw(arg.cast::<Job>()) };
    catch_unwind(AssertUnwindSafe(job)).unwrap_or(LAUNCH_PANICKED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_outside_eal_have_no_lcore() {
        assert_eq!(Lcore::current(), None);
        assert_eq!(Lcore::from_id(3).id(), 3);
        assert_eq!(Lcore::from_id(3).to_string(), "lcore 3");
    }
}

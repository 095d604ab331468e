//! The error type of every fallible call in this crate.
//!
//! A DPDK failure names what failed (the port, the pool), the operation, and DPDK's error as the
//! negative errno DPDK returns plus `rte_strerror`'s text, e.g.
//! `port 1 (nodes): rte_eth_rx_queue_setup queue 0: -22 Invalid argument`.

use std::ffi::CStr;
use std::fmt;

use edgelb_dpdk_sys as sys;

/// A failed DPDK call, or an argument rejected before calling DPDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpdkError {
    /// DPDK returned an error.
    Call {
        /// What the call was about, e.g. `port 1 (nodes)` or `mempool rx0`; empty for EAL calls.
        subject: String,
        /// The DPDK function and its arguments of interest, e.g. `rte_eth_rx_queue_setup queue 0`.
        op: String,
        /// The errno, positive (`EINVAL` is 22).
        errno: i32,
        /// `rte_strerror(errno)`.
        text: String,
    },
    /// An argument that DPDK would reject or that this crate cannot pass on.
    Invalid {
        /// What the argument was for.
        subject: String,
        /// Why it is rejected.
        reason: String,
    },
    /// EAL is not running: not initialised yet, or already cleaned up.
    EalNotRunning,
}

impl DpdkError {
    /// A DPDK error from a return code (`-errno`, as ethdev returns) or a positive errno.
    pub fn call(subject: impl Into<String>, op: impl Into<String>, code: i32) -> Self {
        let errno = code.checked_abs().unwrap_or(i32::MAX);
        DpdkError::Call {
            subject: subject.into(),
            op: op.into(),
            errno,
            text: strerror(errno),
        }
    }

    /// A DPDK error from `rte_errno`, for calls that return -1 or NULL and set it.
    pub fn from_rte_errno(subject: impl Into<String>, op: impl Into<String>) -> Self {
        Self::call(subject, op, rte_errno())
    }

    /// An argument rejected before calling DPDK.
    pub fn invalid(subject: impl Into<String>, reason: impl Into<String>) -> Self {
        DpdkError::Invalid {
            subject: subject.into(),
            reason: reason.into(),
        }
    }

    /// The errno of a DPDK failure (positive), if this is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            DpdkError::Call { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpdkError::Call {
                subject,
                op,
                errno,
                text,
            } => {
                if !subject.is_empty() {
                    write!(f, "{subject}: ")?;
                }
                write!(f, "{op}: -{errno} {text}")
            }
            DpdkError::Invalid { subject, reason } => write!(f, "{subject}: {reason}"),
            DpdkError::EalNotRunning => {
                f.write_str("DPDK EAL is not initialised (or was cleaned up)")
            }
        }
    }
}

impl std::error::Error for DpdkError {}

/// The calling thread's `rte_errno` (a per-lcore TLS variable).
pub fn rte_errno() -> i32 {
    // SAFETY: reads a thread-local int; valid on any thread, before or after EAL init.
    unsafe { sys::edgelb_rte_errno() }
}

/// `rte_strerror(errno)` as an owned string.
pub fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static string or to a thread-local buffer that
    // stays valid until the next call on this thread; it is copied out at once.
    unsafe {
        let p = sys::rte_strerror(errno);
        if p.is_null() {
            return format!("errno {errno}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_errors_read_like_dpdk_logs() {
        let e = DpdkError::call("port 1 (nodes)", "rte_eth_rx_queue_setup queue 0", -22);
        assert_eq!(
            e.to_string(),
            "port 1 (nodes): rte_eth_rx_queue_setup queue 0: -22 Invalid argument"
        );
        assert_eq!(e.errno(), Some(22));
        let e = DpdkError::call("", "rte_eal_init", 114);
        assert_eq!(
            e.to_string(),
            "rte_eal_init: -114 Operation already in progress"
        );
    }

    #[test]
    fn dpdk_specific_errnos_have_text() {
        // E_RTE_SECONDARY is DPDK's own code (1001), not a libc errno.
        assert_eq!(strerror(1001), "Invalid call in secondary process");
    }
}

//! The DPDK Environment Abstraction Layer: initialised once per process, cleaned up at the end.
//!
//! [`Eal`] is the proof that EAL is running; lcore launch and the lcore queries hang off it because
//! DPDK allows them only from the main lcore after `rte_eal_init`. Pools and ports check a
//! process-wide flag instead, so that they can be made on any thread.

use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};

use edgelb_dpdk_sys as sys;

use crate::error::DpdkError;
use crate::lcore::Lcore;

const NOT_STARTED: u8 = 0;
const RUNNING: u8 = 1;
const CLEANED_UP: u8 = 2;

/// Where EAL is in its life; EAL cannot be initialised twice in one process, even after cleanup.
static STATE: AtomicU8 = AtomicU8::new(NOT_STARTED);

/// Ok when EAL is running; the guard of every constructor that calls into DPDK.
pub(crate) fn ensure_running() -> Result<(), DpdkError> {
    if STATE.load(Ordering::Acquire) == RUNNING {
        Ok(())
    } else {
        Err(DpdkError::EalNotRunning)
    }
}

/// The running EAL. Dropping it waits for the worker lcores and calls `rte_eal_cleanup`.
///
/// Drop it last: after every port, pool, ring and mbuf (they live in EAL's memory).
/// Not `Send`: DPDK wants launch, wait and cleanup on the main lcore, the thread that called init.
#[derive(Debug)]
pub struct Eal {
    cleaned_up: bool,
    _main_thread_only: PhantomData<*mut ()>,
}

impl Eal {
    /// Runs `rte_eal_init` with `args` (program name first, as [`crate::EalArgs::build`] makes them).
    ///
    /// Fails with `EALREADY` on a second call in the same process.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if STATE
            .compare_exchange(NOT_STARTED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(DpdkError::call("", "rte_eal_init", libc::EALREADY));
        }
        let mut argv = match leak_argv(args) {
            Ok(argv) => argv,
            Err(e) => {
                STATE.store(NOT_STARTED, Ordering::Release);
                return Err(e);
            }
        };
        let argc = i32::try_from(args.len()).unwrap_or(i32::MAX);
        // SAFETY: argv holds argc valid NUL-terminated strings that are never freed (EAL may keep
        // pointers into them and permutes the array), followed by a NULL as C's argv is.
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            // EAL's failures leave it unusable for this process: keep the state "cleaned up".
            let err = DpdkError::from_rte_errno("", format!("rte_eal_init {}", args.join(" ")));
            STATE.store(CLEANED_UP, Ordering::Release);
            return Err(err);
        }
        Ok(Eal {
            cleaned_up: false,
            _main_thread_only: PhantomData,
        })
    }

    /// Waits for the worker lcores, then releases EAL's resources (`rte_eal_cleanup`).
    pub fn cleanup(mut self) -> Result<(), DpdkError> {
        self.cleanup_once()
    }

    fn cleanup_once(&mut self) -> Result<(), DpdkError> {
        if self.cleaned_up {
            return Ok(());
        }
        self.cleaned_up = true;
        self.wait_all();
        STATE.store(CLEANED_UP, Ordering::Release);
        // SAFETY: EAL is running (this value exists) and every worker is back in WAIT.
        let ret = unsafe { sys::rte_eal_cleanup() };
        if ret < 0 {
            return Err(DpdkError::from_rte_errno("", "rte_eal_cleanup"));
        }
        Ok(())
    }

    /// The main lcore (the one that called init).
    pub fn main_lcore(&self) -> Lcore {
        // SAFETY: EAL is initialised; reads its configuration.
        Lcore::from_id(unsafe { sys::rte_get_main_lcore() })
    }

    /// The enabled lcores other than the main one, in id order: where workers are launched.
    pub fn worker_lcores(&self) -> Vec<Lcore> {
        let mut out = Vec::new();
        // SAFETY: EAL is initialised; rte_get_next_lcore only reads its configuration. u32::MAX is
        // the C idiom's -1 that starts the walk (RTE_LCORE_FOREACH_WORKER).
        let mut id = unsafe { sys::rte_get_next_lcore(u32::MAX, 1, 0) };
        while id < sys::RTE_MAX_LCORE {
            out.push(Lcore::from_id(id));
            // SAFETY: as above.
            id = unsafe { sys::rte_get_next_lcore(id, 1, 0) };
        }
        out
    }

    /// Number of enabled lcores, the main one included.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: EAL is initialised; reads its configuration.
        unsafe { sys::rte_lcore_count() }
    }

    /// The NUMA socket of `lcore`.
    pub fn socket_of(&self, lcore: Lcore) -> u32 {
        // rte_lcore_to_socket_id indexes a table without checking the id.
        if lcore.id() >= sys::RTE_MAX_LCORE {
            return 0;
        }
        // SAFETY: EAL is initialised and the id is below RTE_MAX_LCORE, the size of the table read.
        unsafe { sys::rte_lcore_to_socket_id(lcore.id()) }
    }

    /// EAL's runtime directory for this process (`/var/run/dpdk/<prefix>` for root).
    pub fn runtime_dir(&self) -> PathBuf {
        // SAFETY: EAL is initialised; the returned string is a static buffer inside EAL.
        let p = unsafe { sys::rte_eal_get_runtime_dir() };
        if p.is_null() {
            return PathBuf::new();
        }
        // SAFETY: non-NULL, NUL-terminated, lives as long as EAL.
        PathBuf::from(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    /// Runs `f` on worker `lcore` (`rte_eal_remote_launch`); its return value comes back from
    /// [`Eal::wait`]. A panic in `f` is caught and returns [`crate::LAUNCH_PANICKED`].
    pub fn launch<F>(&self, lcore: Lcore, f: F) -> Result<(), DpdkError>
    where
        F: FnOnce() -> i32 + Send + 'static,
    {
        // DPDK only checks the state, and would "wake" the main or a disabled lcore through a pipe
        // that was never opened.
        let is_worker = lcore.id() < sys::RTE_MAX_LCORE
            // SAFETY: EAL is initialised and the id is in range.
            && unsafe { sys::rte_lcore_is_enabled(lcore.id()) } != 0
            && lcore != self.main_lcore();
        if !is_worker {
            return Err(DpdkError::invalid(
                lcore.to_string(),
                "not an enabled worker lcore",
            ));
        }
        crate::lcore::launch(lcore, Box::new(f))
    }

    /// Waits for `lcore` to finish; its function's return value, or 0 if nothing was running.
    pub fn wait(&self, lcore: Lcore) -> i32 {
        if lcore.id() >= sys::RTE_MAX_LCORE {
            return 0;
        }
        // SAFETY: EAL is initialised, the id is in range; called on the main lcore (Eal is !Send).
        unsafe { sys::rte_eal_wait_lcore(lcore.id()) }
    }

    /// Waits for every worker lcore to finish (`rte_eal_mp_wait_lcore`).
    pub fn wait_all(&self) {
        // SAFETY: EAL is initialised; called on the main lcore (Eal is !Send).
        unsafe { sys::rte_eal_mp_wait_lcore() }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        if let Err(e) = self.cleanup_once() {
            tracing::warn!("{e}");
        }
    }
}

/// Copies `args` into C strings that live for the rest of the process, as EAL expects of argv.
fn leak_argv(args: &[String]) -> Result<Vec<*mut c_char>, DpdkError> {
    if args.is_empty() {
        return Err(DpdkError::invalid(
            "EAL arguments",
            "empty: the program name comes first",
        ));
    }
    let mut argv = Vec::with_capacity(args.len() + 1);
    for a in args {
        let c = CString::new(a.as_str()).map_err(|_| {
            DpdkError::invalid("EAL arguments", format!("{a:?} contains a NUL byte"))
        })?;
        argv.push(c.into_raw());
    }
    argv.push(std::ptr::null_mut());
    Ok(argv)
}

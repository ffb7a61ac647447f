//! Safe wrappers over DPDK (the `dpdk-sys` bindings): every DPDK `unsafe` of the appliance.
//!
//! * [`Eal`] — proof that the Environment Abstraction Layer is up. [`Eal::init`] runs
//!   `rte_eal_init` once per process; a second call (even after a failure) is an error, never
//!   a second `rte_eal_init`. EAL is never torn down: `rte_eal_cleanup` would invalidate every
//!   pool and port still referenced, so the process exit does it.
//! * [`Mempool`] — an mbuf pool (`rte_pktmbuf_pool_create`), shared by reference counting.
//! * [`Mbuf`] — one owned packet buffer, freed on drop; [`RxBatch`] / [`TxBatch`] hold the
//!   raw pointer arrays `rte_eth_rx_burst` / `rte_eth_tx_burst` work on.
//! * [`EthDev`] — one Ethernet port with one RX and one TX queue; stopped and closed on drop.
//! * [`rdtsc`], [`tsc_hz`], [`RxTimestampField`].
//!
//! **Threads.** Wrappers are `Send` (DPDK objects are not bound to the thread that made them)
//! but a port's queues are only used through `&mut EthDev`, so one thread at a time polls
//! them, as DPDK requires for its lock-free queues. Mempools are multi-producer /
//! multi-consumer (the default ops), so mbufs may be freed from any thread. Threads that are
//! not EAL lcores use no per-lcore mempool cache, which is slower but correct.
//!
//! Errors carry the DPDK call and the errno it reported ([`DpdkError`]).
//!
//! Files: this one (errors, [`Eal`], dynamic fields, device clock, TSC), `mbuf` (pools,
//! mbufs, bursts), `ethdev` (ports, queues, timesync).
#![warn(clippy::undocumented_unsafe_blocks)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::io;
use std::mem;
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};

use dpdk_sys as ffi;

mod ethdev;
mod mbuf;

pub use ethdev::{register_thread, DevInfo, EthDev, LinkStatus, RxQueue, Timesync, TxQueue};
pub use mbuf::{Mbuf, Mempool, RxBatch, TxBatch};

/// `ENOTSUP` as DPDK returns it (negated).
const ENOTSUP: c_int = 95;
/// `EALREADY`.
const EALREADY: c_int = 114;
/// `ENODEV`.
const ENODEV: c_int = 19;

/// Packets per burst: the size of [`RxBatch`] and [`TxBatch`].
pub const BURST: usize = 32;

/// A DPDK call that failed: the call and the (positive) errno it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkError {
    /// The DPDK function (or step) that failed.
    pub op: &'static str,
    /// Positive errno (from the negative return value or `rte_errno`).
    pub errno: i32,
}

impl DpdkError {
    fn new(op: &'static str, errno: i32) -> Self {
        DpdkError {
            op,
            errno: errno.abs(),
        }
    }

    /// From a call that returned `-errno`.
    fn ret(op: &'static str, rc: c_int) -> Self {
        Self::new(op, rc)
    }

    /// From a call that signals failure and leaves the reason in `rte_errno`.
    fn last(op: &'static str) -> Self {
        // SAFETY: reads the calling thread's rte_errno, a plain thread-local int.
        let e = unsafe { ffi::shim_rte_errno() };
        Self::new(op, e)
    }

    /// The errno as an [`io::Error`].
    pub fn io_error(&self) -> io::Error {
        io::Error::from_raw_os_error(self.errno)
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, errno_text(self.errno))
    }
}

impl std::error::Error for DpdkError {}

/// DPDK's description of an errno (`rte_strerror`, which also knows DPDK's own codes).
fn errno_text(errno: i32) -> String {
    // SAFETY: rte_strerror accepts any int and returns a pointer to a static or thread-local
    // NUL-terminated string, copied out here before anything else runs on this thread.
    let text = unsafe { CStr::from_ptr(ffi::rte_strerror(errno)) };
    format!("{} (errno {errno})", text.to_string_lossy())
}

// ---------------------------------------------------------------------------------------
// EAL.

/// [`Eal::init`] has not run.
const EAL_NONE: u8 = 0;
/// `rte_eal_init` is running or failed: it may not run again.
const EAL_SPENT: u8 = 1;
/// EAL is initialised.
const EAL_UP: u8 = 2;

static EAL_STATE: AtomicU8 = AtomicU8::new(EAL_NONE);

/// Proof that EAL is initialised; every other DPDK object is made through one.
#[derive(Debug, Clone, Copy)]
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Runs `rte_eal_init` with `args` (EAL options, without the program name, which is
    /// added as `argv[0]`). Once per process: any later call fails with `EALREADY`, even if
    /// the first failed (DPDK cannot be initialised twice). The calling thread becomes the
    /// main lcore, and EAL pins it to that lcore's CPU.
    ///
    /// EAL may keep pointers into `argv`, so the argument strings are leaked (once).
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if EAL_STATE
            .compare_exchange(EAL_NONE, EAL_SPENT, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(DpdkError::new("rte_eal_init (already called)", EALREADY));
        }
        let mut argv: Vec<*mut c_char> = Vec::with_capacity(args.len() + 2);
        for a in std::iter::once("meridian").chain(args.iter().map(String::as_str)) {
            let c = CString::new(a).map_err(|_| DpdkError::new("EAL argument with NUL", 22))?;
            argv.push(c.into_raw());
        }
        let argc = argv.len() as c_int;
        argv.push(ptr::null_mut());
        // Leaked on purpose: EAL may keep pointers to argv and its strings.
        let argv: &'static mut [*mut c_char] = Vec::leak(argv);
        // SAFETY: argv holds argc pointers to NUL-terminated strings that live for the rest of
        // the process, then a NULL; EAL_STATE guarantees this is the process's only call.
        let rc = unsafe { ffi::rte_eal_init(argc, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(DpdkError::last("rte_eal_init"));
        }
        EAL_STATE.store(EAL_UP, Ordering::Release);
        Ok(Eal { _private: () })
    }

    /// The EAL token, if [`Eal::init`] succeeded in this process.
    pub fn get() -> Option<Eal> {
        (EAL_STATE.load(Ordering::Acquire) == EAL_UP).then_some(Eal { _private: () })
    }

    /// Ethernet ports probed and available (`rte_eth_dev_count_avail`). A vdev or device
    /// that failed to probe does not fail `rte_eal_init`; it is just missing here.
    pub fn port_count(self) -> u16 {
        // SAFETY: EAL is initialised (this token exists); the call only reads port state.
        unsafe { ffi::rte_eth_dev_count_avail() }
    }

    /// The id of the port named `name` (a vdev name such as `net_pcap0`, or a PCI address).
    pub fn port_by_name(self, name: &str) -> Result<u16, DpdkError> {
        let c = CString::new(name).map_err(|_| DpdkError::new("port name with NUL", 22))?;
        let mut port = u16::MAX;
        // SAFETY: `c` is NUL-terminated and outlives the call; `port` is a valid out-parameter.
        let rc = unsafe { ffi::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut port) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_dev_get_port_by_name", rc));
        }
        Ok(port)
    }

    /// The RX timestamp dynamic field and flag, if a PMD (or anyone) registered them.
    /// `net_pcap` does, and fills it with the capture time in µs.
    pub fn rx_timestamp_dynfield(self) -> Option<RxTimestampField> {
        let mut params = ffi::rte_mbuf_dynfield::default();
        // SAFETY: EAL is up; the name is a NUL-terminated constant; `params` is a valid
        // out-parameter.
        let offset = unsafe {
            ffi::rte_mbuf_dynfield_lookup(
                ffi::RTE_MBUF_DYNFIELD_TIMESTAMP_NAME.as_ptr(),
                &mut params,
            )
        };
        // SAFETY: as above; NULL asks for no parameters back.
        let bit = unsafe {
            ffi::rte_mbuf_dynflag_lookup(
                ffi::RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME.as_ptr(),
                ptr::null_mut(),
            )
        };
        let offset = usize::try_from(offset).ok()?;
        // The field must be a u64 inside the mbuf, or reading it would be out of bounds.
        if params.size != mem::size_of::<u64>()
            || offset + mem::size_of::<u64>() > mem::size_of::<ffi::rte_mbuf>()
            || !(0..64).contains(&bit)
        {
            return None;
        }
        Some(RxTimestampField {
            offset,
            flag: 1u64 << bit,
        })
    }
}

impl Eal {
    /// Registers the TX timestamp dynamic field and flag
    /// (`rte_mbuf_dyn_tx_timestamp_register`): where a frame's launch time goes for PMDs
    /// with `RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP`.
    pub fn tx_timestamp_dynfield(self) -> Result<TxTimestampField, DpdkError> {
        let mut offset: c_int = -1;
        let mut flag: u64 = 0;
        // SAFETY: EAL is up; both out-parameters are valid for the call.
        let rc = unsafe { ffi::rte_mbuf_dyn_tx_timestamp_register(&mut offset, &mut flag) };
        if rc != 0 {
            return Err(DpdkError::last("rte_mbuf_dyn_tx_timestamp_register"));
        }
        let offset = usize::try_from(offset)
            .map_err(|_| DpdkError::new("rte_mbuf_dyn_tx_timestamp_register: offset", 22))?;
        // The field must be a u64 inside the mbuf, or writing it would be out of bounds.
        if offset + mem::size_of::<u64>() > mem::size_of::<ffi::rte_mbuf>() || flag == 0 {
            return Err(DpdkError::new(
                "rte_mbuf_dyn_tx_timestamp_register: field",
                22,
            ));
        }
        Ok(TxTimestampField { offset, flag })
    }
}

/// Where a frame's launch time goes (`rte_dynfield_timestamp`, device clock units) and the
/// `ol_flags` bit asking the PMD to honour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxTimestampField {
    offset: usize,
    flag: u64,
}

/// `RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP`.
pub const TX_OFFLOAD_SEND_ON_TIMESTAMP: u64 = ffi::RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP;
/// `RTE_ETH_RX_OFFLOAD_TIMESTAMP`: the PMD writes each frame's arrival time (device-clock
/// units, as `rte_eth_read_clock` reads them) into the RX timestamp dynfield.
pub const RX_OFFLOAD_TIMESTAMP: u64 = ffi::RTE_ETH_RX_OFFLOAD_TIMESTAMP;

/// A port's device clock as `rte_eth_read_clock` reads it (the units of the launch-time
/// field). Copy; read from the engine core only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceClock {
    port: u16,
}

impl DeviceClock {
    /// The device clock now (device units, ns on most PMDs).
    pub fn read(&self) -> Result<u64, DpdkError> {
        let mut v: u64 = 0;
        // SAFETY: the port exists; `v` is a valid out-parameter.
        let rc = unsafe { ffi::rte_eth_read_clock(self.port, &mut v) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_read_clock", rc));
        }
        Ok(v)
    }
}

/// Where a PMD puts RX timestamps in an mbuf: a `u64` dynamic field (units are the PMD's)
/// and the `ol_flags` bit saying it was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxTimestampField {
    /// Byte offset of the field in `struct rte_mbuf` (checked to hold a `u64`).
    offset: usize,
    /// The `ol_flags` bit.
    flag: u64,
}

/// The CPU's time-stamp counter (`rte_rdtsc`). Needs no EAL.
pub fn rdtsc() -> u64 {
    // SAFETY: executes RDTSC (or the platform's counter read); no memory is touched.
    unsafe { ffi::shim_rte_rdtsc() }
}

/// EAL's idea of the TSC rate in Hz, or `None` before EAL is up. Only an estimate (on VMs
/// rounded to 10 MHz): calibrate against a reference rather than trusting it.
pub fn tsc_hz() -> Option<u64> {
    let _eal = Eal::get()?;
    // SAFETY: EAL is initialised; the call reads a value EAL computed at init.
    let hz = unsafe { ffi::rte_get_tsc_hz() };
    (hz != 0).then_some(hz)
}

// ---------------------------------------------------------------------------------------
// Mempool.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_call_and_errno() {
        let e = DpdkError::ret("rte_eth_dev_configure", -95);
        assert_eq!(e.errno, 95);
        let s = e.to_string();
        assert!(s.starts_with("rte_eth_dev_configure: "), "{s}");
        assert!(s.contains("errno 95"), "{s}");
        assert_eq!(e.io_error().raw_os_error(), Some(95));
    }

    #[test]
    fn batches_without_eal_are_empty_and_safe() {
        let mut rx = RxBatch::new();
        assert_eq!(rx.waiting(), 0);
        assert!(rx.pop().is_none());
        rx.clear();
        let mut tx = TxBatch::new();
        assert!(tx.is_empty());
        assert_eq!(tx.clear(), 0);
        assert!(rdtsc() > 0);
    }
}

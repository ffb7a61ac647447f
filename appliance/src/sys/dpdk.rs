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
#![warn(clippy::undocumented_unsafe_blocks)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::io;
use std::mem;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use dpdk_sys as ffi;

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

struct PoolInner {
    pool: NonNull<ffi::rte_mempool>,
}

// SAFETY: an rte_mempool is a process-wide shared-memory object with multi-producer /
// multi-consumer get and put (the default ring ops); it is not tied to a thread.
unsafe impl Send for PoolInner {}
// SAFETY: as above; the only operations through `&PoolInner` are thread-safe mempool
// get/put and counters.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // The last handle is gone, so no port holds the pool (each EthDev keeps a handle to
        // the pool its RX queue fills from). Mbufs, though, are not tied to a handle: free
        // the pool only if none is outstanding, otherwise leak it so they stay valid.
        // SAFETY: the pool is valid until freed below.
        let in_use = unsafe { ffi::rte_mempool_in_use_count(self.pool.as_ptr()) };
        if in_use == 0 {
            // SAFETY: no mbuf of the pool is in use and no port references it (see above);
            // nothing uses the pointer afterwards.
            unsafe { ffi::rte_mempool_free(self.pool.as_ptr()) };
        } else {
            // Some PMDs never give back what they hold (af_xdp keeps its fill queue's 2 048
            // mbufs after close): expected, so not a warning.
            tracing::info!(
                in_use,
                "DPDK mbuf pool still has mbufs in use when dropped (held by the PMD); \
                 keeping it allocated until exit"
            );
        }
    }
}

/// An mbuf pool. Clones share it.
///
/// DPDK mempools may outlive ports and other holders, and an mbuf does not hold its pool:
/// the pool is freed when the last handle drops *and* none of its mbufs is in use;
/// otherwise it is deliberately leaked (a few MB, once), because freeing it would leave
/// those mbufs dangling.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl fmt::Debug for Mempool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mempool")
            .field("available", &self.available())
            .field("in_use", &self.in_use())
            .finish()
    }
}

impl Mempool {
    /// `rte_pktmbuf_pool_create(name, n, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket)`:
    /// `n` mbufs of 2048 data octets plus headroom. `name` must be unique in the process.
    pub fn create(
        _eal: Eal,
        name: &str,
        n: u32,
        cache: u32,
        socket: i32,
    ) -> Result<Mempool, DpdkError> {
        let c = CString::new(name).map_err(|_| DpdkError::new("mempool name with NUL", 22))?;
        // SAFETY: EAL is up; `c` is NUL-terminated and outlives the call (DPDK copies it).
        let p = unsafe {
            ffi::rte_pktmbuf_pool_create(
                c.as_ptr(),
                n,
                cache.min(ffi::RTE_MEMPOOL_CACHE_MAX_SIZE),
                0,
                ffi::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
                socket,
            )
        };
        let pool = NonNull::new(p).ok_or_else(|| DpdkError::last("rte_pktmbuf_pool_create"))?;
        Ok(Mempool {
            inner: Arc::new(PoolInner { pool }),
        })
    }

    fn raw(&self) -> *mut ffi::rte_mempool {
        self.inner.pool.as_ptr()
    }

    /// Mbufs available (in the pool and per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid while a handle exists.
        unsafe { ffi::rte_mempool_avail_count(self.raw()) }
    }

    /// Mbufs in use (allocated, held by a queue, or in flight).
    pub fn in_use(&self) -> u32 {
        // SAFETY: the pool is valid while a handle exists.
        unsafe { ffi::rte_mempool_in_use_count(self.raw()) }
    }

    /// One empty mbuf, or `None` if the pool is exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid; a non-NULL result is a fresh mbuf owned by the caller.
        let m = unsafe { ffi::shim_rte_pktmbuf_alloc(self.raw()) };
        NonNull::new(m).map(Mbuf)
    }
}

// ---------------------------------------------------------------------------------------
// Mbuf.

/// One owned packet buffer (possibly a chain of segments), freed on drop.
///
/// The data accessors see the first segment only; [`Mbuf::is_contiguous`] says whether that
/// is the whole packet. A mbuf's pool stays allocated while the mbuf lives (see [`Mempool`]).
pub struct Mbuf(NonNull<ffi::rte_mbuf>);

// SAFETY: an Mbuf is the unique owner of its rte_mbuf (taken from a pool or from rx_burst,
// handed on only by into_raw); mbufs may be used and freed from any thread.
unsafe impl Send for Mbuf {}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("pkt_len", &self.len())
            .field("data_len", &self.data().len())
            .finish()
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: this Mbuf owns the mbuf (and its chain); it is never used again.
        unsafe { ffi::shim_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` is a valid mbuf that nothing else owns or will free.
    unsafe fn from_raw(m: NonNull<ffi::rte_mbuf>) -> Mbuf {
        Mbuf(m)
    }

    /// Gives up ownership (e.g. to `rte_eth_tx_burst`, which frees what it sends).
    pub fn into_raw(self) -> *mut ffi::rte_mbuf {
        let p = self.0.as_ptr();
        mem::forget(self);
        p
    }

    /// Octets in the whole packet (all segments).
    pub fn len(&self) -> usize {
        // SAFETY: the mbuf is valid and owned.
        unsafe { ffi::shim_rte_pktmbuf_pkt_len(self.0.as_ptr()) as usize }
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the first segment holds the whole packet.
    pub fn is_contiguous(&self) -> bool {
        self.data().len() == self.len()
    }

    /// The data of the first segment.
    pub fn data(&self) -> &[u8] {
        // SAFETY: mtod points at data_len initialised octets inside the mbuf's buffer, which
        // stays valid and unmodified for the lifetime of `&self` (we own the mbuf).
        unsafe {
            let m = self.0.as_ptr();
            let len = usize::from(ffi::shim_rte_pktmbuf_data_len(m));
            std::slice::from_raw_parts(ffi::shim_rte_pktmbuf_mtod(m).cast::<u8>(), len)
        }
    }

    /// The data of the first segment, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `data`; `&mut self` makes the access exclusive. Our mbufs are never
        // shared (refcount 1: allocated here or received, never cloned), so writing is fine.
        unsafe {
            let m = self.0.as_ptr();
            let len = usize::from(ffi::shim_rte_pktmbuf_data_len(m));
            std::slice::from_raw_parts_mut(ffi::shim_rte_pktmbuf_mtod(m).cast::<u8>(), len)
        }
    }

    /// Appends `len` octets at the end (`rte_pktmbuf_append`) and returns them (their
    /// content is whatever the buffer held), or `None` if the tailroom is too small.
    pub fn append(&mut self, len: usize) -> Option<&mut [u8]> {
        let n = u16::try_from(len).ok()?;
        // SAFETY: the mbuf is valid and exclusively ours; append returns NULL (and changes
        // nothing) or a pointer to `n` octets of the data room, now part of the data.
        let p = unsafe { ffi::shim_rte_pktmbuf_append(self.0.as_ptr(), n) };
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` points at `len` octets inside the mbuf's buffer (u8 has no invalid
        // values), exclusively borrowed through `&mut self`.
        Some(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
    }

    /// Whether the NIC latched this frame's receive time in its timesync register
    /// (`RTE_MBUF_F_RX_IEEE1588_TMST`), to be read with [`Timesync::read_rx_timestamp`].
    pub fn rx_timesync_latched(&self) -> bool {
        self.ol_flags() & ffi::RTE_MBUF_F_RX_IEEE1588_TMST != 0
    }

    /// Asks the NIC to latch this frame's transmit time in its timesync register
    /// (`RTE_MBUF_F_TX_IEEE1588_TMST`), to be read with [`Timesync::read_tx_timestamp`].
    pub fn request_tx_timesync(&mut self) {
        let flags = self.ol_flags() | ffi::RTE_MBUF_F_TX_IEEE1588_TMST;
        // SAFETY: the mbuf is valid and exclusively ours; only its offload flags change.
        unsafe { ffi::shim_rte_mbuf_set_ol_flags(self.0.as_ptr(), flags) }
    }

    /// Sets the frame's launch time (device clock units) and the flag asking the PMD to
    /// send it then.
    pub fn set_launch_time(&mut self, field: TxTimestampField, t: u64) {
        // SAFETY: `field` comes from Eal::tx_timestamp_dynfield, which checked the field is a
        // u64 lying inside struct rte_mbuf; the mbuf is exclusively ours; write_unaligned
        // needs no alignment.
        unsafe {
            ffi::shim_rte_mbuf_dynfield(self.0.as_ptr(), field.offset as c_int)
                .cast::<u64>()
                .write_unaligned(t);
            ffi::shim_rte_mbuf_set_ol_flags(self.0.as_ptr(), self.ol_flags() | field.flag);
        }
    }

    /// The launch time set by [`Self::set_launch_time`], if its flag is set.
    pub fn launch_time(&self, field: TxTimestampField) -> Option<u64> {
        if self.ol_flags() & field.flag == 0 {
            return None;
        }
        // SAFETY: as in set_launch_time, reading.
        Some(unsafe {
            ffi::shim_rte_mbuf_dynfield(self.0.as_ptr(), field.offset as c_int)
                .cast::<u64>()
                .read_unaligned()
        })
    }

    /// The mbuf's offload flags.
    pub fn ol_flags(&self) -> u64 {
        // SAFETY: the mbuf is valid and owned.
        unsafe { ffi::shim_rte_mbuf_ol_flags(self.0.as_ptr()) }
    }

    /// The RX timestamp the PMD wrote into `field`, if its flag is set.
    pub fn rx_timestamp(&self, field: RxTimestampField) -> Option<u64> {
        if self.ol_flags() & field.flag == 0 {
            return None;
        }
        // SAFETY: `field` comes from Eal::rx_timestamp_dynfield, which checked the field is a
        // registered u64 lying inside struct rte_mbuf; read_unaligned needs no alignment.
        Some(unsafe {
            ffi::shim_rte_mbuf_dynfield(self.0.as_ptr(), field.offset as c_int)
                .cast::<u64>()
                .read_unaligned()
        })
    }
}

/// Received mbufs waiting to be taken: what one `rte_eth_rx_burst` returned.
pub struct RxBatch {
    ptrs: [*mut ffi::rte_mbuf; BURST],
    /// Next to take.
    head: usize,
    /// Filled by the last burst.
    len: usize,
}

// SAFETY: the batch owns the mbufs in ptrs[head..len] exclusively, like Mbuf.
unsafe impl Send for RxBatch {}

impl Default for RxBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RxBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RxBatch({} waiting)", self.waiting())
    }
}

impl RxBatch {
    /// An empty batch.
    pub const fn new() -> Self {
        RxBatch {
            ptrs: [ptr::null_mut(); BURST],
            head: 0,
            len: 0,
        }
    }

    /// Mbufs not taken yet.
    pub fn waiting(&self) -> usize {
        self.len - self.head
    }

    /// Takes the next received mbuf.
    pub fn pop(&mut self) -> Option<Mbuf> {
        while self.head < self.len {
            let p = self.ptrs[self.head];
            self.ptrs[self.head] = ptr::null_mut();
            self.head += 1;
            if let Some(m) = NonNull::new(p) {
                // SAFETY: rx_burst handed this mbuf to the batch, which owned it until now;
                // its slot is cleared, so the batch forgets it.
                return Some(unsafe { Mbuf::from_raw(m) });
            }
        }
        None
    }

    /// Frees every mbuf not taken.
    pub fn clear(&mut self) {
        while self.pop().is_some() {}
        self.head = 0;
        self.len = 0;
    }
}

impl Drop for RxBatch {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Mbufs to transmit, for [`EthDev::tx_burst`]. Unsent ones stay in it; dropping or
/// [`TxBatch::clear`]ing the batch frees them.
pub struct TxBatch {
    ptrs: [*mut ffi::rte_mbuf; BURST],
    len: usize,
}

// SAFETY: the batch owns the mbufs in ptrs[..len] exclusively, like Mbuf.
unsafe impl Send for TxBatch {}

impl Default for TxBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TxBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxBatch({} queued)", self.len)
    }
}

impl TxBatch {
    /// An empty batch.
    pub const fn new() -> Self {
        TxBatch {
            ptrs: [ptr::null_mut(); BURST],
            len: 0,
        }
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many mbufs are queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Queues `m`; gives it back if the batch is full.
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == BURST {
            return Err(m);
        }
        self.ptrs[self.len] = m.into_raw();
        self.len += 1;
        Ok(())
    }

    /// Frees every queued mbuf; returns how many.
    pub fn clear(&mut self) -> usize {
        let n = self.len;
        for p in &mut self.ptrs[..n] {
            if let Some(m) = NonNull::new(mem::replace(p, ptr::null_mut())) {
                // SAFETY: the batch owned this mbuf (pushed via into_raw); the slot is cleared.
                drop(unsafe { Mbuf::from_raw(m) });
            }
        }
        self.len = 0;
        n
    }
}

impl Drop for TxBatch {
    fn drop(&mut self) {
        self.clear();
    }
}

// ---------------------------------------------------------------------------------------
// Ethernet devices.

/// Ports with a live [`EthDev`]: one owner per port, so two owners never race on a queue
/// or close a port under each other.
static CLAIMED: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// What `rte_eth_dev_info_get` says about a port (the parts we use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevInfo {
    /// PMD name, e.g. `net_pcap`.
    pub driver_name: String,
    /// Kernel interface index (0 if none).
    pub if_index: u32,
    /// Maximum RX queues.
    pub max_rx_queues: u16,
    /// Maximum TX queues.
    pub max_tx_queues: u16,
    /// RX offload capabilities (`RTE_ETH_RX_OFFLOAD_*`).
    pub rx_offload_capa: u64,
    /// TX offload capabilities (`RTE_ETH_TX_OFFLOAD_*`).
    pub tx_offload_capa: u64,
}

/// Link state (`rte_eth_link_get_nowait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// Link up.
    pub up: bool,
    /// Speed in Mb/s (0 if unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// One Ethernet port, owned exclusively; stopped (if started) and closed on drop.
pub struct EthDev {
    port: u16,
    started: bool,
    /// `rte_eth_timesync_enable` succeeded.
    timesync: bool,
    /// The pool the RX queue fills from, kept alive while the port may use it.
    pool: Option<Mempool>,
}

impl fmt::Debug for EthDev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EthDev")
            .field("port", &self.port)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl EthDev {
    /// Takes the port named `name` (see [`Eal::port_by_name`]). Fails with `EBUSY` if
    /// another [`EthDev`] has it.
    pub fn open(eal: Eal, name: &str) -> Result<EthDev, DpdkError> {
        let port = eal.port_by_name(name)?;
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        if claimed.contains(&port) {
            return Err(DpdkError::new("port already open", 16));
        }
        claimed.push(port);
        Ok(EthDev {
            port,
            started: false,
            timesync: false,
            pool: None,
        })
    }

    /// The port id.
    pub fn port_id(&self) -> u16 {
        self.port
    }

    /// Device information.
    pub fn info(&self) -> Result<DevInfo, DpdkError> {
        // SAFETY: rte_eth_dev_info is a plain C struct for which all-zero bytes are valid
        // (null pointers, zero counts).
        let mut info: ffi::rte_eth_dev_info = unsafe { mem::zeroed() };
        // SAFETY: the port exists; `info` is a valid out-parameter.
        let rc = unsafe { ffi::rte_eth_dev_info_get(self.port, &mut info) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_dev_info_get", rc));
        }
        let driver_name = if info.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null driver_name points at the PMD's static NUL-terminated name.
            unsafe { CStr::from_ptr(info.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(DevInfo {
            driver_name,
            if_index: info.if_index,
            max_rx_queues: info.max_rx_queues,
            max_tx_queues: info.max_tx_queues,
            rx_offload_capa: info.rx_offload_capa,
            tx_offload_capa: info.tx_offload_capa,
        })
    }

    /// NUMA socket of the port, or `SOCKET_ID_ANY`.
    pub fn socket_id(&self) -> i32 {
        // SAFETY: the port exists; the call only reads.
        let s = unsafe { ffi::rte_eth_dev_socket_id(self.port) };
        if s < 0 {
            ffi::SOCKET_ID_ANY
        } else {
            s
        }
    }

    /// Configures one RX and one TX queue with the given offloads (default otherwise).
    pub fn configure(&mut self, rx_offloads: u64, tx_offloads: u64) -> Result<(), DpdkError> {
        let mut conf = ffi::rte_eth_conf::default();
        conf.rxmode.offloads = rx_offloads;
        conf.txmode.offloads = tx_offloads;
        // SAFETY: the port exists and is stopped (we own it and start only after setup);
        // `conf` is valid for the call, DPDK copies it.
        let rc = unsafe { ffi::rte_eth_dev_configure(self.port, 1, 1, &conf) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_dev_configure", rc));
        }
        Ok(())
    }

    /// Sets up RX queue 0 (filled from `pool`) and TX queue 0 with `rx_desc` / `tx_desc`
    /// descriptors, adjusted to the device's limits first; returns the counts used.
    pub fn setup_queues(
        &mut self,
        pool: &Mempool,
        rx_desc: u16,
        tx_desc: u16,
    ) -> Result<(u16, u16), DpdkError> {
        let (mut rx, mut tx) = (rx_desc, tx_desc);
        // SAFETY: the port is configured; both out-parameters are valid.
        let rc = unsafe { ffi::rte_eth_dev_adjust_nb_rx_tx_desc(self.port, &mut rx, &mut tx) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_dev_adjust_nb_rx_tx_desc", rc));
        }
        let socket = self.socket_id() as u32;
        // The port may reference the pool from here on: keep it alive as long as the port.
        self.pool = Some(pool.clone());
        // SAFETY: the port is configured with one RX queue and stopped; `pool` is a valid
        // pktmbuf pool kept alive by self.pool; NULL selects the PMD's default rxconf.
        let rc = unsafe {
            ffi::rte_eth_rx_queue_setup(self.port, 0, rx, socket, ptr::null(), pool.raw())
        };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_rx_queue_setup", rc));
        }
        // SAFETY: as above, for the single TX queue; NULL selects the default txconf.
        let rc = unsafe { ffi::rte_eth_tx_queue_setup(self.port, 0, tx, socket, ptr::null()) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_tx_queue_setup", rc));
        }
        Ok((rx, tx))
    }

    /// Starts the port.
    pub fn start(&mut self) -> Result<(), DpdkError> {
        // SAFETY: the port is configured and its queues set up (DPDK checks and fails
        // otherwise).
        let rc = unsafe { ffi::rte_eth_dev_start(self.port) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_dev_start", rc));
        }
        self.started = true;
        Ok(())
    }

    /// Stops the port (no-op if not started).
    pub fn stop(&mut self) -> Result<(), DpdkError> {
        if !self.started {
            return Ok(());
        }
        self.started = false;
        // SAFETY: the port is started; `&mut self` means no burst is running on its queues.
        let rc = unsafe { ffi::rte_eth_dev_stop(self.port) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_dev_stop", rc));
        }
        Ok(())
    }

    /// The port's MAC address.
    pub fn mac_address(&self) -> Result<[u8; 6], DpdkError> {
        let mut a = ffi::rte_ether_addr::default();
        // SAFETY: the port exists; `a` is a valid out-parameter.
        let rc = unsafe { ffi::rte_eth_macaddr_get(self.port, &mut a) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_macaddr_get", rc));
        }
        Ok(a.addr_bytes)
    }

    /// Receives every frame whatever its destination.
    pub fn promiscuous_enable(&mut self) -> Result<(), DpdkError> {
        // SAFETY: the port exists; the call changes only the port's filter mode.
        let rc = unsafe { ffi::rte_eth_promiscuous_enable(self.port) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_promiscuous_enable", rc));
        }
        Ok(())
    }

    /// Receives every multicast frame.
    pub fn allmulticast_enable(&mut self) -> Result<(), DpdkError> {
        // SAFETY: the port exists; the call changes only the port's filter mode.
        let rc = unsafe { ffi::rte_eth_allmulticast_enable(self.port) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_allmulticast_enable", rc));
        }
        Ok(())
    }

    /// The link state, without waiting.
    pub fn link(&self) -> Result<LinkStatus, DpdkError> {
        let mut l = ffi::rte_eth_link::default();
        // SAFETY: the port exists; `l` is a valid out-parameter.
        let rc = unsafe { ffi::rte_eth_link_get_nowait(self.port, &mut l) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_link_get_nowait", rc));
        }
        Ok(LinkStatus {
            up: l.link_status() != 0,
            speed_mbps: l.link_speed,
            full_duplex: l.link_duplex() != 0,
        })
    }

    /// Tries to enable the port's hardware time stamping (`rte_eth_timesync_enable`):
    /// `Ok(false)` if the PMD does not support it (`ENOTSUP`), `Ok(true)` if enabled.
    pub fn timesync_probe(&mut self) -> Result<bool, DpdkError> {
        // SAFETY: the port exists; the call only switches the NIC's time stamping on.
        let rc = unsafe { ffi::rte_eth_timesync_enable(self.port) };
        match rc {
            0 => {
                self.timesync = true;
                Ok(true)
            }
            rc if rc == -ENOTSUP => Ok(false),
            rc => Err(DpdkError::ret("rte_eth_timesync_enable", rc)),
        }
    }

    /// The port's hardware clock, if [`Self::timesync_probe`] enabled it.
    pub fn timesync(&self) -> Option<Timesync> {
        self.timesync.then_some(Timesync { port: self.port })
    }

    /// The device clock (`rte_eth_read_clock`).
    pub fn device_clock(&self) -> DeviceClock {
        DeviceClock { port: self.port }
    }

    /// Receives up to [`BURST`] frames into `batch`, which must be empty (mbufs still in it
    /// are freed first); returns how many arrived.
    pub fn rx_burst(&mut self, batch: &mut RxBatch) -> usize {
        // SAFETY: `&mut self` makes this the only user of RX queue 0 (a split port has no
        // EthDev left to call this on).
        unsafe { rx_burst(self.port, self.started, batch) }
    }

    /// Transmits the mbufs of `batch`; returns how many the PMD took (it frees them once
    /// sent). Those it did not take stay in `batch`, in order, for a retry or to be freed.
    pub fn tx_burst(&mut self, batch: &mut TxBatch) -> usize {
        // SAFETY: `&mut self` makes this the only user of TX queue 0.
        unsafe { tx_burst(self.port, self.started, batch) }
    }

    /// Splits the started port into its receive and transmit queues, each to be polled by
    /// its own thread. The port is stopped and closed when both are dropped.
    pub fn split(self) -> (RxQueue, TxQueue) {
        let dev = Arc::new(SplitDev(self));
        (
            RxQueue {
                dev: Arc::clone(&dev),
            },
            TxQueue { dev },
        )
    }
}

/// # Safety
/// The caller is the only user of `port`'s RX queue 0 for the duration of the call.
unsafe fn rx_burst(port: u16, started: bool, batch: &mut RxBatch) -> usize {
    batch.clear();
    if !started {
        return 0;
    }
    // SAFETY: the port is started and the caller is the only user of RX queue 0;
    // `batch.ptrs` has room for BURST pointers; the n mbufs returned are owned by the batch
    // from now on.
    let n = unsafe { ffi::shim_rte_eth_rx_burst(port, 0, batch.ptrs.as_mut_ptr(), BURST as u16) };
    batch.head = 0;
    batch.len = usize::from(n).min(BURST);
    batch.len
}

/// # Safety
/// The caller is the only user of `port`'s TX queue 0 for the duration of the call.
unsafe fn tx_burst(port: u16, started: bool, batch: &mut TxBatch) -> usize {
    if batch.is_empty() || !started {
        return 0;
    }
    // SAFETY: the port is started and the caller is the only user of TX queue 0;
    // batch.ptrs[..len] are valid mbufs owned by the batch; tx_burst takes ownership of the
    // first `sent` of them, which are removed from the batch below.
    let sent =
        unsafe { ffi::shim_rte_eth_tx_burst(port, 0, batch.ptrs.as_mut_ptr(), batch.len as u16) };
    let sent = usize::from(sent).min(batch.len);
    batch.ptrs.copy_within(sent..batch.len, 0);
    batch.len -= sent;
    for p in &mut batch.ptrs[batch.len..] {
        *p = ptr::null_mut();
    }
    sent
}

/// Registers the calling thread with EAL (`rte_thread_register`) so it gets an lcore id and
/// with it per-lcore mempool caches: mbuf allocation and free from a pipeline stage thread
/// then mostly stays in the cache instead of the pool's shared ring. Returns the lcore id.
pub fn register_thread(_eal: Eal) -> Result<u32, DpdkError> {
    // SAFETY: EAL is up (the Eal proof); the call only assigns this thread an lcore slot.
    let rc = unsafe { ffi::rte_thread_register() };
    if rc != 0 {
        return Err(DpdkError::last("rte_thread_register"));
    }
    // SAFETY: reads this thread's lcore id (a TLS variable) through the shim.
    Ok(unsafe { ffi::shim_rte_lcore_id() })
}

/// A port's hardware clock through DPDK's generic timesync API (one RX and one TX latch
/// register per port on the NICs that implement it: igb, ixgbe, i40e, ice, …).
///
/// Copy, and used from the RX stage (RX register), the TX stage (TX register) and the engine
/// core (clock reads): the PMDs implement these as independent register accesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timesync {
    port: u16,
}

fn timespec_ns(t: &ffi::timespec) -> i128 {
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

impl Timesync {
    /// The hardware clock now, ns.
    pub fn read_time(&self) -> Result<i128, DpdkError> {
        let mut t = ffi::timespec::default();
        // SAFETY: the port exists and has timesync enabled; `t` is a valid out-parameter.
        let rc = unsafe { ffi::rte_eth_timesync_read_time(self.port, &mut t) };
        if rc != 0 {
            return Err(DpdkError::ret("rte_eth_timesync_read_time", rc));
        }
        Ok(timespec_ns(&t))
    }

    /// The latched receive time, ns (and the latch is freed), or `None` if none is waiting.
    pub fn read_rx_timestamp(&self) -> Option<i128> {
        let mut t = ffi::timespec::default();
        // SAFETY: as above; flags 0 selects the default register (igb/ixgbe ignore it, i40e
        // register 0).
        let rc = unsafe { ffi::rte_eth_timesync_read_rx_timestamp(self.port, &mut t, 0) };
        (rc == 0).then(|| timespec_ns(&t))
    }

    /// The latched transmit time, ns (and the latch is freed), or `None` if none is
    /// waiting (not sent yet, or not latched).
    pub fn read_tx_timestamp(&self) -> Option<i128> {
        let mut t = ffi::timespec::default();
        // SAFETY: as above.
        let rc = unsafe { ffi::rte_eth_timesync_read_tx_timestamp(self.port, &mut t) };
        (rc == 0).then(|| timespec_ns(&t))
    }
}

/// A port shared by its two queue handles.
struct SplitDev(EthDev);

// SAFETY: through `&SplitDev` only the port id and the started flag are read (plain data);
// each queue is polled only through its unique, non-Clone RxQueue / TxQueue via `&mut`.
unsafe impl Sync for SplitDev {}

/// Receive queue 0 of a split port ([`EthDev::split`]); one thread polls it.
pub struct RxQueue {
    dev: Arc<SplitDev>,
}

impl fmt::Debug for RxQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxQueue")
            .field("port", &self.dev.0.port)
            .finish()
    }
}

impl RxQueue {
    /// As [`EthDev::rx_burst`].
    pub fn rx_burst(&mut self, batch: &mut RxBatch) -> usize {
        // SAFETY: this RxQueue is the only handle to RX queue 0 of its port (split consumed
        // the EthDev; RxQueue is not Clone) and `&mut self` serialises its use.
        unsafe { rx_burst(self.dev.0.port, self.dev.0.started, batch) }
    }
}

/// Transmit queue 0 of a split port ([`EthDev::split`]); one thread polls it.
pub struct TxQueue {
    dev: Arc<SplitDev>,
}

impl fmt::Debug for TxQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxQueue")
            .field("port", &self.dev.0.port)
            .finish()
    }
}

impl TxQueue {
    /// As [`EthDev::tx_burst`].
    pub fn tx_burst(&mut self, batch: &mut TxBatch) -> usize {
        // SAFETY: this TxQueue is the only handle to TX queue 0 of its port, and `&mut self`
        // serialises its use.
        unsafe { tx_burst(self.dev.0.port, self.dev.0.started, batch) }
    }
}

impl Drop for EthDev {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(port = self.port, error = %e, "stopping DPDK port");
        }
        // SAFETY: the port is stopped and owned by us; nothing uses it afterwards. Closing
        // releases the mbufs its queues held, after which the pool may go.
        let rc = unsafe { ffi::rte_eth_dev_close(self.port) };
        if rc != 0 && rc != -ENODEV {
            tracing::warn!(port = self.port, error = %DpdkError::ret("rte_eth_dev_close", rc), "closing DPDK port");
        }
        self.pool = None;
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        claimed.retain(|&p| p != self.port);
    }
}

// SAFETY: an EthDev is a port id plus a pool handle; DPDK ports are not bound to a thread,
// and its queues are used only through `&mut self`.
unsafe impl Send for EthDev {}

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

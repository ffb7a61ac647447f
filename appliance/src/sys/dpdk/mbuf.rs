//! Mbuf pools, mbufs and the burst arrays `rte_eth_rx_burst` / `rte_eth_tx_burst` use.

#![warn(clippy::undocumented_unsafe_blocks)]

use std::ffi::{c_int, CString};
use std::fmt;
use std::mem;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use dpdk_sys as ffi;

use super::*;

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

    pub(super) fn raw(&self) -> *mut ffi::rte_mempool {
        self.inner.pool.as_ptr()
    }

    /// Mbufs available (in the pool and per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid while a handle exists.
        unsafe { ffi::rte_mempool_avail_count(self.raw()) }
    }

    /// Mbufs in the pool.
    pub fn size(&self) -> u32 {
        // SAFETY: the pool is valid while a handle exists; `size` is set at creation.
        unsafe { (*self.raw()).size }
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
    pub(super) ptrs: [*mut ffi::rte_mbuf; BURST],
    /// Next to take.
    pub(super) head: usize,
    /// Filled by the last burst.
    pub(super) len: usize,
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
    pub(super) ptrs: [*mut ffi::rte_mbuf; BURST],
    pub(super) len: usize,
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

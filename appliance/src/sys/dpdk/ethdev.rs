//! Ethernet ports: configuration, queues, bursts, link, timesync, and the split RX / TX
//! queue handles of a pipeline.

#![warn(clippy::undocumented_unsafe_blocks)]

use std::ffi::CStr;
use std::fmt;
use std::mem;
use std::ptr;
use std::sync::{Arc, Mutex};

use dpdk_sys as ffi;

use super::*;

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

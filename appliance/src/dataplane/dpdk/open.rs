//! Opening a port: the device, its pool and queues, and whatever NIC time stamping it offers.

use super::*;

impl DpdkPort {
    /// Opens the port after [`eal_init`]: looks the device up by name, creates its mbuf
    /// pool, configures one RX and one TX queue, starts it, enables allmulticast (or
    /// promiscuous mode), probes hardware timesync and the RX timestamp dynfield.
    pub fn open(cfg: &DpdkPortConfig) -> Result<Self, DataplaneError> {
        check_config(cfg)?;
        let device = cfg.device.as_str();
        let eal = Eal::get().ok_or_else(|| DataplaneError::Unsupported {
            interface: device.to_owned(),
            op: "open",
            reason: "DPDK's EAL is not initialised (eal_init first)".into(),
        })?;
        let name = port_name(device);
        let err = |e: DpdkError| dpdk_err(name, e);
        let mut dev = EthDev::open(eal, name).map_err(|e| DataplaneError::Unsupported {
            interface: name.to_owned(),
            op: "open",
            reason: format!(
                "no DPDK port named {name:?} ({e}); {} port(s) probed",
                eal.port_count()
            ),
        })?;
        let info = dev.info().map_err(err)?;
        let seq = POOL_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cache = if cfg.pool_size >= 512 { 32 } else { 0 };
        let pool = Mempool::create(
            eal,
            &format!("mrd_p{}_{seq}", dev.port_id()),
            cfg.pool_size,
            cache,
            dev.socket_id(),
        )
        .map_err(err)?;
        let launch_capable = info.tx_offload_capa & sys::TX_OFFLOAD_SEND_ON_TIMESTAMP != 0;
        let want_launch = cfg.launch_time && launch_capable;
        let tx_offloads = if want_launch {
            sys::TX_OFFLOAD_SEND_ON_TIMESTAMP
        } else {
            0
        };
        // Every frame's own hardware arrival time where the PMD offers it.
        let rx_offloads = info.rx_offload_capa & sys::RX_OFFLOAD_TIMESTAMP;
        dev.configure(rx_offloads, tx_offloads).map_err(err)?;
        let (rxd, txd) = dev
            .setup_queues(&pool, cfg.rx_descriptors, cfg.tx_descriptors)
            .map_err(err)?;
        let mac = dev.mac_address().map_err(err)?;
        dev.start().map_err(err)?;
        if let Err(e) = dev.allmulticast_enable() {
            if let Err(e2) = dev.promiscuous_enable() {
                tracing::warn!(device, allmulticast = %e, promiscuous = %e2,
                    "cannot enable multicast reception; PTP multicast may not arrive");
            }
        }
        let (hw_timesync, hw) = probe_timesync(&mut dev, device);
        let launch = want_launch
            .then(|| probe_launch_time(eal, &dev, device))
            .flatten();
        let rx_offload = (rx_offloads != 0)
            .then(|| probe_rx_offload(eal, &dev, device))
            .flatten();
        let link = dev.link().ok();
        tracing::info!(
            device,
            port = dev.port_id(),
            driver = %info.driver_name,
            mac = %MacAddress(mac),
            rx_descriptors = rxd,
            tx_descriptors = txd,
            hw_timesync,
            rx_timestamp_offload = rx_offload.is_some(),
            send_on_timestamp = launch_capable,
            launch_time_one_step = launch.is_some(),
            link_up = link.map(|l| l.up),
            link_mbps = link.map(|l| l.speed_mbps),
            "DPDK port started"
        );
        Ok(DpdkPort {
            device: device.to_owned(),
            name: name.to_owned(),
            transport: cfg.transport,
            ipv4: cfg.ipv4,
            ipv6: cfg.ipv6,
            dscp: cfg.dscp,
            vlan: cfg.vlan.map(|(vid, pcp)| VlanTag {
                pcp,
                dei: false,
                vid,
            }),
            ipv6_scope: cfg.ipv6_scope,
            mac,
            filter: PortFilter {
                transport: cfg.transport,
                mac,
                ipv4: cfg.ipv4,
                ipv6: cfg.ipv6,
                ipv6_scope: cfg.ipv6_scope,
                vlan: cfg.vlan.map(|(vid, _)| vid),
            },
            hw_timesync,
            hw,
            launch,
            rx_offload,
            ts_field: eal.rx_timestamp_dynfield(),
            rx: RxBatch::new(),
            tx: TxBatch::new(),
            pipeline: None,
            port_id: dev.port_id(),
            dev: Some(dev),
            pool,
            stage_counters: Arc::default(),
            clock: None,
            residence: ResidenceSeries::default(),
            recorders: ResidenceSeries::default().recorders(),
            rounds_since_publish: 0,
            rx_tsc: 0,
            burst_tsc: 0,
            neighbours: Neighbours::new(crate::config::random_key()),
            tx_stamps: VecDeque::with_capacity(TX_STAMP_QUEUE),
            tx_residence: Vec::with_capacity(sys::BURST),
            next_tx_id: 0,
            ip_id: 0,
            counters: DpdkCounters::default(),
        })
    }
}

/// Hardware timesync: whether `rte_eth_timesync_enable` succeeded, and the NIC clock
/// mapped onto the TSC with its register handlers (none: TSC stamps).
fn probe_timesync(dev: &mut EthDev, device: &str) -> (bool, Option<HwStamping>) {
    let enabled = match dev.timesync_probe() {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(device, error = %e, "hardware timesync probe failed");
            false
        }
    };
    let hw = dev.timesync().and_then(|ts| {
        HwStamping::new(ts)
            .map_err(|e| {
                tracing::warn!(device, error = %e,
                    "hardware timesync enabled but its clock cannot be mapped; TSC stamps")
            })
            .ok()
    });
    (enabled && hw.is_some(), hw)
}

/// Launch-time one-step: the device clock mapped onto the TSC (none: the launch time is
/// written from the TSC just before tx_burst).
fn probe_launch_time(eal: Eal, dev: &EthDev, device: &str) -> Option<LaunchTime> {
    LaunchTime::new(eal, dev.device_clock())
        .map_err(|e| {
            tracing::warn!(device, error = %e,
                "the device can send on a timestamp but its clock cannot be mapped; \
                 one-step launch times are written just before tx_burst instead")
        })
        .ok()
}

/// RX timestamp offload: the PMD's dynfield and the device clock mapped onto the TSC
/// (none: TSC stamps on receive).
fn probe_rx_offload(eal: Eal, dev: &EthDev, device: &str) -> Option<RxOffload> {
    let r = match eal.rx_timestamp_dynfield() {
        Some(field) => RxOffload::new(field, dev.device_clock()),
        None => Err("the PMD registered no timestamp dynfield".into()),
    };
    r.map_err(|e| {
        tracing::warn!(device, error = %e,
            "RX timestamp offload enabled but unusable; TSC stamps on receive")
    })
    .ok()
}

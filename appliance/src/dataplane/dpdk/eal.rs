//! EAL start, device names and the checks of a port's configuration.

use super::*;

/// The name DPDK knows the device by: the part of a vdev spec before the first comma.
pub(super) fn port_name(device: &str) -> &str {
    device.split(',').next().unwrap_or("").trim()
}

/// The `net_*` vdevs EAL is asked to create by `args` (`--vdev X` or `--vdev=X`).
pub(super) fn expected_vdevs(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let spec = if a == "--vdev" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("--vdev=")
        };
        if let Some(name) = spec.map(port_name) {
            if name.starts_with("net_") {
                out.push(name.to_owned());
            }
        }
    }
    out
}

pub(super) fn dpdk_err(device: &str, e: DpdkError) -> DataplaneError {
    DataplaneError::Io {
        interface: device.to_owned(),
        op: e.op,
        error: e.io_error(),
    }
}

/// Initialises DPDK's EAL with `args` (EAL options without the program name, e.g.
/// `["--no-huge", "--no-pci", "-l", "0", "--vdev", "net_pcap0,rx_pcap=in.pcap"]`). Once per
/// process; a second call is an error. EAL pins the calling thread to the first lcore's CPU.
///
/// A vdev that fails to probe does not fail `rte_eal_init`, so afterwards every `net_*`
/// vdev named in `args` must exist as a port, or this fails naming it.
pub fn eal_init(args: &[String]) -> Result<(), DataplaneError> {
    let eal = Eal::init(args).map_err(|e| dpdk_err("EAL", e))?;
    for name in expected_vdevs(args) {
        if eal.port_by_name(&name).is_err() {
            return Err(DataplaneError::Unsupported {
                interface: name,
                op: "EAL device probe",
                reason: format!(
                    "the vdev did not probe (see the EAL log); {} DPDK port(s) available",
                    eal.port_count()
                ),
            });
        }
    }
    Ok(())
}

/// The TSC now (RDTSC). Needs no EAL.
pub fn rdtsc() -> u64 {
    sys::rdtsc()
}

/// EAL's estimate of the TSC rate in Hz (`None` before [`eal_init`]). Rounded on VMs:
/// calibrate rather than trust it.
pub fn tsc_hz() -> Option<u64> {
    sys::tsc_hz()
}

/// Registers the calling thread with EAL (for pipeline stage threads): it gets an lcore id
/// and per-lcore mempool caches. Returns the lcore id.
pub fn register_thread() -> Result<u32, DataplaneError> {
    let eal = Eal::get().ok_or_else(|| DataplaneError::Unsupported {
        interface: String::new(),
        op: "register_thread",
        reason: "DPDK's EAL is not initialised".into(),
    })?;
    sys::register_thread(eal).map_err(|e| dpdk_err("EAL", e))
}

pub(super) fn check_config(cfg: &DpdkPortConfig) -> Result<(), DataplaneError> {
    let bad = |reason: String| {
        Err(DataplaneError::InvalidConfig {
            interface: cfg.device.clone(),
            reason,
        })
    };
    if port_name(&cfg.device).is_empty() || cfg.device.contains('\0') {
        return bad(format!("invalid DPDK device {:?}", cfg.device));
    }
    if let Err(reason) =
        super::super::check_framing(cfg.transport, cfg.dscp, cfg.vlan, cfg.ipv6_scope)
    {
        return bad(reason);
    }
    match cfg.transport {
        Transport::UdpIpv4 if cfg.ipv4.is_none() => {
            return bad("UDP/IPv4 over DPDK needs the port's IPv4 address".into())
        }
        Transport::UdpIpv6 if cfg.ipv6.is_none() => {
            return bad("UDP/IPv6 over DPDK needs the port's IPv6 address".into())
        }
        _ => {}
    }
    if let Some(a) = cfg.ipv4 {
        if a == [0; 4] || (224..=255).contains(&a[0]) {
            return bad(format!(
                "{}.{}.{}.{} is not a unicast IPv4 address",
                a[0], a[1], a[2], a[3]
            ));
        }
    }
    if let Some(a) = cfg.ipv6 {
        if a == [0; 16] || a[0] == 0xff {
            return bad("the IPv6 address is not a unicast address".into());
        }
    }
    if cfg.rx_descriptors == 0 || cfg.tx_descriptors == 0 {
        return bad("rx-descriptors and tx-descriptors must be at least 1".into());
    }
    let need =
        u32::from(cfg.rx_descriptors) + u32::from(cfg.tx_descriptors) + 2 * sys::BURST as u32;
    if cfg.pool_size < need {
        return bad(format!(
            "mbuf pool of {} is too small for {} RX + {} TX descriptors (at least {need})",
            cfg.pool_size, cfg.rx_descriptors, cfg.tx_descriptors
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: Transport) -> DpdkPortConfig {
        DpdkPortConfig {
            device: "net_pcap0,rx_pcap=a.pcap".into(),
            transport: t,
            ipv4: Some([10, 0, 0, 1]),
            ipv6: Some([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            dscp: 46,
            vlan: None,
            ipv6_scope: 2,
            pdelay: false,
            rx_descriptors: 256,
            tx_descriptors: 256,
            pool_size: 1023,
            launch_time: false,
        }
    }

    #[test]
    fn config_checks_name_the_device() {
        assert!(check_config(&cfg(Transport::UdpIpv4)).is_ok());
        let mut c = cfg(Transport::UdpIpv4);
        c.ipv4 = None;
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.starts_with("net_pcap0,rx_pcap=a.pcap: UDP/IPv4"), "{e}");
        let mut c = cfg(Transport::L2);
        c.pool_size = 100;
        assert!(check_config(&c)
            .unwrap_err()
            .to_string()
            .contains("too small"));
        let mut c = cfg(Transport::L2);
        c.vlan = Some((4095, 0));
        assert!(check_config(&c).is_err());
        c.vlan = Some((100, 7));
        assert!(check_config(&c).is_ok());
        c.device = ",x".into();
        assert!(check_config(&c).is_err());
        let mut c = cfg(Transport::UdpIpv6);
        c.ipv6_scope = 0xf;
        assert!(check_config(&c).is_err());
        let mut c = cfg(Transport::UdpIpv4);
        c.ipv4 = Some([224, 0, 1, 129]);
        assert!(check_config(&c).is_err());
    }

    #[test]
    fn vdev_names() {
        assert_eq!(port_name("net_af_packet0,iface=veth0"), "net_af_packet0");
        assert_eq!(port_name("0000:01:00.0"), "0000:01:00.0");
        let args: Vec<String> = [
            "--no-huge",
            "--vdev",
            "net_null0",
            "--vdev=net_ring0,x=1",
            "--vdev",
            "crypto_null",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(expected_vdevs(&args), ["net_null0", "net_ring0"]);
        assert!(expected_vdevs(&["--vdev".to_string()]).is_empty());
    }
}

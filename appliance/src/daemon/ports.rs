//! Opening the configured ports of either backend, and the time base they need.

use anyhow::{bail, Context as _};
use tracing::info;
#[cfg(feature = "dpdk")]
use tracing::warn;

use crate::clock::timebase::BaseKind;
use crate::config::Config;
use crate::dataplane::{PtpPort, SocketPort, SocketPortConfig, StampSource};

/// Whether port `i` uses peer delay (and so must also join the peer-delay group).
fn p2p(cfg: &Config, i: usize) -> bool {
    cfg.delay_mechanisms().get(i) == Some(&meridian_proto::engine::DelayMechanism::P2P)
}

/// Opens every configured port on Linux sockets; says which time base their stamps need
/// (one PHC for all, or the system clock).
pub fn open_socket_ports(cfg: &Config) -> anyhow::Result<(Vec<SocketPort>, BaseKind)> {
    let mut ports = Vec::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        let sp = SocketPortConfig {
            interface: p.interface.clone(),
            transport: p.transport.transport(),
            timestamping: cfg.timestamping.mode.mode(),
            dscp: p.dscp,
            vlan: p.vlan.map(|v| (v, p.vlan_priority)),
            ipv6_scope: p.ipv6_scope,
            multicast: true,
            v1_groups: if p.ptpv1 {
                let mut g: Vec<u8> = p
                    .ptpv1_subdomains
                    .iter()
                    .map(|n| meridian_proto::wire::v1::Subdomain::named(n.as_bytes()).group_index())
                    .collect();
                g.sort_unstable();
                g.dedup();
                g
            } else {
                Vec::new()
            },
            pdelay: p2p(cfg, i),
            reply_stamps: cfg.timestamping.reply_stamps,
            unresolved_queue_bytes: cfg.dataplane.unresolved_queue_bytes,
        };
        let port =
            SocketPort::open(&sp).with_context(|| format!("port {} ({})", i + 1, p.interface))?;
        info!(
            port = i + 1,
            interface = %p.interface,
            transport = p.transport.as_str(),
            timestamping = %port.timestamping(),
            "port open"
        );
        ports.push(port);
    }
    warn_neighbour_table(cfg);
    // One time base for every port.
    let sources: Vec<StampSource> = ports.iter().map(SocketPort::stamp_source).collect();
    let base = match sources.first() {
        Some(StampSource::Hardware { phc_index }) => {
            if sources.iter().any(|s| {
                *s != StampSource::Hardware {
                    phc_index: *phc_index,
                }
            }) {
                bail!(
                    "ports stamp with different clocks ({sources:?}); until PHC synchronisation \
                     exists, use one NIC or `[timestamping] mode = \"software\"`"
                );
            }
            BaseKind::Phc(*phc_index)
        }
        _ => {
            if sources
                .iter()
                .any(|s| matches!(s, StampSource::Hardware { .. }))
            {
                bail!("ports mix hardware and software timestamps; set `[timestamping] mode`");
            }
            BaseKind::System
        }
    };
    Ok((ports, base))
}

/// Initialises EAL (pinning this thread to the engine core) and opens every configured
/// port on DPDK.
#[cfg(feature = "dpdk")]
pub fn open_dpdk_ports(cfg: &Config) -> anyhow::Result<Vec<crate::dataplane::dpdk::DpdkPort>> {
    use crate::dataplane::dpdk::{eal_init, DpdkPort, DpdkPortConfig};
    if let Some(core) = cfg.dataplane.lcore {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
            warn!(core, "could not pin the engine loop to its core");
        }
    }
    let args = super::eal::eal_args(cfg);
    super::eal::clean_eal_runtime_dirs(false);
    info!(args = ?args, "initialising DPDK EAL");
    eal_init(&args).context("DPDK EAL")?;
    let mut ports = Vec::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        let device = p.dpdk_device.clone().unwrap_or_default();
        let dc = DpdkPortConfig {
            device: device.clone(),
            transport: p.transport.transport(),
            ipv4: match p.address {
                Some(std::net::IpAddr::V4(a)) => Some(a.octets()),
                _ => None,
            },
            ipv6: match p.address {
                Some(std::net::IpAddr::V6(a)) => Some(a.octets()),
                _ => None,
            },
            dscp: p.dscp,
            vlan: p.vlan.map(|v| (v, p.vlan_priority)),
            ipv6_scope: p.ipv6_scope,
            pdelay: p2p(cfg, i),
            rx_descriptors: cfg.dataplane.rx_descriptors,
            tx_descriptors: cfg.dataplane.tx_descriptors,
            pool_size: cfg.dataplane.mbufs,
            launch_time: p.one_step,
        };
        let port = DpdkPort::open(&dc).with_context(|| format!("port {} ({device})", i + 1))?;
        info!(port = i + 1, device = %device, hardware_timesync = port.hardware_timesync(), "DPDK port open");
        ports.push(port);
    }
    Ok(ports)
}

/// Unicast slaves over sockets each take a kernel neighbour (ARP/NDP) entry, and the kernel's
/// table is one for the whole host (every namespace), capped at `gc_thresh3` (1024 by
/// default). Beyond it, new entries fail ("neighbor table overflow"): new slaves cannot be
/// reached, and forged REQUESTs from many addresses can fill it. Warns when a port may grant
/// more slaves than a quarter of the cap allows.
fn warn_neighbour_table(cfg: &Config) {
    for w in neighbour_table_warnings(cfg) {
        tracing::warn!("{w}");
    }
}

/// What is wrong with this host's neighbour tables for `cfg`'s unicast ports: one line per
/// address family whose `gc_thresh3` is less than four times the slaves the ports may hold
/// (`meridian check-config` prints them; the daemon logs them at start).
pub fn neighbour_table_warnings(cfg: &Config) -> Vec<String> {
    let Ok(e) = cfg.engine_config(&cfg.placeholder_facts()) else {
        return Vec::new();
    };
    let most = e
        .ports
        .iter()
        .filter(|p| p.unicast)
        .map(|p| p.unicast_limits.max_slaves)
        .sum::<u32>();
    if most == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for family in ["ipv4", "ipv6"] {
        let path = format!("/proc/sys/net/{family}/neigh/default/gc_thresh3");
        let Some(cap) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        else {
            continue;
        };
        if most > cap / 4 {
            out.push(format!(
                "the kernel's {family} neighbour table ({path} = {cap}) is small for {most} \
                 unicast slaves: when it overflows, slaves cannot be reached and forged \
                 negotiation can fill it; raise gc_thresh1/2/3 (the Ansible role does) or \
                 lower max-slaves"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port that may hold more slaves than any default neighbour table: one line per
    /// family this host has a table for, naming the file and the numbers; none without
    /// unicast.
    #[test]
    fn neighbour_table_warnings_name_the_table() {
        let big = Config::parse(
            "[[port]]\ninterface = \"e\"\nunicast = true\n[port.unicast-limits]\n\
             max-slaves = 1000000\n",
        )
        .unwrap();
        let w = neighbour_table_warnings(&big);
        if std::path::Path::new("/proc/sys/net/ipv4/neigh/default/gc_thresh3").exists() {
            assert!(!w.is_empty());
            assert!(
                w[0].contains("gc_thresh3") && w[0].contains("1000000"),
                "{w:?}"
            );
        }
        let multicast = Config::parse("[[port]]\ninterface = \"e\"\n").unwrap();
        assert!(neighbour_table_warnings(&multicast).is_empty());
    }
}

//! Meridian's DPDK data plane against a real ptp4l slave: the `net_af_packet` and `net_af_xdp`
//! PMDs on the grandmaster's end of a veth pair in a namespace, the poll loop stamping with the
//! calibrated TSC clock, a free-running ptp4l slave (software stamps) on the other end.
//!
//! Needs DPDK 22.11 (`bash scripts/setup.sh`) and root; builds the daemon with `--features dpdk`
//! into `target/dpdk`.
//!
//! Bounds are looser than for the socket backend (|median| < 30 µs and 90 % of samples within
//! 50 µs, instead of |mean| < 5 µs and max < 50 µs): the af_packet PMD is a kernel packet socket underneath, and the TSC is read in user
//! space after rx_burst / before tx_burst, so the RX stamps include the packet socket's receive
//! latency (tens of µs on this VM) and TX stamps do not. ptp4l then sees a path delay of
//! ≈17–19 µs instead of ≈2 µs and an offset biased by about half the RX latency (measured
//! between +2 and −19 µs from run to run). This test proves the DPDK path end to end with a real
//! slave; precision needs a NIC PMD with hardware timesync or RX timestamp offload.

use std::time::Duration;

use meridian_interop::{
    collect_offsets, meridian_dpdk_binary, parse_offsets, Lab, MeridianConfig, MessageType,
    OffsetStats, Transport, PTP4L_SKIP,
};

const SAMPLES: usize = 30;

fn dpdk_two_step(test: &str, vdev: &str, transport: Transport) {
    if std::env::var_os("MERIDIAN_SKIP_DPDK").is_some() {
        println!("SKIPPED: MERIDIAN_SKIP_DPDK is set");
        return;
    }
    let Some(lab) = Lab::pair(test) else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    // Captured on the slave's side: the af_packet PMD transmits with PACKET_QDISC_BYPASS,
    // which skips the taps tcpdump reads on the grandmaster's own interface.
    let mut cap = lab.capture(sl);
    let device = format!("{vdev}0,iface={}", gm.iface);
    let cfg = MeridianConfig::new(gm, transport)
        .set("dataplane", "backend", "\"dpdk\"")
        .set(
            "dataplane",
            "eal-args",
            "[\"--no-huge\", \"--no-pci\", \"--no-shconf\", \"-m\", \"256\"]",
        )
        .set("dataplane", "lcore", "0")
        .port("dpdk-device", &format!("\"{device}\""))
        .port("address", &format!("\"{}\"", gm.ip));
    let mut m = lab.meridian_with(meridian_dpdk_binary(), gm, &cfg.to_toml());
    let mut slave = lab.ptp4l_slave(sl, transport, "");
    let status = m.wait_port_state(1, "MASTER", Duration::from_secs(20));
    assert_eq!(
        status["ports"][0]["timestamping"].as_str(),
        Some("TSC (DPDK poll loop)"),
        "{status}"
    );
    slave.wait_for_text(
        &format!("selected best master clock {}", gm.eui64_identity()),
        Duration::from_secs(20),
    );
    let samples = collect_offsets(
        &mut slave,
        parse_offsets,
        PTP4L_SKIP,
        SAMPLES,
        Duration::from_secs(SAMPLES as u64 + 25),
    );
    let stats = OffsetStats::of(&samples);
    println!("Meridian (DPDK {vdev}, TSC stamps) → ptp4l, {transport:?}: {stats}");
    drop(slave);
    m.stop_gracefully();
    let report = cap.check_tshark();
    let counts = report.counts(&gm.mac);
    println!("Meridian sent {counts:?}");
    for t in [
        MessageType::Announce,
        MessageType::Sync,
        MessageType::FollowUp,
        MessageType::DelayResp,
    ] {
        assert!(counts.get(&t).copied().unwrap_or(0) > 0, "no {t:?} sent");
    }
    report.assert_announces_ptp_timescale(&gm.mac, 37);
    // The poll loop busy-spins one of this VM's two cores, so ptp4l, tcpdump and the test share
    // the other: rare scheduling outliers of ~100 µs happen. Judge the bulk: the median and
    // the 90th percentile, not the single worst sample.
    let mut abs: Vec<i64> = samples.iter().map(|s| s.0.abs()).collect();
    abs.sort_unstable();
    let mut offs: Vec<i64> = samples.iter().map(|s| s.0).collect();
    offs.sort_unstable();
    let median = offs[offs.len() / 2];
    let p90 = abs[abs.len() * 9 / 10];
    println!("median {median} ns, p90 |offset| {p90} ns");
    assert!(
        median.abs() < 30_000,
        "|median| ≥ 30 µs: {median} ns; {stats}"
    );
    assert!(p90 < 50_000, "p90 |offset| ≥ 50 µs: {p90} ns; {stats}");
}

/// DPDK `net_af_packet` PMD, UDPv4 multicast two-step.
#[test]
fn dpdk_af_packet_udp4_ptp4l_slave() {
    dpdk_two_step("dpdk_af_packet_udp4", "net_af_packet", Transport::UdpV4);
}

/// DPDK `net_af_packet` PMD, L2 multicast two-step.
#[test]
fn dpdk_af_packet_l2_ptp4l_slave() {
    dpdk_two_step("dpdk_af_packet_l2", "net_af_packet", Transport::L2);
}

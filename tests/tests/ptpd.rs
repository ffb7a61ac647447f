//! Meridian as grandmaster for a ptpd 2.3 slave (the PTP stack inside many cameras), UDPv4
//! multicast two-step E2E, with ptpd never adjusting the clock (`clock:no_adjust`).
//!
//! ptpd prints one statistics line per Sync (8/s here), so 60 samples take ~8 s. Bounds as for
//! ptp4l: |mean| < 5 µs, max |offset| < 50 µs after dropping the first [`PTPD_SKIP`]. ptpd's
//! reported offset passes through its own filters; its baseline against a ptp4l GM over a veth
//! pair is a stddev of ~0.3 µs (lab-facts).

use std::time::Duration;

use meridian_interop::{
    collect_offsets, parse_ptpd_offsets, Lab, MeridianConfig, MessageType, OffsetStats, Transport,
    PTPD_SKIP,
};

/// Test 4: ptpd slave over UDPv4 multicast reports offsets within bounds.
#[test]
fn ptpd_slave_udp4_multicast() {
    let Some(lab) = Lab::pair("ptpd_udp4") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let mut m = lab.meridian(gm, &MeridianConfig::new(gm, Transport::UdpV4).to_toml());
    let mut ptpd = lab.ptpd_slave(sl, Transport::UdpV4, "");
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    // ptpd prints the identity without dots: 026d69fffe000001.
    let id = gm.eui64_identity().replace('.', "");
    ptpd.wait_for_text(
        &format!("New best master selected: {id}"),
        Duration::from_secs(20),
    );
    let samples = collect_offsets(
        &mut ptpd,
        parse_ptpd_offsets,
        PTPD_SKIP,
        60,
        Duration::from_secs(30),
    );
    let stats = OffsetStats::of(&samples);
    println!("Meridian → ptpd, UDPv4 multicast two-step: {stats}");
    drop(ptpd);
    m.stop_gracefully();

    let report = cap.check_tshark();
    println!("Meridian sent {:?}", report.counts(&gm.mac));
    assert!(report.of(&gm.mac, MessageType::DelayResp).count() > 0);
    report.assert_announces_ptp_timescale(&gm.mac, 37);
    assert!(stats.mean_ns.abs() < 5_000.0, "|mean| ≥ 5 µs: {stats}");
    assert!(stats.max_abs_ns < 50_000, "max |offset| ≥ 50 µs: {stats}");
}

//! Meridian as grandmaster for linuxptp `ptp4l` slaves (free-running, software timestamps):
//! multicast two-step over UDPv4 and L2, multicast one-step, and unicast negotiation. Every frame
//! is captured on Meridian's interface and must decode cleanly in tshark.
//!
//! Bounds (two-step): |mean offset| < 5 µs and max |offset| < 50 µs over 30 samples, after
//! dropping the first [`PTP4L_SKIP`]. The baseline on this kind of VM (ptp4l GM → ptp4l slave,
//! veth pair, `harness.rs`) is a mean of a few hundred ns and a stddev of ~0.3–0.6 µs; software
//! stamps on a shared, noisy 2-core VM see occasional tens-of-µs scheduling outliers, hence the
//! max bound.

use std::time::Duration;

use meridian_interop::{
    check_metrics_grow, collect_offsets, parse_offsets, ptp4l_unicast_client_cfg, scrape, Lab,
    Meridian, MeridianConfig, MessageType, Node, OffsetStats, Proc, Transport, PTP4L_SKIP,
};

/// Offset samples per test (one per second from a free-running ptp4l, see `PTP4L_SKIP`).
const SAMPLES: usize = 30;

/// Starts Meridian on `gm` and a ptp4l slave on `sl`, waits until Meridian is MASTER and the
/// slave has selected it, and returns both.
fn start(
    lab: &Lab,
    gm: &Node,
    sl: &Node,
    config: &MeridianConfig,
    transport: Transport,
    slave_cfg: &str,
) -> (Meridian, Proc) {
    let mut m = lab.meridian(gm, &config.to_toml());
    let mut slave = lab.ptp4l_slave(sl, transport, slave_cfg);
    let status = m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    assert_eq!(
        status["clock"]["identity"].as_str(),
        Some(gm.eui64_identity().as_str()),
        "identity = \"auto\" must be the EUI-64 of the port's MAC; status {status}"
    );
    slave.wait_for_text(
        &format!("selected best master clock {}", gm.eui64_identity()),
        Duration::from_secs(20),
    );
    (m, slave)
}

/// The slave's offsets, with the checks every run shares: enough samples, and ptp4l sees the PTP
/// timescale announced (it warns "foreign master not using PTP timescale" otherwise).
fn offsets(slave: &mut Proc) -> OffsetStats {
    offsets_after(slave, PTP4L_SKIP)
}

/// As [`offsets`], for the `SAMPLES` after the first `skip`.
fn offsets_after(slave: &mut Proc, skip: usize) -> OffsetStats {
    let samples = collect_offsets(
        slave,
        parse_offsets,
        skip,
        SAMPLES,
        Duration::from_secs(SAMPLES as u64 + 25),
    );
    assert!(
        !slave.output().contains("not using PTP timescale"),
        "ptp4l: Meridian does not announce the PTP timescale"
    );
    OffsetStats::of(&samples)
}

fn within_two_step_bounds(stats: &OffsetStats) -> bool {
    stats.mean_ns.abs() < 5_000.0 && stats.max_abs_ns < 50_000
}

fn assert_two_step_bounds(stats: &OffsetStats) {
    assert!(stats.mean_ns.abs() < 5_000.0, "|mean| ≥ 5 µs: {stats}");
    assert!(stats.max_abs_ns < 50_000, "max |offset| ≥ 50 µs: {stats}");
}

fn multicast_two_step(test: &str, transport: Transport) {
    let Some(lab) = Lab::pair(test) else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let (mut m, mut slave) = start(
        &lab,
        gm,
        sl,
        &MeridianConfig::new(gm, transport),
        transport,
        "",
    );
    let first = scrape(&lab, gm, 9473);
    let mut stats = offsets(&mut slave);
    println!("Meridian → ptp4l, {transport:?} multicast two-step: {stats}");
    if !within_two_step_bounds(&stats) {
        // Software stamps on a shared 2-vCPU VM with other labs running: one preempted
        // sample can cross the bound. Measure the next window once before failing (the
        // method the DPDK offset tests use).
        stats = offsets_after(&mut slave, PTP4L_SKIP + SAMPLES);
        println!("measured once more: {stats}");
    }
    // Residence times from kernel stamps: Delay_Req RX → Delay_Resp TX (reply-stamps).
    check_metrics_grow(&first, &scrape(&lab, gm, 9473), SAMPLES);
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
    assert!(
        report
            .of(&gm.mac, MessageType::Sync)
            .all(|f| f.two_step == Some(true)),
        "a two-step Sync without twoStepFlag"
    );
    report.assert_announces_ptp_timescale(&gm.mac, 37);
    assert_two_step_bounds(&stats);
}

/// Test 1 (UDPv4): multicast two-step E2E toward a ptp4l slave.
#[test]
fn ptp4l_slave_udp4_multicast_two_step() {
    multicast_two_step("ptp4l_udp4_two_step", Transport::UdpV4);
}

/// Test 1 (L2): multicast two-step E2E toward a ptp4l slave over Ethernet.
#[test]
fn ptp4l_slave_l2_multicast_two_step() {
    multicast_two_step("ptp4l_l2_two_step", Transport::L2);
}

/// Test 2: one-step Sync toward a ptp4l slave (which accepts one-step from a master even with
/// software stamps of its own).
///
/// Bound |mean| < 200 µs only, and the figures are printed: with software stamps Meridian writes
/// the time read just before `send()` into originTimestamp, so every Sync claims to have left
/// microseconds before it did (lab-facts: that method measured 7–86 µs early, mean +26 µs,
/// stddev 34 µs). One-step is only accurate with hardware insertion or launch-time transmission.
#[test]
fn ptp4l_slave_udp4_one_step() {
    let Some(lab) = Lab::pair("ptp4l_udp4_one_step") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let config = MeridianConfig::new(gm, Transport::UdpV4).port("one-step", "true");
    let (mut m, mut slave) = start(&lab, gm, sl, &config, Transport::UdpV4, "");
    let stats = offsets(&mut slave);
    println!("Meridian → ptp4l, UDPv4 multicast ONE-step (software stamps): {stats}");
    drop(slave);
    m.stop_gracefully();

    let report = cap.check_tshark();
    let counts = report.counts(&gm.mac);
    println!("Meridian sent {counts:?}");
    assert!(counts.get(&MessageType::Sync).copied().unwrap_or(0) > 0);
    assert_eq!(
        counts.get(&MessageType::FollowUp),
        None,
        "Follow_Up sent in one-step mode"
    );
    assert!(
        report
            .of(&gm.mac, MessageType::Sync)
            .all(|f| f.two_step == Some(false)),
        "a one-step Sync with twoStepFlag set"
    );
    report.assert_announces_ptp_timescale(&gm.mac, 37);
    assert!(stats.mean_ns.abs() < 200_000.0, "|mean| ≥ 200 µs: {stats}");
}

/// `[metrics] per-slave`: the status report lists the one client with its identity and
/// address, the grants it asked for (Announce 2^0 s, Sync and Delay_Resp 2^-3 s, 20 s each,
/// renewed), and the messages sent to it over the ~35 s it has been served.
fn check_listed_slave(port: &serde_json::Value, client: &Node) {
    let granted = &port["unicast_granted"];
    for (t, n) in [
        ("announce", 1),
        ("sync", 1),
        ("delay_resp", 1),
        ("pdelay_resp", 0),
    ] {
        assert_eq!(granted[t].as_u64(), Some(n), "{t}: {granted}");
    }
    let slaves = port["slaves"].as_array().expect("listed slaves");
    assert_eq!(slaves.len(), 1, "{port}");
    assert_eq!(port["slaves_unlisted"].as_u64(), Some(0), "{port}");
    let s = &slaves[0];
    println!("listed slave: {s}");
    assert_eq!(s["address"].as_str(), Some(client.ip.to_string().as_str()));
    assert_eq!(
        s["identity"].as_str(),
        Some(format!("{}-1", client.eui64_identity()).as_str())
    );
    for (t, log) in [("announce", 0), ("sync", -3), ("delay_resp", -3)] {
        let g = &s["grants"][t];
        assert_eq!(g["log_interval"].as_i64(), Some(log), "{t}: {s}");
        let left = g["remaining_s"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=20.0).contains(&left), "{t}: {s}");
    }
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    // 8 Syncs a second for ~30 s; a Delay_Resp for each Delay_Req (ptp4l sends about one a
    // second or faster); a renewal of each grant at least once.
    assert!(n("syncs") >= 8 * 25, "{s}");
    assert!(n("announces") >= 10, "{s}");
    assert!(n("delay_resps") >= 15, "{s}");
    assert!(n("grants_given") >= 4, "{s}");
}

/// Test 3: a ptp4l unicast client (unicast_master_table) against Meridian with `unicast = true`
/// and `multicast = false`: Meridian grants (GRANT TLVs with a non-zero duration on the wire),
/// serves everything unicast to the client, and the client's offsets meet the two-step bounds.
///
/// The requested duration is 20 s, so within the ~35 s run the client renews its grants once
/// (ptp4l renews at ~0.8 × duration).
#[test]
fn ptp4l_unicast_client_udp4() {
    let Some(lab) = Lab::pair("ptp4l_unicast") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let config = MeridianConfig::new(gm, Transport::UdpV4)
        .port("unicast", "true")
        .port("multicast", "false")
        .set("metrics", "per-slave", "true");
    let client = ptp4l_unicast_client_cfg(gm, sl, 20);
    let (mut m, mut slave) = start(&lab, gm, sl, &config, Transport::UdpV4, &client);
    let stats = offsets(&mut slave);
    println!("Meridian → ptp4l unicast client, UDPv4: {stats}");
    let status = m.status().expect("status");
    println!(
        "status port 1 while the client runs: {}",
        status["ports"][0]
    );
    assert_eq!(
        status["ports"][0]["unicast_slaves"].as_u64(),
        Some(1),
        "status should count one unicast slave: {status}"
    );
    check_listed_slave(&status["ports"][0], sl);
    let text = scrape(&lab, gm, 9473);
    let series = format!(
        "meridian_slave_messages_sent_total{{address=\"{}\",port=\"1\",slave=\"{}-1\",type=\"sync\"}} ",
        sl.ip,
        sl.eui64_identity()
    );
    assert!(text.contains(&series), "no {series:?} in /metrics:\n{text}");
    assert!(
        text.contains("meridian_unicast_slaves_granted{port=\"1\",type=\"delay_resp\"} 1"),
        "{text}"
    );
    drop(slave);
    m.stop_gracefully();

    let report = cap.check_tshark();
    let counts = report.counts(&gm.mac);
    println!("Meridian sent {counts:?}");
    let grants: Vec<(u64, Vec<u16>, Vec<u32>)> = report
        .of(&gm.mac, MessageType::Signaling)
        .filter(|f| f.sig_tlv_types.contains(&5))
        .map(|f| (f.number, f.sig_tlv_types.clone(), f.sig_durations.clone()))
        .collect();
    println!("GRANT signaling frames (number, tlv types, durations): {grants:?}");
    assert!(
        !grants.is_empty(),
        "no GRANT_UNICAST_TRANSMISSION on the wire"
    );
    assert!(
        grants.iter().all(|(_, _, d)| d.iter().all(|&d| d > 0)),
        "a GRANT with duration 0 (a denial) in {grants:?}"
    );
    for t in [
        MessageType::Announce,
        MessageType::Sync,
        MessageType::FollowUp,
        MessageType::DelayResp,
    ] {
        assert!(counts.get(&t).copied().unwrap_or(0) > 0, "no unicast {t:?}");
    }
    let client_ip = sl.ip.to_string();
    for f in report.from_mac(&gm.mac) {
        assert_eq!(
            f.ip_dst.as_deref(),
            Some(client_ip.as_str()),
            "frame {} ({:?}) not unicast to the client with multicast = false",
            f.number,
            f.message_type()
        );
        // 1588-2019 Table 37: unicastFlag is TRUE when sent to a unicast address.
        assert_eq!(
            f.unicast,
            Some(true),
            "frame {} ({:?}) sent unicast without unicastFlag",
            f.number,
            f.message_type()
        );
    }
    report.assert_announces_ptp_timescale(&gm.mac, 37);
    assert_two_step_bounds(&stats);
}

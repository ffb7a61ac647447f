//! PTPv1 (IEEE 1588-2002) beside v2 (issue 14): one Meridian with `ptpv1 = true` serves a
//! real v1 slave — the PADL fork of linuxptp (`network_transport PTPv1_UDPv4`, unpatched,
//! built from `tests/tools/linuxptp-v1/`) — and a v2 ptp4l slave at the same time, on one
//! segment, from one clock. Both free-running slaves measure their offsets; the v1 one within
//! the v2 bounds, and the two agree (same system clock underneath, so their means must too).

use std::time::Duration;

use meridian_interop::{
    collect_offsets, parse_offsets, Lab, MeridianConfig, OffsetStats, Transport, PTP4L_SKIP,
};

#[test]
fn v1_and_v2_slaves_at_once() {
    // Build first (≈ 40 s the first time), outside the lab's process lifetimes.
    meridian_interop::padl_ptp4l();
    let Some(lab) = Lab::bridged("ptpv1", 3) else {
        return;
    };
    let (gm, v1_node, v2_node) = (lab.node(0), lab.node(1), lab.node(2));
    let cfg = MeridianConfig::new(gm, Transport::UdpV4)
        .port("ptpv1", "true")
        .port("ptpv1-log-sync-interval", "0");
    let mut capture = lab.capture(gm);
    let mut m = lab.meridian(gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut v1 = lab.ptp4l_v1_slave(v1_node);
    let v2 = lab.ptp4l_slave(v2_node, Transport::UdpV4, "");
    let n = 30;
    // Software stamps on two shared vCPUs through a bridge: the means carry the lab's own
    // asymmetry (seen up to −14 µs on an idle CI machine, path delay 18 µs), so they are
    // bounded at 25 µs, every sample at 50 µs as in the v2 tests, and the two slaves must
    // agree within 20 µs (seen: 2–8 µs apart). On a miss the window is measured once more,
    // as the offset tests do.
    let measure = |v1: &mut meridian_interop::Proc, skip: usize| {
        let v1_samples = collect_offsets(v1, parse_offsets, skip, n, Duration::from_secs(90));
        let all = parse_offsets(&v2.stdout());
        let from = all.len().saturating_sub(n).max(PTP4L_SKIP.min(all.len()));
        (OffsetStats::of(&v1_samples), OffsetStats::of(&all[from..]))
    };
    let within = |s1: &OffsetStats, s2: &OffsetStats| {
        s1.mean_ns.abs() < 25_000.0
            && s1.max_abs_ns < 50_000
            && s2.mean_ns.abs() < 25_000.0
            && (s1.mean_ns - s2.mean_ns).abs() < 20_000.0
    };
    let (mut s1, mut s2) = measure(&mut v1, PTP4L_SKIP);
    println!("v1 slave (PADL ptp4l): {s1}");
    println!("v2 slave (ptp4l):      {s2}");
    if !within(&s1, &s2) {
        (s1, s2) = measure(&mut v1, PTP4L_SKIP + n);
        println!("measured again after a miss:");
        println!("v1 slave (PADL ptp4l): {s1}");
        println!("v2 slave (ptp4l):      {s2}");
    }
    let status = m.status().expect("status");
    println!(
        "meridian: v1 messages sent {}, received {}",
        status["stats"]["tx_v1"], status["stats"]["rx_v1"]
    );
    // Syncs and Follow_Ups a second for 30+ s, and the slave's Delay_Reqs answered.
    assert!(
        status["stats"]["tx_v1"].as_u64().unwrap_or(0) >= 60,
        "{status}"
    );
    assert!(
        status["stats"]["rx_v1"].as_u64().unwrap_or(0) >= 10,
        "{status}"
    );
    assert!(s1.mean_ns.abs() < 25_000.0, "v1 |mean| ≥ 25 µs: {s1}");
    assert!(s1.max_abs_ns < 50_000, "v1 max |offset| ≥ 50 µs: {s1}");
    assert!(s2.mean_ns.abs() < 25_000.0, "v2 |mean| ≥ 25 µs: {s2}");
    assert!(
        (s1.mean_ns - s2.mean_ns).abs() < 20_000.0,
        "the v1 and v2 slaves disagree: {s1} vs {s2}"
    );
    v1.stop();
    m.stop_gracefully();
    capture.stop();
    // Meridian's v1 frames, as Wireshark's PTPv1 dissector reads them: no malformed frame,
    // no expert warning; Syncs, Follow_Ups and Delay_Resps all there.
    let tshark = |filter: &str, field: &str| -> String {
        let out = std::process::Command::new("tshark")
            .arg("-r")
            .arg(capture.file())
            .args(["-Y", filter, "-T", "fields", "-e", field])
            .output()
            .expect("tshark");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let problems = tshark(
        "ptp && (_ws.malformed || _ws.expert.severity >= warning)",
        "_ws.col.Info",
    );
    assert!(problems.trim().is_empty(), "tshark flags:\n{problems}");
    let controls = tshark(
        &format!("ip.src == {} && ptp.versionptp == 1", gm.ip),
        "ptp.controlfield",
    );
    for (c, what) in [("0", "Sync"), ("2", "Follow_Up"), ("3", "Delay_Resp")] {
        let n = controls.lines().filter(|l| l.trim() == c).count();
        assert!(n >= 10, "{n} v1 {what} from Meridian in the capture");
    }
}

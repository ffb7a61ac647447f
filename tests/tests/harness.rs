//! Self-test of the lab and the baseline every Meridian figure is compared with: real peers
//! only (ptp4l as grandmaster, ptp4l/ptpd as slaves, pmc), no Meridian. If these fail, the
//! machine (or the harness) is the problem, not the daemon.

use std::time::Duration;

use meridian_interop::{
    collect_offsets, parse_offsets, parse_ptpd_offsets, ptp4l_unicast_client_cfg, Lab, MessageType,
    OffsetStats, Transport, PTP4L_SKIP, PTPD_SKIP,
};

/// ptp4l GM config for the baselines: the intervals the Meridian tests use.
const GM_CFG: &str = "logSyncInterval -3\nlogAnnounceInterval 0\nlogMinDelayReqInterval -3\n";

/// ptp4l GM → ptp4l slave over one veth pair, UDPv4: the lab works, offsets are parsed, pmc
/// reaches the GM, tshark finds nothing wrong. Figures are the baseline for `ptp4l.rs`.
#[test]
fn baseline_ptp4l_to_ptp4l_udp4_pair() {
    let Some(lab) = Lab::pair("baseline_ptp4l_pair") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let _master = lab.ptp4l_master(gm, Transport::UdpV4, GM_CFG);
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    slave.wait_for_text(
        &format!("selected best master clock {}", gm.eui64_identity()),
        Duration::from_secs(15),
    );

    let dds = lab.pmc_get(sl, Transport::UdpV4, "DEFAULT_DATA_SET");
    assert_eq!(dds["clockIdentity"], gm.eui64_identity());
    assert_eq!(dds["priority1"], "128");

    let samples = collect_offsets(
        &mut slave,
        parse_offsets,
        PTP4L_SKIP,
        30,
        Duration::from_secs(50),
    );
    let stats = OffsetStats::of(&samples);
    println!("baseline ptp4l → ptp4l (UDPv4, veth pair, software stamps): {stats}");
    assert!(stats.mean_ns.abs() < 5_000.0, "{stats}");
    assert!(stats.max_abs_ns < 50_000, "{stats}");

    let report = cap.check_tshark();
    let counts = report.counts(&gm.mac);
    println!("ptp4l GM sent {counts:?}");
    for t in [
        MessageType::Announce,
        MessageType::Sync,
        MessageType::FollowUp,
        MessageType::DelayResp,
        MessageType::Management,
    ] {
        assert!(
            counts.get(&t).copied().unwrap_or(0) > 0,
            "no {t:?} from the GM"
        );
    }
}

/// ptp4l unicast server (`unicast_listen 1`, `inhibit_multicast_service 1`) → ptp4l unicast
/// client over a veth pair: the baseline for Meridian's unicast test in `ptp4l.rs`.
#[test]
fn baseline_ptp4l_unicast_pair() {
    let Some(lab) = Lab::pair("baseline_ptp4l_unicast") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let _server = lab.ptp4l_master(
        gm,
        Transport::UdpV4,
        &format!("{GM_CFG}unicast_listen 1\ninhibit_multicast_service 1\n"),
    );
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, &ptp4l_unicast_client_cfg(gm, sl, 20));
    let samples = collect_offsets(
        &mut slave,
        parse_offsets,
        PTP4L_SKIP,
        30,
        Duration::from_secs(55),
    );
    let stats = OffsetStats::of(&samples);
    println!("baseline ptp4l unicast server → ptp4l unicast client (UDPv4, veth pair): {stats}");
    assert!(stats.mean_ns.abs() < 5_000.0, "{stats}");
    assert!(stats.max_abs_ns < 50_000, "{stats}");
    let report = cap.check_tshark();
    assert!(report
        .of(&gm.mac, MessageType::Signaling)
        .any(|f| f.sig_tlv_types.contains(&5)));
}

/// ptp4l GM → ptpd slave and ptp4l UDPv4 slave through a bridge in its own namespace:
/// the bridge topology works (multicast floods to every port) and ptpd statistics are parsed.
#[test]
fn baseline_ptp4l_to_ptpd_bridge() {
    let Some(lab) = Lab::bridged("baseline_ptpd_bridge", 3) else {
        return;
    };
    let (gm, sl1, sl2) = (lab.node(0), lab.node(1), lab.node(2));
    let mut cap = lab.capture(gm);
    let _master = lab.ptp4l_master(gm, Transport::UdpV4, GM_CFG);
    let mut ptpd = lab.ptpd_slave(sl1, Transport::UdpV4, "");
    let mut ptp4l = lab.ptp4l_slave(sl2, Transport::UdpV4, "");

    let samples = collect_offsets(
        &mut ptpd,
        parse_ptpd_offsets,
        PTPD_SKIP,
        60,
        Duration::from_secs(30),
    );
    let stats = OffsetStats::of(&samples);
    println!("baseline ptp4l → ptpd (UDPv4, bridge, software stamps): {stats}");
    assert!(stats.mean_ns.abs() < 5_000.0, "{stats}");
    assert!(stats.max_abs_ns < 50_000, "{stats}");

    let samples = collect_offsets(
        &mut ptp4l,
        parse_offsets,
        PTP4L_SKIP,
        5,
        Duration::from_secs(20),
    );
    println!(
        "baseline ptp4l → ptp4l (UDPv4, bridge): {}",
        OffsetStats::of(&samples)
    );

    let report = cap.check_tshark();
    // Both slaves' Delay_Req reach the GM's port through the bridge.
    assert!(report.of(&sl1.mac, MessageType::DelayReq).count() > 0);
    assert!(report.of(&sl2.mac, MessageType::DelayReq).count() > 0);
}

/// The tshark check itself: a capture holding one truncated PTP frame (a Sync claiming 44 bytes
/// in a 10-byte UDP payload) must fail the tshark check.
#[test]
fn tshark_check_flags_a_truncated_frame() {
    let mut payload = vec![0x00, 0x02, 0x00, 0x2c]; // Sync, v2, messageLength 44
    payload.extend_from_slice(&[0; 6]);
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let mut frame = Vec::new();
    frame.extend_from_slice(&[0x01, 0x00, 0x5e, 0x00, 0x01, 0x81]); // 224.0.1.129
    frame.extend_from_slice(&[0x02, 0x6d, 0x69, 0x00, 0x00, 0x01]);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        1,
        0x40,
        0,
        1,
        17,
    ]);
    frame.extend_from_slice(&[0, 0, 10, 77, 0, 1, 224, 0, 1, 129]);
    frame.extend_from_slice(&[0x01, 0x3f, 0x01, 0x3f, 0, udp_len as u8, 0, 0]);
    frame.extend_from_slice(&payload);
    let mut pcap = Vec::new();
    // Classic pcap header: magic, version 2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET.
    for v in [0xa1b2_c3d4_u32, 0x0004_0002, 0, 0, 65535, 1] {
        pcap.extend_from_slice(&v.to_le_bytes());
    }
    // Record header: seconds, microseconds, captured length, original length.
    for v in [1_700_000_000_u32, 0, frame.len() as u32, frame.len() as u32] {
        pcap.extend_from_slice(&v.to_le_bytes());
    }
    pcap.extend_from_slice(&frame);
    let dir = std::env::temp_dir().join(format!("meridian-interop-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("truncated.pcap");
    std::fs::write(&file, &pcap).expect("write pcap");
    let result = meridian_interop::Capture::open(&file).try_check_tshark();
    let _ = std::fs::remove_dir_all(&dir);
    let msg = result.expect_err("the tshark check passed a truncated PTP frame");
    assert!(
        msg.contains("tshark flags frames"),
        "unexpected failure: {msg}"
    );
}

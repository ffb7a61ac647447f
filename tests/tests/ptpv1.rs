//! PTPv1 (IEEE 1588-2002) beside v2 (issue 14): one Meridian with `ptpv1 = true` serves real
//! v1 slaves — the PADL fork of linuxptp (`network_transport PTPv1_UDPv4`, unpatched, built
//! from `tests/tools/linuxptp-v1/`), one in subdomain `_DFLT` and one in a named subdomain
//! (`STUDIO`, on the alternate group its CRC-32 picks) — and a v2 ptp4l slave at the same
//! time, on one segment, from one clock. The free-running slaves measure their offsets; the
//! v1 ones within the v2 bounds, and all agree (same system clock underneath, so their means
//! must too). v1 management GETs sent on the wire are answered, as tshark reads them.

use std::time::Duration;

use meridian_interop::{
    collect_offsets, parse_offsets, Lab, MeridianConfig, OffsetStats, Transport, PTP4L_SKIP,
};
use meridian_proto::wire::v1::{
    Subdomain, V1Body, V1Flags, V1HeaderRepr, V1MessageRepr, V1PortIdentity, COMM_ETHER,
    VERSION_NETWORK,
};

/// A v1 management GET (`key`) to every clock, as a v1 manager sends it.
fn v1_get(key: u8, subdomain: &[u8]) -> String {
    let manager = V1PortIdentity {
        communication_technology: COMM_ETHER,
        uuid: [0x02, 0x6d, 0x69, 0, 0, 0x99],
        port_id: 1,
    };
    let r = V1MessageRepr {
        header: V1HeaderRepr {
            version_network: VERSION_NETWORK,
            subdomain: Subdomain::named(subdomain),
            source: manager,
            sequence_id: 7,
            flags: V1Flags::default(),
        },
        body: V1Body::Management {
            target: V1PortIdentity {
                communication_technology: COMM_ETHER,
                uuid: [0; 6],
                port_id: 0,
            },
            starting_boundary_hops: 1,
            boundary_hops: 1,
            key,
            parameters: &[],
        },
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b).expect("emit");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn v1_and_v2_slaves_at_once() {
    // Build first (≈ 40 s the first time), outside the lab's process lifetimes.
    meridian_interop::padl_ptp4l();
    let Some(lab) = Lab::bridged("ptpv1", 4) else {
        return;
    };
    let (gm, v1_node, v2_node, studio_node) = (lab.node(0), lab.node(1), lab.node(2), lab.node(3));
    let cfg = MeridianConfig::new(gm, Transport::UdpV4)
        .port("ptpv1", "true")
        .port("ptpv1-log-sync-interval", "0")
        .port("ptpv1-subdomains", r#"["_DFLT", "STUDIO"]"#);
    let mut capture = lab.capture(gm);
    let mut m = lab.meridian(gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut v1 = lab.ptp4l_v1_slave(v1_node);
    // A named subdomain: PADL maps domainNumber 4 to it and hashes it to its group as we do.
    let studio = lab.ptp4l_v1_slave_with(
        studio_node,
        "ptpv1_domain_map 0:_DFLT 1:_ALT1 2:_ALT2 3:_ALT3 4:STUDIO\ndomainNumber 4",
    );
    let v2 = lab.ptp4l_slave(v2_node, Transport::UdpV4, "");
    let n = 30;
    // Software stamps on two shared vCPUs through a bridge: the means carry the lab's own
    // asymmetry (seen up to −14 µs on an idle CI machine, path delay 18 µs), so they are
    // bounded at 25 µs, every sample at 50 µs as in the v2 tests, and the two slaves must
    // agree within 20 µs (seen: 2–8 µs apart). On a miss the window is measured once more,
    // as the offset tests do.
    let last_n = |p: &meridian_interop::Proc| {
        let all = parse_offsets(&p.stdout());
        let from = all.len().saturating_sub(n).max(PTP4L_SKIP.min(all.len()));
        OffsetStats::of(&all[from..])
    };
    let measure = |v1: &mut meridian_interop::Proc, skip: usize| {
        let v1_samples = collect_offsets(v1, parse_offsets, skip, n, Duration::from_secs(90));
        (OffsetStats::of(&v1_samples), last_n(&v2))
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
    let s3 = last_n(&studio);
    println!("v1 slave in STUDIO:    {s3}");
    assert!(
        s3.n >= n / 2,
        "the STUDIO slave measured {} times:\n{}",
        s3.n,
        meridian_interop::tail(&studio.stdout(), 20)
    );
    assert!(s3.mean_ns.abs() < 25_000.0, "STUDIO |mean| ≥ 25 µs: {s3}");
    assert!(
        (s3.mean_ns - s2.mean_ns).abs() < 20_000.0,
        "the STUDIO and v2 slaves disagree: {s3} vs {s2}"
    );
    // v1 management on the wire: GET_DEFAULT_DATA_SET in STUDIO, GET_PORT_DATA_SET in _DFLT.
    for (key, subdomain, group) in [(7u8, "STUDIO", "224.0.1.132"), (14, "_DFLT", "224.0.1.129")] {
        let script = format!(
            "import socket\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('{}'))\n\
             s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)\n\
             s.sendto(bytes.fromhex('{}'), ('{group}', 320))\n",
            v2_node.ip,
            v1_get(key, subdomain.as_bytes())
        );
        let o = lab.run(
            v2_node,
            &["python3", "-c", &script],
            Duration::from_secs(10),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = m.status().expect("status");
    let v1_masters = &status["ports"][0]["ptpv1"];
    assert_eq!(
        v1_masters,
        &serde_json::json!([
            {"subdomain": "_DFLT", "group": "224.0.1.129", "passive": false},
            {"subdomain": "STUDIO", "group": "224.0.1.132", "passive": false}
        ]),
        "{status}"
    );
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
    drop(studio);
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
    // The named subdomain's Syncs, on the group its CRC-32 picks.
    let studio_syncs = tshark(
        &format!(
            "ip.src == {} && ptp.versionptp == 1 && ptp.controlfield == 0 && \
             ptp.subdomain == \"STUDIO\"",
            gm.ip
        ),
        "ip.dst",
    );
    let n_studio = studio_syncs
        .lines()
        .filter(|l| l.trim() == "224.0.1.132")
        .count();
    assert!(
        n_studio >= 10,
        "{n_studio} STUDIO Syncs to 224.0.1.132:\n{studio_syncs}"
    );
    // The management answers, to the subdomain's group, read by the PTPv1 dissector.
    let dds = tshark(
        &format!("ip.src == {} && ptp.mm.managementmessagekey == 8", gm.ip),
        "ip.dst",
    );
    assert_eq!(
        dds.trim(),
        "224.0.1.132",
        "DEFAULT_DATA_SET answers: {dds:?}"
    );
    for (field, want) in [
        ("ptp.mm.default.data.set.subdomainname", "STUDIO"),
        ("ptp.mm.default.data.set.clockstratum", "3"),
        ("ptp.mm.targetuuid", "02:6d:69:00:00:99"),
    ] {
        let got = tshark(
            &format!("ip.src == {} && ptp.mm.managementmessagekey == 8", gm.ip),
            field,
        );
        assert_eq!(got.trim(), want, "{field}");
    }
    let pds = tshark(
        &format!("ip.src == {} && ptp.mm.managementmessagekey == 15", gm.ip),
        "ptp.mm.port.data.set.portstate",
    );
    assert_eq!(
        pds.trim(),
        "5",
        "PORT_DATA_SET answer (PTP_MASTER): {pds:?}"
    );
}

/// Captures byte-exact v1 fixtures from a real v1 implementation — a PADL ptp4l master
/// (`path_trace_enabled 1`, so its Syncs carry the parent fields a v1 slave needs) and a
/// PADL slave — into `proto/tests/fixtures/v1/`, where `proto/tests/v1.rs` checks that we
/// parse them and write them back octet for octet. Not part of the suite (the fixtures are
/// committed): `cargo test -p meridian-interop --test ptpv1 -- --ignored capture_padl`.
#[test]
#[ignore = "writes the committed fixtures; run by hand"]
fn capture_padl_fixtures() {
    let bin = meridian_interop::padl_ptp4l();
    let Some(lab) = Lab::bridged("ptpv1fix", 2) else {
        return;
    };
    let (master, slave) = (lab.node(0), lab.node(1));
    let cfg = lab.write(
        "padl-master.cfg",
        &format!(
            "[global]\ntime_stamping software\nfree_running 1\nserverOnly 1\n\
             network_transport PTPv1_UDPv4\npath_trace_enabled 1\nlogging_level 6\n\
             use_syslog 0\nuds_address {}\nuds_ro_address {}\n",
            lab.path("m.uds").display(),
            lab.path("m.uds-ro").display()
        ),
    );
    let mut capture = lab.capture(master);
    let _m = lab.spawn(
        master,
        "padl-master",
        &[
            bin.display().to_string(),
            "-f".into(),
            cfg.display().to_string(),
            "-i".into(),
            master.iface.clone(),
            "-m".into(),
        ],
    );
    let mut s = lab.ptp4l_v1_slave(slave);
    collect_offsets(&mut s, parse_offsets, 0, 3, Duration::from_secs(60));
    capture.stop();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/tests/fixtures/v1");
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    for (control, name) in [
        (0, "sync"),
        (1, "delay-req"),
        (2, "follow-up"),
        (3, "delay-resp"),
    ] {
        let out = std::process::Command::new("tshark")
            .arg("-r")
            .arg(capture.file())
            .args([
                "-Y",
                &format!("ptp.versionptp == 1 && ptp.controlfield == {control}"),
                "-T",
                "fields",
                "-e",
                "udp.payload",
            ])
            .output()
            .expect("tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no v1 {name}"));
        let path = dir.join(format!("padl-{name}.hex"));
        std::fs::write(&path, format!("{}\n", first.trim())).expect("write fixture");
        println!("{}: {}", path.display(), first.trim());
    }
}

//! The DPDK data plane ([`DpdkPort`]) against real EAL and real vdevs: `net_pcap` fed with
//! frames captured from ptp4l (plus ARP, unicast and junk), and `net_null`.
//!
//! `rte_eal_init` works once per process, so each test re-executes this test binary with
//! [`SCENARIO_ENV`] naming itself, and the child process runs the scenario.
//! `MERIDIAN_SKIP_DPDK=1` skips them; nothing else does: without a working DPDK they fail.
#![cfg(feature = "dpdk")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use meridian::dataplane::dpdk::{eal_init, rdtsc, tsc_hz, DpdkPort, DpdkPortConfig};
use meridian::dataplane::RxFrame;
use meridian::dataplane::Transport;
use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::frame::{
    EthernetRepr, FrameRepr, Ipv4Repr, MacAddress, NetworkRepr, ParsedFrame, UdpPorts, VlanTag,
};
use meridian_proto::wire::Timestamp;

const SCENARIO_ENV: &str = "MERIDIAN_DPDK_PORT_SCENARIO";
/// The EAL file prefix the parent picked for the child.
const PREFIX_ENV: &str = "MERIDIAN_DPDK_PORT_EAL_PREFIX";
const SKIP_ENV: &str = "MERIDIAN_SKIP_DPDK";

/// The ptp4l master of the fixtures.
const MASTER_MAC: [u8; 6] = [0x02, 0x99, 0, 0, 0, 0x01];
const MASTER_IP: [u8; 4] = [10, 99, 0, 1];
/// Us.
const OUR_IP: [u8; 4] = [10, 99, 0, 2];
/// A unicast peer that ARPs for us and sends a Delay_Req.
const PEER_MAC: [u8; 6] = [0x02, 0x99, 0, 0, 0, 0x07];
const PEER_IP: [u8; 4] = [10, 99, 0, 7];

#[test]
fn pcap_udp4_and_l2_ports() {
    in_own_process("pcap_udp4_and_l2_ports", scenario_pcap);
}

#[test]
fn pcap_udp6_port_answers_neighbour_solicitation() {
    in_own_process(
        "pcap_udp6_port_answers_neighbour_solicitation",
        scenario_udp6,
    );
}

#[test]
fn null_port_tx_timestamps_and_rx_drops() {
    in_own_process("null_port_tx_timestamps_and_rx_drops", scenario_null);
}

#[test]
fn vdev_that_fails_to_probe_fails_eal_init() {
    in_own_process("vdev_that_fails_to_probe_fails_eal_init", scenario_bad_vdev);
}

#[test]
fn pipeline_stages_stamp_write_launch_times_and_measure_residence() {
    in_own_process(
        "pipeline_stages_stamp_write_launch_times_and_measure_residence",
        scenario_pipeline,
    );
}

fn in_own_process(test_name: &str, scenario: fn()) {
    if std::env::var(SCENARIO_ENV).as_deref() == Ok(test_name) {
        scenario();
        return;
    }
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("{test_name}: skipped ({SKIP_ENV}=1)");
        return;
    }
    let exe = std::env::current_exe().expect("path of the test binary");
    // The child's EAL file prefix, chosen here so its runtime directory (which EAL never
    // removes) can be removed afterwards.
    // Short: EAL puts sockets under it, and socket paths are limited to 108 octets.
    let tag: u32 = test_name
        .bytes()
        .fold(17u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let prefix = format!("meridian-t{}-{tag:x}", std::process::id());
    let output = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(SCENARIO_ENV, test_name)
        .env(PREFIX_ENV, &prefix)
        .output()
        .expect("re-execute the test binary");
    for base in ["/var/run/dpdk", "/tmp/dpdk"] {
        let _ = std::fs::remove_dir_all(Path::new(base).join(&prefix));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    // A filter matching nothing would also exit 0: require that it ran.
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "scenario {test_name} failed in its child process ({})",
        output.status
    );
}

fn eal_args(tag: &str, vdevs: &[String]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--no-huge",
        "--no-pci",
        "--no-shconf",
        "-m",
        "256",
        "-l",
        "0",
        "--file-prefix",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(
        std::env::var(PREFIX_ENV)
            .unwrap_or_else(|_| format!("meridian-{tag}-{}", std::process::id())),
    );
    for v in vdevs {
        a.push("--vdev".into());
        a.push(v.clone());
    }
    a
}

fn port_cfg(device: String, transport: Transport) -> DpdkPortConfig {
    DpdkPortConfig {
        device,
        transport,
        ipv4: Some(OUR_IP),
        ipv6: None,
        dscp: 46,
        vlan: None,
        ipv6_scope: 2,
        pdelay: false,
        rx_descriptors: 128,
        tx_descriptors: 128,
        pool_size: 1023,
        launch_time: false,
    }
}

/// Receives until `n` messages arrived or 2 s passed.
fn recv_n(port: &mut DpdkPort, n: usize) -> Vec<(RxFrame, Vec<u8>)> {
    let mut buf = vec![0u8; 2048];
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while got.len() < n && Instant::now() < deadline {
        match port.recv(&mut buf).expect("recv") {
            Some(rx) => got.push((rx, buf[..rx.len].to_vec())),
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    // Nothing more arrives.
    for _ in 0..50 {
        assert!(
            port.recv(&mut buf).expect("recv").is_none(),
            "extra message"
        );
    }
    got
}

// ---------------------------------------------------------------------------------------
// Scenarios.

fn scenario_pcap() {
    let dir = ScratchDir::new("pcap");
    let (in0, out0, in1, out1) = (
        dir.join("in0.pcap"),
        dir.join("out0.pcap"),
        dir.join("in1.pcap"),
        dir.join("out1.pcap"),
    );

    // UDP/IPv4 port input: 8 ptp4l frames, then ARP, unicast Delay_Req, junk.
    let udp_fixture = read_pcap(&fixture("ptp4l_udp4_multicast.pcap"));
    let l2_fixture = read_pcap(&fixture("ptp4l_l2_multicast.pcap"));
    let mut in_udp: Vec<PcapFrame> = udp_fixture[..8].to_vec();
    let t = (1_800_000_000u32, 123_456u32);
    let delay_req = ptp_message(1, 44, 0x77);
    let non_ptp_udp = udp_frame(
        PEER_MAC,
        [0xff; 6],
        PEER_IP,
        OUR_IP,
        5353,
        53,
        &[1, 2, 3, 4],
    );
    let other_host = udp_frame(
        PEER_MAC,
        [2, 0, 0, 0, 0, 0x55],
        PEER_IP,
        [10, 99, 0, 55],
        319,
        319,
        &delay_req,
    );
    let mut bad_sum = udp_frame(
        PEER_MAC,
        [1, 0, 0x5e, 0, 1, 0x81],
        PEER_IP,
        [224, 0, 1, 129],
        319,
        319,
        &delay_req,
    );
    let n = bad_sum.len();
    bad_sum[n - 1] ^= 0xff; // payload changed, checksum not
    in_udp.extend([
        (t, arp_request(PEER_MAC, PEER_IP, OUR_IP)),
        (t, arp_request(PEER_MAC, PEER_IP, [10, 99, 0, 99])), // not us: no reply
        (t, non_ptp_udp),
        (t, other_host),
        (t, bad_sum),
        (t, l2_fixture[0].1.clone()), // L2 PTP on a UDP port: not ours
        // Delay_Req unicast to our IP. The PMD's MAC is not known before the port opens, so
        // the frame goes to a multicast MAC: the MAC filter passes it, and `multicast` is
        // decided by the IP destination.
        (
            (t.0, t.1 + 1),
            udp_frame(
                PEER_MAC,
                [1, 0, 0x5e, 0, 1, 0x81],
                PEER_IP,
                OUR_IP,
                319,
                319,
                &delay_req,
            ),
        ),
    ]);
    write_pcap(&in0, &in_udp);

    // L2 port input: 8 ptp4l frames, a UDP one, one of another VLAN.
    let mut in_l2: Vec<PcapFrame> = l2_fixture[..8].to_vec();
    in_l2.push(udp_fixture[0].clone());
    let mut tagged = l2_fixture[1].1.clone();
    tagged.splice(12..12, [0x81, 0x00, 0x00, 0x64]); // VID 100
    in_l2.push((t, tagged));
    write_pcap(&in1, &in_l2);

    let vdev0 = format!(
        "net_pcap0,rx_pcap={},tx_pcap={}",
        in0.display(),
        out0.display()
    );
    let vdev1 = format!(
        "net_pcap1,rx_pcap={},tx_pcap={}",
        in1.display(),
        out1.display()
    );
    eal_init(&eal_args("pcap", &[vdev0.clone(), vdev1.clone()])).expect("eal_init");
    let hz = tsc_hz().expect("TSC rate after EAL init");
    println!("tsc_hz = {hz}");
    assert!(
        eal_init(&eal_args("again", &[])).is_err(),
        "second eal_init fails"
    );

    // ---- UDP/IPv4 port.
    let mut port = DpdkPort::open(&port_cfg(vdev0, Transport::UdpIpv4)).expect("open net_pcap0");
    println!("{port:?}");
    assert!(!port.hardware_timesync(), "net_pcap has no timesync");
    // net_pcap fills the timestamp dynfield (capture times in µs, checked below) without
    // offering RX timestamp offload: those are no arrival times, so they stamp nothing.
    assert!(port.has_rx_timestamp_field());
    assert!(!port.rx_timestamp_offload());
    assert_eq!(port.hw_stamp_counters(), None);
    assert_eq!(port.protocol_address(), OUR_IP.to_vec());
    let our_mac = port.mac();
    let before = rdtsc();
    let got = recv_n(&mut port, 9);
    assert_eq!(got.len(), 9, "8 ptp4l messages and the unicast Delay_Req");
    let mut last_tsc = 0;
    for (i, (rx, payload)) in got[..8].iter().enumerate() {
        let ((sec, usec), frame) = &udp_fixture[i];
        let p = ParsedFrame::parse(frame).expect("fixture parses");
        let NetworkRepr::Udp4(_, ports) = p.repr.network else {
            panic!("udp4 fixture")
        };
        assert_eq!(payload.as_slice(), p.payload, "message {i} payload");
        assert_eq!(rx.source, PeerAddress::Ipv4(MASTER_IP));
        assert!(rx.multicast);
        assert_eq!(rx.event, ports.dst == 319, "message {i} event flag");
        assert!(
            rx.tsc().unwrap() >= before && rx.tsc().unwrap() >= last_tsc,
            "TSC stamps in order"
        );
        last_tsc = rx.tsc().unwrap();
        assert_eq!(
            rx.device_stamp,
            Some(*sec as u64 * 1_000_000 + *usec as u64),
            "pcap µs"
        );
    }
    let (rx, payload) = &got[8];
    assert_eq!(payload.as_slice(), delay_req.as_slice());
    assert_eq!(rx.source, PeerAddress::Ipv4(PEER_IP));
    assert!(!rx.multicast, "IP unicast to us");
    assert!(rx.event);
    let c = *port.counters();
    println!("{c:?}");
    assert_eq!(c.rx_packets, 9);
    assert_eq!(c.rx_arp_requests, 1);
    assert_eq!(c.rx_arp_other, 1);
    assert_eq!(c.tx_arp_replies, 1);
    assert_eq!(c.drops.rx_non_ptp, 2, "DNS and the L2 frame");
    assert_eq!(c.drops.rx_not_for_us, 1, "unicast MAC of someone else");
    assert_eq!(c.drops.rx_malformed, 1, "bad UDP checksum");

    // Send: multicast one-step Sync, unicast Delay_Resp to the learnt peer, and a unicast
    // to a stranger (dropped).
    let sync = ptp_message(0, 44, 0x11);
    let launch_ns: u64 = 1_700_000_000_123_456_789;
    let mut seen_tsc = 0u64;
    let t0 = rdtsc();
    let id = port
        .send(
            Destination::Multicast,
            true,
            &sync,
            true,
            Some(&mut |tsc| {
                seen_tsc = tsc;
                launch_ns as i128
            }),
        )
        .expect("send Sync");
    let t1 = rdtsc();
    assert_eq!(id, Some(0));
    assert!(
        (t0..=t1).contains(&seen_tsc),
        "one-step TSC read inside send"
    );
    let delay_resp = ptp_message(9, 54, 0x22);
    let id = port
        .send(
            Destination::Unicast(PeerAddress::Ipv4(PEER_IP)),
            false,
            &delay_resp,
            false,
            None,
        )
        .expect("send Delay_Resp");
    assert_eq!(id, None);
    let e = port
        .send(
            Destination::Unicast(PeerAddress::Ipv4([10, 99, 0, 200])),
            false,
            &delay_resp,
            false,
            None,
        )
        .expect_err("unknown peer");
    println!("unknown peer: {e}");
    assert!(
        e.to_string().contains("net_pcap0"),
        "error names the device: {e}"
    );
    let e = port
        .send(
            Destination::Unicast(PeerAddress::Mac(PEER_MAC)),
            false,
            &delay_resp,
            false,
            None,
        )
        .expect_err("MAC on a UDP port");
    assert!(e.to_string().contains("IPv4 addresses only"), "{e}");
    let mut stamps = Vec::new();
    port.drain_tx_timestamps(&mut |id, tsc| stamps.push((id, tsc)));
    assert_eq!(stamps, vec![(0, seen_tsc)]);
    // Unstamped frames wait in the queue and leave together: the ARP reply went out in its
    // own burst just before the stamped Sync (which went alone); the Delay_Resps wait.
    assert_eq!(port.counters().tx_bursts, 2, "ARP reply, then Sync");
    let more: Vec<Vec<u8>> = (0..2).map(|k| ptp_message(9, 54, 0x30 + k)).collect();
    for m in &more {
        port.send(
            Destination::Unicast(PeerAddress::Ipv4(PEER_IP)),
            false,
            m,
            false,
            None,
        )
        .expect("send Delay_Resp");
    }
    assert_eq!(port.counters().tx_bursts, 2, "Delay_Resps queued");
    port.flush_tx();
    port.flush_tx(); // nothing left: no burst
    let c = *port.counters();
    assert_eq!(c.tx_bursts, 3, "three Delay_Resps in one burst");
    assert_eq!(
        (
            c.tx_packets,
            c.tx_no_neighbour,
            c.tx_timestamps,
            c.tx_ring_full
        ),
        (4, 1, 1, 0)
    );
    let in_use = port.mbufs_in_use();
    println!("mbufs in use (RX ring): {in_use}");
    drop(port); // stop + close flush the pcap dumper

    let out = read_pcap(&out0);
    assert_eq!(out.len(), 5, "ARP reply, Sync, three Delay_Resps");
    for (f, m) in out[3..].iter().zip(&more) {
        assert_eq!(
            ParsedFrame::parse(&f.1).expect("parses").payload,
            m.as_slice()
        );
    }
    // ARP reply.
    let arp = &out[0].1;
    assert_eq!(arp.len(), 60);
    assert_eq!(&arp[0..6], &PEER_MAC);
    assert_eq!(&arp[6..12], &our_mac);
    assert_eq!(&arp[12..14], &[0x08, 0x06]);
    assert_eq!(&arp[20..22], &[0, 2], "ARP reply");
    assert_eq!(&arp[22..28], &our_mac);
    assert_eq!(&arp[28..32], &OUR_IP);
    assert_eq!(&arp[32..38], &PEER_MAC);
    assert_eq!(&arp[38..42], &PEER_IP);
    // Sync: valid checksums, group addresses, one-step time at 34.
    let p = ParsedFrame::parse(&out[1].1).expect("our Sync parses (checksums valid)");
    assert_eq!(p.repr.ethernet.dst, MacAddress([1, 0, 0x5e, 0, 1, 0x81]));
    assert_eq!(p.repr.ethernet.src, MacAddress(our_mac));
    let NetworkRepr::Udp4(ip, ports) = p.repr.network else {
        panic!("udp4")
    };
    assert_eq!(
        (ip.src, ip.dst, ip.ttl, ip.dscp_ecn),
        (OUR_IP, [224, 0, 1, 129], 1, 46 << 2)
    );
    assert_eq!((ports.src, ports.dst), (319, 319));
    assert!(p.layout.udp_checksum_in_use);
    let mut want = sync.clone();
    Timestamp::from_nanos(launch_ns as u128)
        .expect("in range")
        .write(&mut want, 34);
    assert_eq!(p.payload, want.as_slice());
    // Delay_Resp.
    let p = ParsedFrame::parse(&out[2].1).expect("our Delay_Resp parses");
    assert_eq!(p.repr.ethernet.dst, MacAddress(PEER_MAC));
    let NetworkRepr::Udp4(ip, ports) = p.repr.network else {
        panic!("udp4")
    };
    assert_eq!((ip.src, ip.dst, ip.ttl), (OUR_IP, PEER_IP, 64));
    assert_eq!((ports.src, ports.dst), (320, 320));
    assert_eq!(p.payload, delay_resp.as_slice());

    // ---- L2 port.
    let mut cfg = port_cfg(vdev1, Transport::L2);
    cfg.ipv4 = None;
    let mut port = DpdkPort::open(&cfg).expect("open net_pcap1");
    let our_mac = port.mac();
    assert_eq!(port.protocol_address(), our_mac.to_vec());
    let got = recv_n(&mut port, 8);
    assert_eq!(got.len(), 8);
    for (i, (rx, payload)) in got.iter().enumerate() {
        let ((sec, usec), frame) = &l2_fixture[i];
        assert_eq!(payload.as_slice(), &frame[14..], "L2 message {i}");
        assert_eq!(rx.source, PeerAddress::Mac(MASTER_MAC));
        assert!(rx.multicast);
        assert_eq!(rx.event, frame[14] & 0x0f < 4);
        assert_eq!(
            rx.device_stamp,
            Some(*sec as u64 * 1_000_000 + *usec as u64)
        );
    }
    let c = *port.counters();
    assert_eq!((c.drops.rx_non_ptp, c.drops.rx_other_vlan), (1, 1));
    let t0 = rdtsc();
    let id = port
        .send(Destination::PdelayMulticast, true, &sync, true, None)
        .expect("send");
    let t1 = rdtsc();
    assert_eq!(id, Some(0));
    let mut stamps = Vec::new();
    port.drain_tx_timestamps(&mut |id, tsc| stamps.push((id, tsc)));
    assert_eq!(stamps.len(), 1);
    assert!((t0..=t1).contains(&stamps[0].1));
    drop(port);
    let out = read_pcap(&out1);
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(f.len(), 60, "padded to the Ethernet minimum");
    assert_eq!(&f[0..6], &[1, 0x80, 0xc2, 0, 0, 0x0e]);
    assert_eq!(&f[6..12], &our_mac);
    assert_eq!(&f[12..14], &[0x88, 0xf7]);
    assert_eq!(&f[14..58], sync.as_slice());
    assert_eq!(&f[58..], &[0, 0]);
}

fn scenario_udp6() {
    const OUR6: [u8; 16] = [0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const PEER6: [u8; 16] = [0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    let dir = ScratchDir::new("udp6");
    let (inp, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
    let fixture6 = read_pcap(&fixture("ptp4l_udp6_multicast.pcap"));
    let mut frames: Vec<PcapFrame> = fixture6[..4].to_vec();
    frames.push(((1, 0), neighbour_solicitation(PEER_MAC, PEER6, OUR6)));
    write_pcap(&inp, &frames);
    let vdev = format!(
        "net_pcap0,rx_pcap={},tx_pcap={}",
        inp.display(),
        out.display()
    );
    eal_init(&eal_args("udp6", std::slice::from_ref(&vdev))).expect("eal_init");
    let mut cfg = port_cfg(vdev, Transport::UdpIpv6);
    cfg.ipv4 = None;
    cfg.ipv6 = Some(OUR6);
    cfg.ipv6_scope = 0xe;
    let mut port = DpdkPort::open(&cfg).expect("open");
    let our_mac = port.mac();
    let got = recv_n(&mut port, 4);
    assert_eq!(got.len(), 4);
    for (i, (rx, payload)) in got.iter().enumerate() {
        let p = ParsedFrame::parse(&fixture6[i].1).expect("fixture parses");
        assert_eq!(payload.as_slice(), p.payload, "message {i}");
        assert!(rx.multicast);
        assert!(matches!(rx.source, PeerAddress::Ipv6(a) if a[0] == 0xfd));
    }
    let c = *port.counters();
    assert_eq!((c.rx_nd_solicitations, c.tx_nd_adverts), (1, 1), "{c:?}");
    let sync = ptp_message(0, 44, 0x44);
    port.send(
        Destination::Multicast,
        true,
        &sync,
        false,
        Some(&mut |_| 1_700_000_000_000_000_001),
    )
    .expect("send Sync");
    port.send(
        Destination::Unicast(PeerAddress::Ipv6(PEER6)),
        false,
        &sync,
        false,
        None,
    )
    .expect("unicast to the solicitor");
    drop(port);
    let out = read_pcap(&out);
    assert_eq!(out.len(), 3, "NA, Sync, unicast");
    let na = &out[0].1;
    assert_eq!(&na[0..6], &PEER_MAC);
    assert_eq!(&na[12..14], &[0x86, 0xdd]);
    assert_eq!(na[14 + 40], 136, "neighbour advertisement");
    assert_eq!(&na[14 + 48..14 + 64], &OUR6, "target");
    assert_eq!(&na[14 + 66..14 + 72], &our_mac, "target link-layer address");
    let p =
        ParsedFrame::parse(&out[1].1).expect("Sync parses, checksum valid after one-step patch");
    assert_eq!(p.repr.ethernet.dst, MacAddress([0x33, 0x33, 0, 0, 1, 0x81]));
    assert_eq!(p.payload.len(), 46, "message and the annex D trailer");
    let mut want = sync.clone();
    Timestamp::from_nanos(1_700_000_000_000_000_001)
        .expect("in range")
        .write(&mut want, 34);
    assert_eq!(&p.payload[..44], want.as_slice());
    let p = ParsedFrame::parse(&out[2].1).expect("unicast parses");
    assert_eq!(p.repr.ethernet.dst, MacAddress(PEER_MAC));
    assert!(
        matches!(p.repr.network, NetworkRepr::Udp6(ip, _) if ip.dst == PEER6 && ip.src == OUR6)
    );
}

fn scenario_null() {
    eal_init(&eal_args("null", &["net_null0".into()])).expect("eal_init");
    let e = DpdkPort::open(&port_cfg("net_null7".into(), Transport::L2)).expect_err("no such port");
    println!("{e}");
    assert!(e.to_string().starts_with("net_null7: open:"), "{e}");
    let mut cfg = port_cfg("net_null0".into(), Transport::L2);
    cfg.vlan = Some((100, 5));
    let mut port = DpdkPort::open(&cfg).expect("open net_null0");
    let msg = ptp_message(0, 44, 0x33);
    let mut windows = Vec::new();
    for i in 0..100u32 {
        let t0 = rdtsc();
        let id = port
            .send(Destination::Multicast, true, &msg, true, None)
            .expect("send");
        let t1 = rdtsc();
        assert_eq!(id, Some(i));
        windows.push((t0, t1));
        // General messages get no id; a TX stamp for one is refused.
        assert_eq!(
            port.send(Destination::Multicast, false, &msg, false, None)
                .expect("send"),
            None
        );
        assert!(port
            .send(Destination::Multicast, false, &msg, true, None)
            .is_err());
    }
    let mut stamps = Vec::new();
    port.drain_tx_timestamps(&mut |id, tsc| stamps.push((id, tsc)));
    assert_eq!(stamps.len(), 100);
    for (i, ((id, tsc), (t0, t1))) in stamps.iter().zip(&windows).enumerate() {
        assert_eq!(*id, i as u32);
        assert!((*t0..=*t1).contains(tsc), "stamp {i} inside its send");
    }
    port.drain_tx_timestamps(&mut |_, _| panic!("drained twice"));

    // net_null RX makes up zero-filled frames: none is for us; all are freed.
    let mut buf = [0u8; 1500];
    for _ in 0..100 {
        assert!(port.recv(&mut buf).expect("recv").is_none());
    }
    let c = *port.counters();
    println!("{c:?}, mbufs in use {}", port.mbufs_in_use());
    assert!(
        c.rx_frames >= 100 * 256 - 32,
        "recv gives up after 256 frames"
    );
    assert_eq!(c.rx_packets, 0);
    assert_eq!(c.tx_packets, 200);
    assert!(
        port.mbufs_in_use() < 64,
        "no mbuf leaks ({})",
        port.mbufs_in_use()
    );
    // A one-octet buffer is fine too.
    let mut tiny = [0u8; 1];
    assert!(port.recv(&mut tiny).expect("recv").is_none());
}

/// A port split into RX stage → rings → TX stage, the stages polled here by hand: frames
/// arrive with their burst's TSC stamp, junk is filtered by the RX stage, a Delay_Resp gets
/// its residence time recorded, a one-step Sync gets its launch time (checksum intact), a
/// two-step Sync's TX stamp comes back over the stamp ring.
fn scenario_pipeline() {
    use meridian::clock::tsc::{SharedTscClock, TscClock};
    use meridian::metrics::{LatencyReport, ReplyKind, ResidenceSeries};
    use std::sync::Arc;

    let dir = ScratchDir::new("pipeline");
    let (input, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
    let t = (1_800_000_000u32, 0u32);
    let delay_req = ptp_message(1, 44, 0x21);
    let frames: Vec<PcapFrame> = vec![
        (
            t,
            udp_frame(
                PEER_MAC,
                [1, 0, 0x5e, 0, 1, 0x81],
                PEER_IP,
                [224, 0, 1, 129],
                319,
                319,
                &delay_req,
            ),
        ),
        (
            t,
            udp_frame(
                PEER_MAC,
                [0xff; 6],
                PEER_IP,
                OUR_IP,
                5353,
                53,
                &[1, 2, 3, 4],
            ),
        ),
        (t, arp_request(PEER_MAC, PEER_IP, OUR_IP)),
    ];
    write_pcap(&input, &frames);
    eal_init(&eal_args(
        "pipeline",
        &[format!(
            "net_pcap0,rx_pcap={},tx_pcap={}",
            input.display(),
            out.display()
        )],
    ))
    .expect("eal_init");
    let mut port = DpdkPort::open(&port_cfg("net_pcap0".into(), Transport::UdpIpv4)).expect("open");
    // Splitting needs the clock that converts TSC readings.
    assert!(port.split_pipeline(64).is_err(), "no clock attached yet");
    let tsc = TscClock::calibrate(
        rdtsc,
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos() as i128
        },
        20,
        || std::thread::sleep(Duration::from_millis(1)),
    )
    .expect("calibrate");
    let shared = Arc::new(SharedTscClock::new(&tsc));
    let residence = ResidenceSeries::default();
    port.attach_clock(Arc::clone(&shared), residence.clone());
    let (mut rx, mut tx) = port.split_pipeline(64).expect("split");
    assert!(port.is_pipelined());
    assert!(port.split_pipeline(64).is_err(), "split twice");

    // RX: the stage takes the burst; the port hands out the Delay_Req with its stamp.
    let before = rdtsc();
    let deadline = Instant::now() + Duration::from_secs(2);
    while rx.poll() == 0 && Instant::now() < deadline {}
    let after = rdtsc();
    let mut buf = [0u8; 2048];
    let got = port.recv(&mut buf).expect("recv").expect("the Delay_Req");
    assert_eq!(&buf[..got.len], &delay_req[..]);
    assert!(
        (before..=after).contains(&got.tsc().expect("TSC stamp")),
        "burst stamp inside the poll"
    );
    assert!(got.event && got.multicast);
    assert!(port.recv(&mut buf).expect("recv").is_none());

    // TX: the ARP reply (sent by recv), a Delay_Resp, a one-step Sync, a two-step Sync.
    let rx_ns = shared.ns_at(got.tsc().expect("TSC stamp"));
    // The engine writes receiveTimestamp = RX time − ingress latency (a correction) and
    // hands the data plane the raw RX time: the residence must not include the latency.
    let ingress_latency_ns = 1_500_000;
    let mut delay_resp = ptp_message(9, 54, 0x44);
    Timestamp::from_nanos((rx_ns - ingress_latency_ns) as u128)
        .expect("ts")
        .write(&mut delay_resp, 34);
    port.send_reply(
        Destination::Multicast,
        false,
        &delay_resp,
        false,
        None,
        Some((ReplyKind::DelayResp, rx_ns)),
    )
    .expect("send Delay_Resp");
    let sync1 = ptp_message(0, 44, 0x55);
    let mut launch = |t: u64| shared.ns_at(t);
    port.send(
        Destination::Multicast,
        true,
        &sync1,
        false,
        Some(&mut launch),
    )
    .expect("send one-step Sync");
    let sync2 = ptp_message(0, 44, 0x66);
    let id = port
        .send(Destination::Multicast, true, &sync2, true, None)
        .expect("send two-step Sync")
        .expect("an id");
    let t0 = rdtsc();
    assert_eq!(tx.poll(), 4, "ARP reply + 3 messages in one burst");
    let t1 = rdtsc();
    let mut stamps = Vec::new();
    port.drain_tx_timestamps(&mut |i, s| stamps.push((i, s)));
    assert_eq!(stamps.len(), 1);
    assert_eq!(stamps[0].0, id);
    assert!(
        (t0..=t1).contains(&stamps[0].1),
        "TX stamp inside the TX poll"
    );

    // The residence time: Delay_Resp TX stamp − the Delay_Req RX time handed with it (1.5 ms
    // more if the ingress latency were counted).
    tx.publish_metrics();
    let r = LatencyReport::of(&residence.delay_resp.snapshot());
    assert_eq!(r.count, 1);
    assert_eq!(residence.pdelay_resp.snapshot().len(), 0);
    let want = (shared.ns_at(stamps[0].1) - rx_ns) as u64;
    assert!(
        r.max_ns.abs_diff(want) < 2_000 + want / 100,
        "residence {} vs {want}",
        r.max_ns
    );

    let report = port.stage_report().expect("stage counters");
    println!("{report:?}");
    assert_eq!(report.rx_frames, 3);
    assert_eq!(report.rx_filtered, 1, "the DNS frame");
    assert_eq!(report.rx_event, 1);
    assert_eq!(report.rx_general, 1, "the ARP request");
    assert_eq!(report.tx_frames, 4);
    assert_eq!(
        report.rx_ring_full + report.tx_queue_full + report.stamp_ring_full,
        0
    );

    // The launch-time field a send-on-timestamp PMD reads: written and read back.
    {
        use meridian::dataplane::dpdk::raw::{Eal, Mempool};
        let eal = Eal::get().expect("EAL up");
        let field = eal
            .tx_timestamp_dynfield()
            .expect("register the TX timestamp field");
        let pool = Mempool::create(eal, "launch_test", 63, 0, -1).expect("pool");
        let mut m = pool.alloc().expect("mbuf");
        assert_eq!(m.launch_time(field), None, "flag not set on a fresh mbuf");
        m.set_launch_time(field, 1_800_000_000_123_456_789);
        assert_eq!(m.launch_time(field), Some(1_800_000_000_123_456_789));
    }

    // Close the port (the stages hold it) so net_pcap flushes its file.
    drop((rx, tx));
    let sent = read_pcap(&out);
    assert_eq!(sent.len(), 4, "{sent:?}");
    let sync1_out = sent
        .iter()
        .find_map(|(_, f)| {
            let p = ParsedFrame::parse(f).ok()?;
            (p.payload.first() == Some(&0) && p.payload.get(10) == Some(&sync1[10])).then_some(p)
        })
        .expect("the one-step Sync, checksum valid");
    let origin = Timestamp::read(sync1_out.payload, 34, "originTimestamp").expect("origin");
    let (lo, hi) = (shared.ns_at(t0), shared.ns_at(t1));
    assert!(
        (lo..=hi).contains(&(origin.as_nanos() as i128)),
        "launch time {origin} inside the TX poll [{lo}, {hi}]"
    );
}

fn scenario_bad_vdev() {
    let e = eal_init(&eal_args(
        "bad",
        &["net_pcap5,rx_pcap=/nonexistent/in.pcap,tx_pcap=/nonexistent/out.pcap".into()],
    ))
    .expect_err("a vdev that does not probe");
    println!("{e}");
    assert!(
        e.to_string().starts_with("net_pcap5: EAL device probe"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Frames and pcap files.

/// A PTP-ish message: messageType, version 2, messageLength, then a pattern.
fn ptp_message(message_type: u8, len: usize, seed: u8) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len)
        .map(|k| (k as u8).wrapping_mul(13).wrapping_add(seed))
        .collect();
    m[0] = message_type;
    m[1] = 2;
    m[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    m
}

fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let repr = FrameRepr {
        ethernet: EthernetRepr {
            dst: MacAddress(dst_mac),
            src: MacAddress(src_mac),
            vlan: None::<VlanTag>,
        },
        network: NetworkRepr::Udp4(
            Ipv4Repr {
                src,
                dst,
                dscp_ecn: 0,
                identification: 7,
                flags_fragment: 0x4000,
                ttl: 64,
            },
            UdpPorts {
                src: sport,
                dst: dport,
            },
        ),
    };
    let hl = repr.header_len();
    let mut f = vec![0u8; hl + payload.len()];
    f[hl..].copy_from_slice(payload);
    repr.emit_headers(&mut f, payload.len()).expect("emit");
    f
}

fn arp_request(sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&sha);
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&sha);
    f[28..32].copy_from_slice(&spa);
    f[38..42].copy_from_slice(&tpa);
    f
}

/// A neighbour solicitation from (`mac`, `src`) for `target`, to its solicited-node group.
fn neighbour_solicitation(mac: [u8; 6], src: [u8; 16], target: [u8; 16]) -> Vec<u8> {
    let mut group = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    group[13..].copy_from_slice(&target[13..]);
    let mut f = vec![0u8; 14 + 40 + 32];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0xff, target[13], target[14], target[15]]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    let ip = &mut f[14..];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&32u16.to_be_bytes());
    ip[6] = 58;
    ip[7] = 255;
    ip[8..24].copy_from_slice(&src);
    ip[24..40].copy_from_slice(&group);
    ip[40] = 135;
    ip[48..64].copy_from_slice(&target);
    ip[64] = 1; // source link-layer address option
    ip[65] = 1;
    ip[66..72].copy_from_slice(&mac);
    let mut acc: u32 = 32 + 58;
    for w in src
        .chunks(2)
        .chain(group.chunks(2))
        .chain(ip[40..72].chunks(2))
    {
        acc += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    ip[42..44].copy_from_slice(&(!(acc as u16)).to_be_bytes());
    f
}

type PcapFrame = ((u32, u32), Vec<u8>);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../proto/tests/fixtures")
        .join(name)
}

/// Classic little-endian pcap (µs or ns magic; times returned as read).
fn read_pcap(path: &Path) -> Vec<PcapFrame> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let u32_at = |off: usize| u32::from_le_bytes(data[off..off + 4].try_into().expect("4 bytes"));
    assert!(data.len() >= 24, "pcap header in {}", path.display());
    assert!(
        matches!(u32_at(0), 0xa1b2_c3d4 | 0xa1b2_3c4d),
        "little-endian pcap magic, got {:#x}",
        u32_at(0)
    );
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let caplen = u32_at(off + 8) as usize;
        let start = off + 16;
        frames.push((
            (u32_at(off), u32_at(off + 4)),
            data[start..start + caplen].to_vec(),
        ));
        off = start + caplen;
    }
    frames
}

/// Classic little-endian pcap, µs timestamps, LINKTYPE_ETHERNET.
fn write_pcap(path: &Path, frames: &[PcapFrame]) {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend(0i32.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(65_535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for ((sec, usec), bytes) in frames {
        let len = bytes.len() as u32;
        for field in [*sec, *usec, len, len] {
            out.extend(field.to_le_bytes());
        }
        out.extend(bytes);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// A directory under the system temp dir, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("meridian-dpdk-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

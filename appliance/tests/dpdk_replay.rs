//! The whole daemon on DPDK's `net_pcap` vdev, no network: it replays real frames captured
//! from linuxptp (multicast Delay_Req from a ptp4l slave; unicast REQUEST_UNICAST_TRANSMISSION
//! Signaling and a unicast Delay_Req from a ptp4l unicast client) and the test checks, field by
//! field, the Delay_Resp and GRANT frames Meridian wrote to the TX pcap.
#![cfg(feature = "dpdk")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meridian_proto::wire::{
    MessageBody, MessageRepr, MessageType, NetworkRepr, ParsedFrame, PortIdentity, TlvRepr,
};

/// The MAC DPDK's net_pcap PMD gives its port.
const PCAP_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];

fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert!(bytes.len() >= 24, "short pcap");
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    assert!(
        matches!(magic, 0xa1b2c3d4 | 0xa1b23c4d),
        "little-endian classic pcap expected"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(bytes[at + 16..at + 16 + incl].to_vec());
        at += 16 + incl;
    }
    out
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    for v in [
        0xa1b2c3d4u32.to_le_bytes(),
        [2, 0, 4, 0],
        [0; 4],
        [0; 4],
        65535u32.to_le_bytes(),
        1u32.to_le_bytes(),
    ] {
        out.extend_from_slice(&v);
    }
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(i as u32 * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

fn fixture(name: &str) -> Vec<Vec<u8>> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../proto/tests/fixtures")
        .join(name);
    read_pcap(&std::fs::read(p).unwrap())
}

fn message(frame: &[u8]) -> Option<(ParsedFrame<'_>, MessageRepr<'_>)> {
    let p = ParsedFrame::parse(frame).ok()?;
    let m = MessageRepr::parse_bytes(p.payload).ok()?;
    Some((p, m))
}

#[test]
fn replayed_ptp4l_requests_get_field_exact_answers() {
    replay("lcore = 0", false);
}

/// The same through the pipeline: RX and TX stages on core 1, the engine on core 0, joined
/// by rings; also checks the stage counters and the residence-time histogram in the status.
#[test]
fn replayed_ptp4l_requests_through_the_pipeline() {
    let cores = core_ids();
    if !(cores.contains(&0) && cores.contains(&1)) {
        println!("SKIPPED: needs cores 0 and 1, have {cores:?}");
        return;
    }
    replay(
        "lcore = 0\nrx-lcore = 1\ntx-lcore = 1\nring-size = 256",
        true,
    );
}

fn core_ids() -> Vec<usize> {
    let out = Command::new("nproc")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<usize>()
                .unwrap_or(1)
        })
        .unwrap_or(1);
    (0..out).collect()
}

/// Runs the daemon on net_pcap with `lcores` in `[dataplane]` over the captured requests and
/// checks every answer.
fn replay(lcores: &str, pipelined: bool) {
    if std::env::var_os("MERIDIAN_SKIP_DPDK").is_some() {
        println!("SKIPPED: MERIDIAN_SKIP_DPDK is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Requests: every Delay_Req of the multicast capture, and everything the unicast client
    // sent, re-addressed from the captured server's MAC to the pcap port's.
    let mut input: Vec<Vec<u8>> = fixture("ptp4l_udp4_multicast.pcap")
        .into_iter()
        .filter(|f| message(f).is_some_and(|(_, m)| m.header.message_type == MessageType::DelayReq))
        .collect();
    let n_multicast = input.len();
    for mut f in fixture("ptp4l_unicast.pcap") {
        if f[6..12] == [0x02, 0x99, 0, 0, 0, 0x02] {
            f[0..6].copy_from_slice(&PCAP_MAC);
            input.push(f);
        }
    }
    let rx = dir.path().join("in.pcap");
    let tx = dir.path().join("out.pcap");
    write_pcap(&rx, &input);
    let sock = dir.path().join("control.sock");
    let cfg = dir.path().join("meridian.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[clock]
utc-offset = 37
[dataplane]
backend = "dpdk"
eal-args = ["--no-huge", "--no-pci", "--no-shconf", "-m", "256"]
{}
[control]
socket = "{}"
[metrics]
listen = "127.0.0.1:0"
[[port]]
interface = "pcap"
transport = "udp-ipv4"
dpdk-device = "net_pcap0,rx_pcap={},tx_pcap={}"
address = "10.99.0.1"
master-only = true
unicast = true
"#,
            lcores,
            sock.display(),
            rx.display(),
            tx.display()
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["run", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it take the frames and answer, then stop it so net_pcap flushes the TX file.
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["status", "--json", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_else(|e| {
        panic!(
            "status JSON ({e}): {}",
            String::from_utf8_lossy(&status.stderr)
        )
    });
    // SIGTERM (graceful stop) to our own child, by PID.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "meridian exited {}: {log}",
        out.status
    );

    assert!(
        log.contains("metrics exporter listening"),
        "the exporter started: {log}"
    );
    let sent = read_pcap(&std::fs::read(&tx).unwrap_or_else(|e| panic!("no TX pcap ({e}): {log}")));
    let answers: Vec<_> = sent.iter().filter_map(|f| message(f)).collect();
    let now_tai_s = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 37) as i64;

    // Every Delay_Req (multicast and unicast) has its Delay_Resp.
    let mut delay_resps = 0;
    for f in &input {
        let Some((req_frame, req)) = message(f) else {
            continue;
        };
        if req.header.message_type != MessageType::DelayReq {
            continue;
        }
        let unicast =
            !matches!(req_frame.repr.network, NetworkRepr::Udp4(ip, _) if ip.dst[0] >= 224);
        // Both captures were made with the same slave identity, so the answer is told apart
        // by where it went as well: back to the group, or back to the requester.
        let NetworkRepr::Udp4(req_ip, _) = req_frame.repr.network else {
            continue;
        };
        let want_dst = if unicast {
            req_ip.src
        } else {
            [224, 0, 1, 129]
        };
        let resp = answers.iter().find(|(f, m)| {
            matches!(m.body, MessageBody::DelayResp { requesting_port_identity, .. }
                if requesting_port_identity == req.header.source_port_identity)
                && m.header.sequence_id == req.header.sequence_id
                && matches!(f.repr.network, NetworkRepr::Udp4(ip, _) if ip.dst == want_dst)
        });
        let Some((rf, r)) = resp else {
            panic!(
                "no Delay_Resp for Delay_Req seq {} (unicast {unicast}); log:\n{log}",
                req.header.sequence_id
            );
        };
        delay_resps += 1;
        assert_eq!(r.header.domain_number, req.header.domain_number);
        assert_eq!(
            r.header.correction, req.header.correction,
            "11.3.2: correction carried"
        );
        assert_eq!(
            r.header.flags.unicast, unicast,
            "unicast flag of the Delay_Resp for seq {} (request to {:?})",
            req.header.sequence_id, req_frame.repr.network
        );
        let MessageBody::DelayResp {
            receive_timestamp, ..
        } = r.body
        else {
            unreachable!()
        };
        assert!(
            (receive_timestamp.seconds as i64 - now_tai_s).abs() < 30,
            "receiveTimestamp {receive_timestamp} is not TAI now"
        );
        let NetworkRepr::Udp4(ip, ports) = rf.repr.network else {
            panic!("not UDPv4")
        };
        let NetworkRepr::Udp4(rip, _) = req_frame.repr.network else {
            unreachable!()
        };
        assert_eq!(ports.dst, 320);
        assert_eq!(ip.src, [10, 99, 0, 1]);
        if unicast {
            assert_eq!(ip.dst, rip.src, "unicast answer to the requester");
            assert_eq!(
                rf.repr.ethernet.dst, req_frame.repr.ethernet.src,
                "learned MAC"
            );
        } else {
            assert_eq!(ip.dst, [224, 0, 1, 129]);
        }
    }
    assert!(
        delay_resps > n_multicast,
        "{delay_resps} Delay_Resp for {n_multicast}+ requests"
    );

    // Every REQUEST TLV is answered by a GRANT of the same type and period.
    let mut grants = 0;
    for f in &input {
        let Some((_, req)) = message(f) else { continue };
        if req.header.message_type != MessageType::Signaling {
            continue;
        }
        let requester: PortIdentity = req.header.source_port_identity;
        for t in req.tlvs.iter() {
            let TlvRepr::RequestUnicastTransmission {
                message_type,
                log_inter_message_period,
                duration,
            } = t
            else {
                continue;
            };
            let grant = answers.iter().find_map(|(gf, m)| {
                let MessageBody::Signaling {
                    target_port_identity,
                } = m.body
                else {
                    return None;
                };
                if target_port_identity != requester {
                    return None;
                }
                m.tlvs.iter().find_map(|g| match g {
                    TlvRepr::GrantUnicastTransmission {
                        message_type: mt,
                        log_inter_message_period: l,
                        duration: d,
                        renewal_invited,
                    } if mt == message_type && l == log_inter_message_period => {
                        Some((gf.repr.ethernet.dst, d, renewal_invited))
                    }
                    _ => None,
                })
            });
            let Some((dst, d, renewal)) = grant else {
                panic!("no GRANT for {message_type:?} 2^{log_inter_message_period}; log:\n{log}");
            };
            assert_eq!(
                dst.0,
                [0x02, 0x99, 0, 0, 0, 0x02],
                "GRANT to the client's MAC"
            );
            assert_eq!(d, duration.min(300), "granted duration");
            assert!(renewal);
            grants += 1;
        }
    }
    assert!(grants >= 3, "{grants} grants");

    // The status: how the port stamps, what the stages passed, the residence times.
    let port = &status["ports"][0];
    let counters = &port["counters"];
    let want_stamps = if pipelined {
        "TSC (DPDK pipeline)"
    } else {
        "TSC (DPDK poll loop)"
    };
    assert_eq!(port["timestamping"].as_str(), Some(want_stamps), "{status}");
    if pipelined {
        assert_eq!(
            counters["pipeline_rx_frames"].as_u64(),
            Some(input.len() as u64),
            "{status}"
        );
        assert_eq!(
            counters["pipeline_rx_ring_full"].as_u64(),
            Some(0),
            "{status}"
        );
        assert!(
            counters["pipeline_tx_frames"].as_u64().unwrap_or(0) >= delay_resps as u64,
            "{status}"
        );
    } else {
        assert!(counters.get("pipeline_rx_frames").is_none(), "{status}");
    }
    let residence = &status["residence"];
    let count = residence["count"].as_u64().unwrap_or(0);
    assert_eq!(
        count, delay_resps as u64,
        "one residence sample per Delay_Resp: {residence}"
    );
    let (p50, max) = (
        residence["p50_ns"].as_u64().unwrap(),
        residence["max_ns"].as_u64().unwrap(),
    );
    // Stamped by the same TSC clock on both sides: positive, and well under a second even on
    // a loaded VM.
    assert!(p50 > 0 && p50 <= max && max < 1_000_000_000, "{residence}");
    println!(
        "residence ({}): {count} samples, p50 {p50} ns, p99 {} ns, max {max} ns",
        if pipelined { "pipeline" } else { "single core" },
        residence["p99_ns"]
    );
    println!("{delay_resps} Delay_Resp and {grants} GRANT checked field by field");
}

//! Meridian's DPDK data plane against real linuxptp peers: the `net_af_packet` and `net_af_xdp`
//! PMDs on the grandmaster's end of a veth pair in a namespace, the poll loop stamping with the
//! calibrated TSC clock. On the other end, either a free-running ptp4l slave (software stamps;
//! both PMDs, UDPv4 and L2), or `pmc` reading every dataset over the network and being refused
//! a SET (both PMDs, UDPv4 and L2; the checks of `tests/pmc.rs`, shared through the library).
//!
//! Needs DPDK 22.11 (`bash scripts/setup.sh`) and root; builds the daemon with `--features dpdk`
//! into `target/dpdk`.
//!
//! af_xdp on a veth needs no preparation beyond what the lab does: the PMD attaches its own XDP
//! program in native (driver) mode — `ip netns exec` hides bpffs, so libxdp loads it without its
//! dispatcher, which is fine for one program — and binds an AF_XDP socket (copy mode; veth has
//! no zero-copy) to queue 0. Every frame must then arrive on RX queue 0: a veth delivers a frame
//! on the queue number its peer sent it on, and recent kernels give a veth one active queue
//! each way (of one per CPU allocated); the test sets that explicitly (`ethtool -L`). As root
//! (`CAP_IPC_LOCK`) the UMEM is not charged to the memlock rlimit. A graceful stop detaches the
//! program (checked); a daemon killed hard leaves it attached (a later PMD reuses it), so the
//! test detaches it itself (`ip link set dev mi0 xdp off`) before the namespaces go. It also
//! removes EAL's runtime directory, which every DPDK process leaves in `/var/run/dpdk`.
//!
//! Bounds are looser than for the socket backend (|median| < 30 µs and 90 % of samples within
//! 50 µs, instead of |mean| < 5 µs and max < 50 µs): the TSC is read in user space after
//! rx_burst / before tx_burst, so the stamps leave out the latency of the kernel path underneath
//! the PMD (a packet socket for af_packet; for af_xdp the veth's XDP NAPI poll and a copy into
//! the UMEM on receive, a `sendto` kick on transmit), which differs between the two directions.
//! ptp4l then sees a path delay of ≈13–20 µs instead of ≈2 µs and a biased offset: on a quiet VM,
//! medians of +1…+4 µs (af_packet) and −1…−3.5 µs (af_xdp, p90 5–12 µs), earlier af_packet runs
//! down to −19 µs. The poll loop busy-spins one of the VM's two cores, shared with everything
//! else: while other CPU-bound processes run (compilers, other busy-pollers) the grandmaster's
//! receive stamps come later still, and path delays of 35–80 µs with medians of −30…−48 µs have
//! been seen with either PMD; the bounds then fail. These tests prove the DPDK path end to end
//! with real peers; precision needs a NIC PMD with hardware timesync or RX timestamp offload.

use std::path::Path;
use std::time::Duration;

use meridian_interop::{
    check_metrics_grow, collect_offsets, http_json, meridian_dpdk_binary, parse_offsets, poll,
    prom_query, scrape, try_prom_query, window_quantiles, Lab, Meridian, MeridianConfig,
    MessageType, Node, OffsetStats, PmcWant, Transport, PTP4L_SKIP,
};
use serde_json::Value;

const SAMPLES: usize = 30;

/// The poll-mode driver on the grandmaster's veth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pmd {
    /// `net_af_packet`: a `PACKET_MMAP` socket on the interface.
    AfPacket,
    /// `net_af_xdp`: an AF_XDP socket on queue 0, fed by an XDP program the PMD attaches to
    /// the interface (native veth XDP, copy mode).
    AfXdp,
}

impl Pmd {
    /// The DPDK device string (`--vdev`) for interface `iface`.
    fn device(self, iface: &str) -> String {
        match self {
            Pmd::AfPacket => format!("net_af_packet0,iface={iface}"),
            // The veth's one active RX queue (see `one_queue`).
            Pmd::AfXdp => format!("net_af_xdp0,iface={iface},start_queue=0,queue_count=1"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Pmd::AfPacket => "net_af_packet",
            Pmd::AfXdp => "net_af_xdp",
        }
    }
}

/// The XDP attachment of `node`'s interface as `ip -d link show` reports it (e.g.
/// `xdp … prog/xdp id 42`: the mode flag and the program line), or `None` if no program is
/// attached.
fn xdp_attachment(lab: &Lab, node: &Node) -> Option<String> {
    let out = lab.run(
        node,
        &["ip", "-d", "-o", "link", "show", "dev", &node.iface],
        Duration::from_secs(5),
    );
    assert!(out.status.success(), "ip link show: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.contains("prog/xdp").then_some(text)
}

/// Gives the veth one active queue each way: the af_xdp PMD (`queue_count=1`) binds RX queue 0
/// only, and a veth hands a frame to the peer's RX queue numbered like the TX queue it was sent
/// on; a frame arriving on another queue would bypass the AF_XDP socket and go to the kernel.
/// (Recent kernels create veths with one active queue each way, of `numrxqueues` = number of
/// CPUs allocated; this states the assumption instead of relying on it.)
fn one_queue(lab: &Lab, gm: &Node, sl: &Node) {
    for (node, dir) in [(gm, "rx"), (sl, "tx")] {
        let out = lab.run(
            node,
            &["ethtool", "-L", &node.iface, dir, "1"],
            Duration::from_secs(5),
        );
        assert!(
            out.status.success(),
            "ethtool -L {dir} 1 in {}: {out:?}",
            node.ns
        );
    }
}

/// The veth's non-zero XDP counters (`ethtool -S`: `rx_queue_0_xdp_packets`,
/// `rx_queue_0_xdp_redirect`, …), comma-separated.
fn xdp_counters(lab: &Lab, node: &Node) -> String {
    let out = lab.run(
        node,
        &["ethtool", "-S", &node.iface],
        Duration::from_secs(5),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("xdp") && !l.ends_with(": 0"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a DPDK daemon leaves behind, removed when dropped. Created before the daemon, so it
/// drops after the daemon has been stopped and before the lab deletes the namespaces.
///
/// - af_xdp: the PMD detaches its XDP program when the port closes, but a daemon killed hard
///   (SIGKILL after the grace period) leaves it attached: `ip link set dev mi0 xdp off`
///   (deleting the namespace would destroy the veth and its program too).
/// - EAL's runtime directory `/var/run/dpdk/<file prefix>` (a telemetry socket; EAL never
///   removes the directory, and Meridian never calls `rte_eal_cleanup`): the config names it
///   after the grandmaster's namespace ([`eal_prefix`]), so it is this lab's own.
struct DpdkCleanup<'a> {
    lab: &'a Lab,
    node: &'a Node,
    pmd: Pmd,
}

impl Drop for DpdkCleanup<'_> {
    fn drop(&mut self) {
        if self.pmd == Pmd::AfXdp {
            let _ = self.lab.run(
                self.node,
                &["ip", "link", "set", "dev", &self.node.iface, "xdp", "off"],
                Duration::from_secs(5),
            );
        }
        let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(eal_prefix(self.node)));
    }
}

/// EAL's `--file-prefix` for the daemon on `gm`: its namespace's name, unique to the lab.
fn eal_prefix(gm: &Node) -> String {
    gm.ns.clone()
}

/// Prepares the lab for Meridian on `pmd` (for af_xdp: one queue each way, [`one_queue`]);
/// returns the guard that cleans up after the daemon (keep it alive until the daemon stops).
fn prepare(lab: &Lab, pmd: Pmd) -> DpdkCleanup<'_> {
    let (gm, sl) = (lab.node(0), lab.node(1));
    if pmd == Pmd::AfXdp {
        one_queue(lab, gm, sl);
    }
    DpdkCleanup { lab, node: gm, pmd }
}

/// The lab defaults ([`MeridianConfig::new`]) plus the DPDK data plane on `pmd`: EAL without
/// hugepages or PCI and with the lab's file prefix ([`eal_prefix`]), the poll loop on lcore 0,
/// the port's device and IPv4 address.
fn dpdk_config(gm: &Node, pmd: Pmd, transport: Transport) -> MeridianConfig {
    MeridianConfig::new(gm, transport)
        .set("dataplane", "backend", "\"dpdk\"")
        .set(
            "dataplane",
            "eal-args",
            &format!(
                "[\"--no-huge\", \"--no-pci\", \"--no-shconf\", \"-m\", \"256\", \
                 \"--file-prefix={}\"]",
                eal_prefix(gm)
            ),
        )
        .set("dataplane", "lcore", "0")
        .port("dpdk-device", &format!("\"{}\"", pmd.device(&gm.iface)))
        .port("address", &format!("\"{}\"", gm.ip))
}

/// Starts the DPDK build of Meridian with `cfg` on `gm` and waits until port 1 is MASTER,
/// stamping with the TSC in the poll loop (and for af_xdp, with the PMD's XDP program on the
/// interface). Returns the daemon and its status.
fn start_dpdk(lab: &Lab, gm: &Node, pmd: Pmd, cfg: &MeridianConfig) -> (Meridian, Value) {
    start_dpdk_stamping(lab, gm, pmd, cfg, "TSC (DPDK poll loop)")
}

/// [`start_dpdk`], expecting the port to report `stamping`.
fn start_dpdk_stamping(
    lab: &Lab,
    gm: &Node,
    pmd: Pmd,
    cfg: &MeridianConfig,
    stamping: &str,
) -> (Meridian, Value) {
    let mut m = lab.meridian_with(meridian_dpdk_binary(), gm, &cfg.to_toml());
    let status = m.wait_port_state(1, "MASTER", Duration::from_secs(20));
    assert_eq!(
        status["ports"][0]["timestamping"].as_str(),
        Some(stamping),
        "{status}"
    );
    if pmd == Pmd::AfXdp {
        let link = xdp_attachment(lab, gm).unwrap_or_else(|| {
            panic!(
                "af_xdp PMD running but no XDP program on {}; log:\n{}",
                gm.iface,
                m.log()
            )
        });
        println!("XDP on the grandmaster's veth: {}", link.trim());
    }
    (m, status)
}

/// Stops the daemon (SIGTERM, clean exit); for af_xdp prints the veth's XDP counters and
/// asserts that closing the port took the XDP program off the interface.
fn stop_dpdk(lab: &Lab, gm: &Node, pmd: Pmd, m: &mut Meridian) {
    m.stop_gracefully();
    if pmd == Pmd::AfXdp {
        println!("XDP counters: {}", xdp_counters(lab, gm));
        if let Some(link) = xdp_attachment(lab, gm) {
            panic!("XDP program still attached after a graceful stop: {link}");
        }
    }
}

/// A veth pair, or `None` (after printing `SKIPPED`) with `MERIDIAN_SKIP_DPDK` set or when
/// [`Lab::pair`] skips.
fn dpdk_lab(test: &str) -> Option<Lab> {
    if std::env::var_os("MERIDIAN_SKIP_DPDK").is_some() {
        println!("SKIPPED: MERIDIAN_SKIP_DPDK is set");
        return None;
    }
    Lab::pair(test)
}

/// Where the lab's Meridian serves `/metrics` (in its namespace).
const METRICS_PORT: u16 = 9473;

/// Runs Meridian on the DPDK `pmd` against a free-running ptp4l slave and judges the offsets.
fn dpdk_two_step(test: &str, pmd: Pmd, transport: Transport) {
    dpdk_two_step_on(test, pmd, transport, false);
}

/// [`dpdk_two_step`]; with `pipeline`, the RX and TX stages run on core 1 joined by rings to
/// the engine on core 0, which sleeps 200 µs when idle so ptp4l, tcpdump and the test keep a
/// core of this 2-core VM (the stamps are taken by the stages, which keep busy-polling).
///
/// The offset bounds judge a measurement on a shared 2-core VM, where another tenant can stall
/// the busy-polling core for a while: a run that misses them is measured once more in a fresh
/// lab, and the test fails only if both miss (both results are printed). Everything else —
/// residence samples, pipeline counters, the frames on the wire — must hold in every run.
fn dpdk_two_step_on(test: &str, pmd: Pmd, transport: Transport, pipeline: bool) {
    if pipeline && std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        println!("SKIPPED: the pipeline needs two cores");
        return;
    }
    let Some(Err(first)) = measure_two_step(test, pmd, transport, pipeline) else {
        return;
    };
    println!("offset bounds missed ({first}); measuring once more in a fresh lab");
    if let Some(Err(second)) = measure_two_step(test, pmd, transport, pipeline) {
        panic!("offset bounds missed twice: first {first}; then {second}");
    }
}

/// One run of [`dpdk_two_step_on`]: `None` when skipped, `Err` when the offsets miss their
/// bounds. Panics on every other failure.
fn measure_two_step(
    test: &str,
    pmd: Pmd,
    transport: Transport,
    pipeline: bool,
) -> Option<Result<(), String>> {
    let lab = dpdk_lab(test)?;
    let (gm, sl) = (lab.node(0), lab.node(1));
    let _cleanup = prepare(&lab, pmd);
    // Captured on the slave's side: the af_packet PMD transmits with PACKET_QDISC_BYPASS,
    // which skips the taps tcpdump reads on the grandmaster's own interface (and frames the
    // af_xdp PMD receives never reach them).
    let mut cap = lab.capture(sl);
    let vdev = pmd.name();
    let mut cfg = dpdk_config(gm, pmd, transport);
    let mut stamping = "TSC (DPDK poll loop)";
    if pipeline {
        cfg = cfg
            .set("dataplane", "rx-lcore", "1")
            .set("dataplane", "tx-lcore", "1")
            .set("dataplane", "idle-sleep-us", "200");
        stamping = "TSC (DPDK pipeline)";
    }
    let (mut m, _) = start_dpdk_stamping(&lab, gm, pmd, &cfg, stamping);
    let mut slave = lab.ptp4l_slave(sl, transport, "");
    slave.wait_for_text(
        &format!("selected best master clock {}", gm.eui64_identity()),
        Duration::from_secs(20),
    );
    let first = scrape(&lab, gm, METRICS_PORT);
    let samples = collect_offsets(
        &mut slave,
        parse_offsets,
        PTP4L_SKIP,
        SAMPLES,
        Duration::from_secs(SAMPLES as u64 + 25),
    );
    let stats = OffsetStats::of(&samples);
    println!("Meridian (DPDK {vdev}, {stamping}) → ptp4l, {transport:?}: {stats}");
    check_metrics_grow(&first, &scrape(&lab, gm, METRICS_PORT), SAMPLES);
    // Every Delay_Resp's residence time was measured (RX stamp → TX stamp).
    let status = m.status().unwrap_or_else(|e| panic!("status: {e}"));
    let residence = &status["residence"];
    println!("residence: {}", {
        let mut r = residence.clone();
        r["buckets"] = Value::Null;
        r
    });
    assert!(
        residence["count"].as_u64().unwrap_or(0) >= SAMPLES as u64,
        "residence samples: {residence}"
    );
    if pipeline {
        let c = &status["ports"][0]["counters"];
        println!("pipeline counters: {c}");
        assert!(
            c["pipeline_rx_event"].as_u64().unwrap_or(0) >= SAMPLES as u64,
            "{c}"
        );
        assert_eq!(c["pipeline_rx_ring_full"].as_u64(), Some(0), "{c}");
        assert_eq!(c["pipeline_tx_queue_full"].as_u64(), Some(0), "{c}");
    }
    check_dataplane_load(&status, pipeline);
    drop(slave);
    stop_dpdk(&lab, gm, pmd, &mut m);
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
    Some(if median.abs() >= 30_000 {
        Err(format!("|median| ≥ 30 µs: {median} ns; {stats}"))
    } else if p90 >= 50_000 {
        Err(format!("p90 |offset| ≥ 50 µs: {p90} ns; {stats}"))
    } else {
        Ok(())
    })
}

/// The status report's data-plane load is the port's and loops' own: mbufs in use below
/// the pool's size, bursts that add up to the frames received, a busy engine lcore; with a
/// pipeline, its three rings at the configured size and the stage thread on core 1
/// (reported as `io1`) busy too; without one, no rings and no stage thread.
fn check_dataplane_load(status: &Value, pipeline: bool) {
    let d = &status["ports"][0]["dataplane"];
    let loops = &status["loops"];
    println!("data plane load: {d}\nloops: {loops}");
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    // af_packet copies into mbufs as it receives: an idle port may hold none.
    assert!(
        n(&d["mbufs"]) > 0 && n(&d["mbufs_in_use"]) < n(&d["mbufs"]),
        "{d}"
    );
    for dir in ["rx_bursts", "tx_bursts"] {
        let b = &d[dir];
        let counts: Vec<u64> = b["counts"].as_array().unwrap().iter().map(n).collect();
        let bursts: u64 = counts.iter().sum();
        assert_eq!(counts.len(), 7, "{b}");
        assert!(bursts > 0 && n(&b["frames"]) >= bursts, "{dir}: {b}");
        assert!(n(&b["frames"]) <= 32 * bursts, "{dir}: {b}");
    }
    let rings: Vec<&str> = d["rings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let threads: Vec<(&str, u64)> = loops
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["thread"].as_str().unwrap(), n(&l["lcore"])))
        .collect();
    for l in loops.as_array().unwrap() {
        assert!(n(&l["busy_polls"]) > 0 && n(&l["idle_polls"]) > 0, "{l}");
    }
    if pipeline {
        assert_eq!(rings, ["rx", "tx", "stamps"], "{d}");
        for r in d["rings"].as_array().unwrap() {
            assert!(
                n(&r["capacity"]) >= 2 && n(&r["entries"]) <= n(&r["capacity"]),
                "{r}"
            );
        }
        assert_eq!(threads, [("engine", 0), ("io1", 1)], "{loops}");
    } else {
        assert!(rings.is_empty(), "{d}");
        assert_eq!(threads, [("engine", 0)], "{loops}");
    }
}

/// DPDK `net_af_packet` PMD, UDPv4 multicast two-step.
#[test]
fn dpdk_af_packet_udp4_ptp4l_slave() {
    dpdk_two_step("dpdk_af_packet_udp4", Pmd::AfPacket, Transport::UdpV4);
}

/// DPDK `net_af_packet` PMD, UDPv4 multicast two-step, through the RX → engine → TX pipeline.
#[test]
fn dpdk_af_packet_udp4_pipeline_ptp4l_slave() {
    dpdk_two_step_on(
        "dpdk_af_packet_udp4_pipeline",
        Pmd::AfPacket,
        Transport::UdpV4,
        true,
    );
}

/// DPDK `net_af_xdp` PMD, L2 multicast two-step, through the pipeline.
#[test]
fn dpdk_af_xdp_l2_pipeline_ptp4l_slave() {
    dpdk_two_step_on("dpdk_af_xdp_l2_pipeline", Pmd::AfXdp, Transport::L2, true);
}

/// DPDK `net_af_packet` PMD, L2 multicast two-step.
#[test]
fn dpdk_af_packet_l2_ptp4l_slave() {
    dpdk_two_step("dpdk_af_packet_l2", Pmd::AfPacket, Transport::L2);
}

/// DPDK `net_af_xdp` PMD, UDPv4 multicast two-step.
#[test]
fn dpdk_af_xdp_udp4_ptp4l_slave() {
    dpdk_two_step("dpdk_af_xdp_udp4", Pmd::AfXdp, Transport::UdpV4);
}

/// DPDK `net_af_xdp` PMD, L2 multicast two-step.
/// PTPv1 on the DPDK backend: a PADL v1 slave (unpatched, `PTPv1_UDPv4`) locks to
/// Meridian's v1 master on `net_af_packet` — the frames built, sent and stamped by the DPDK
/// data plane — with its offsets within the v2 bounds (a miss is measured once more).
#[test]
fn dpdk_af_packet_ptpv1_slave() {
    meridian_interop::padl_ptp4l();
    let Some(lab) = dpdk_lab("dpdkv1") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let pmd = Pmd::AfPacket;
    let _cleanup = prepare(&lab, pmd);
    let mut cap = lab.capture(sl);
    let cfg = dpdk_config(gm, pmd, Transport::UdpV4)
        .port("ptpv1", "true")
        .port("ptpv1-subdomains", r#"["_DFLT", "_ALT2"]"#);
    let (mut m, _) = start_dpdk(&lab, gm, pmd, &cfg);
    let mut v1 = lab.ptp4l_v1_slave(sl);
    let mut stats = OffsetStats::of(&collect_offsets(
        &mut v1,
        parse_offsets,
        PTP4L_SKIP,
        SAMPLES,
        Duration::from_secs(90),
    ));
    println!("Meridian (DPDK af_packet) → PADL v1 slave: {stats}");
    let within = |s: &OffsetStats| s.mean_ns.abs() < 25_000.0 && s.max_abs_ns < 50_000;
    if !within(&stats) {
        stats = OffsetStats::of(&collect_offsets(
            &mut v1,
            parse_offsets,
            PTP4L_SKIP + SAMPLES,
            SAMPLES,
            Duration::from_secs(90),
        ));
        println!("measured again after a miss: {stats}");
    }
    let status = m.status().unwrap_or_else(|e| panic!("status: {e}"));
    assert!(
        status["stats"]["rx_v1"].as_u64().unwrap_or(0) >= 10,
        "v1 Delay_Reqs received: {status}"
    );
    assert!(within(&stats), "v1 offsets out of bounds: {stats}");
    v1.stop();
    stop_dpdk(&lab, gm, pmd, &mut m);
    cap.stop();
    // Both subdomains' Syncs on their groups (the _ALT2 one has no slave: sent all the same).
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(cap.file())
        .args([
            "-Y",
            &format!(
                "ip.src == {} && ptp.versionptp == 1 && ptp.controlfield == 0",
                gm.ip
            ),
            "-T",
            "fields",
            "-e",
            "ptp.subdomain",
            "-e",
            "ip.dst",
        ])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["_DFLT\t224.0.1.129", "_ALT2\t224.0.1.131"] {
        let n = text.lines().filter(|l| l.trim() == want).count();
        assert!(n >= 10, "{n} v1 Syncs {want:?} from the DPDK port:\n{text}");
    }
}

#[test]
fn dpdk_af_xdp_l2_ptp4l_slave() {
    dpdk_two_step("dpdk_af_xdp_l2", Pmd::AfXdp, Transport::L2);
}

/// pmc over the network (`pmc -4|-2 -b 0 -i mi0` in the slave's namespace) against Meridian on
/// the DPDK `pmd`: the management requests arrive through the poll loop and the answers leave
/// through it. Explicit priorities, clock quality and user description; `identity = "auto"`,
/// which must come from the DPDK port's MAC.
fn dpdk_pmc(test: &str, pmd: Pmd, transport: Transport) {
    let Some(lab) = dpdk_lab(test) else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let _cleanup = prepare(&lab, pmd);
    let mut cap = lab.capture(sl);
    let cfg = dpdk_config(gm, pmd, transport)
        .clock("priority1", "100")
        .clock("priority2", "99")
        .clock("user-description", "\"DPDK lab\"")
        .clock(
            "quality",
            "{ class = 6, accuracy = 0x21, variance = 0x4e5d, time-source = \"gnss\", \
             time-traceable = true, frequency-traceable = true }",
        );
    let (mut m, status) = start_dpdk(&lab, gm, pmd, &cfg);
    let identity = gm.eui64_identity();
    assert_eq!(
        status["clock"]["identity"].as_str(),
        Some(identity.as_str()),
        "{status}"
    );
    let want = PmcWant {
        identity,
        priority1: 100,
        priority2: 99,
        class: 6,
        accuracy: 0x21,
        variance: 0x4e5d,
        time_source: 0x20,
        traceable: Some(true),
        protocol_address: match transport {
            Transport::UdpV4 => format!("1 {}", gm.ip),
            Transport::L2 => format!("3 {}", gm.mac),
        },
        user_description: "DPDK lab".into(),
    };
    lab.pmc_check_datasets(&m, gm, sl, transport, &want);
    lab.pmc_check_set_refused(sl, transport, 100);
    stop_dpdk(&lab, gm, pmd, &mut m);

    let report = cap.check_tshark();
    println!("Meridian sent {:?}", report.counts(&gm.mac));
    assert!(report.of(&gm.mac, MessageType::Management).count() >= 8);
}

/// pmc over UDPv4 against Meridian on the `net_af_packet` PMD.
#[test]
fn dpdk_af_packet_pmc_udp4() {
    dpdk_pmc("dpdk_af_packet_pmc_udp4", Pmd::AfPacket, Transport::UdpV4);
}

/// pmc over L2 against Meridian on the `net_af_packet` PMD.
#[test]
fn dpdk_af_packet_pmc_l2() {
    dpdk_pmc("dpdk_af_packet_pmc_l2", Pmd::AfPacket, Transport::L2);
}

/// pmc over UDPv4 against Meridian on the `net_af_xdp` PMD.
#[test]
fn dpdk_af_xdp_pmc_udp4() {
    dpdk_pmc("dpdk_af_xdp_pmc_udp4", Pmd::AfXdp, Transport::UdpV4);
}

/// pmc over L2 against Meridian on the `net_af_xdp` PMD.
#[test]
fn dpdk_af_xdp_pmc_l2() {
    dpdk_pmc("dpdk_af_xdp_pmc_l2", Pmd::AfXdp, Transport::L2);
}

/// The shipped monitoring against the real thing: a Prometheus server (Debian's) in the
/// grandmaster's namespace scrapes Meridian (DPDK af_xdp, serving a free-running ptp4l slave)
/// every second with the shipped alert rules loaded. Then every query of the shipped Grafana
/// dashboard returns data (no Grafana server can run here; this catches names drifting), the
/// p99 residence time from `histogram_quantile` is a plausible duration, and every alert rule
/// evaluates without error.
#[test]
fn dpdk_af_xdp_prometheus_alerts_and_dashboard() {
    let Some(lab) = dpdk_lab("dpdk_monitoring") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let _cleanup = prepare(&lab, Pmd::AfXdp);
    // The leap-second file (tzdata) rather than a fixed offset, so its expiry is exported.
    // 128 Syncs a second, so the second or two of the exporter burst holds enough to judge.
    let cfg = dpdk_config(gm, Pmd::AfXdp, Transport::UdpV4)
        .clock("utc-offset", "\"auto\"")
        .port("log-sync-interval", "-7");
    let (mut m, _) = start_dpdk(&lab, gm, Pmd::AfXdp, &cfg);
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    slave.wait_for_text(
        &format!("selected best master clock {}", gm.eui64_identity()),
        Duration::from_secs(20),
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = repo.join("monitoring/prometheus/meridian-alerts.yml");
    let prom_cfg = lab.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: meridian\n    static_configs:\n      - targets: \
             ['127.0.0.1:{METRICS_PORT}']\n",
            rules.display()
        ),
    );
    let tsdb = lab.path("tsdb");
    let prom = lab.spawn(
        gm,
        "prometheus",
        &[
            "prometheus".to_string(),
            format!("--config.file={}", prom_cfg.display()),
            format!("--storage.tsdb.path={}", tsdb.display()),
            format!("--web.listen-address=127.0.0.1:{PROM_PORT}"),
        ],
    );
    // Targets are picked up within ~5 s; wait until the residence histogram has a rate.
    let ready = poll(Duration::from_secs(60), Duration::from_secs(2), || {
        let r = try_prom_query(
            &lab,
            gm,
            PROM_PORT,
            "sum(rate(meridian_residence_seconds_count[15s])) > 0",
        )?;
        (!r.is_empty()).then_some(())
    });
    assert!(
        ready.is_some(),
        "Prometheus never saw residence samples; its log:\n{}",
        prom.output()
    );
    let p99 = prom_query(
        &lab,
        gm,
        PROM_PORT,
        "histogram_quantile(0.99, sum by (le) (rate(meridian_residence_seconds_bucket[15s])))",
    );
    let p99: f64 = p99[0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    println!("residence p99 through Prometheus: {p99} s");
    assert!((1e-7..1e-2).contains(&p99), "p99 {p99} s");
    // Every panel query of the dashboard has data.
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("monitoring/grafana/meridian.json")).unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dash["panels"].as_array().unwrap() {
        // This daemon runs single-core: the pipeline's rings do not exist, and must not
        // appear; its reference is the system clock as the kernel keeps it, so no servo
        // runs and its series must not appear either.
        let title = panel["title"].as_str().unwrap();
        let pipeline_only = title.contains("(pipeline)") || title.contains("(servo)");
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$instance", ".*")
                .replace("$__rate_interval", "15s");
            let r = prom_query(&lab, gm, PROM_PORT, &expr);
            if pipeline_only {
                assert!(r.is_empty(), "panel {:?}: data for {expr}", panel["title"]);
                continue;
            }
            assert!(
                !r.is_empty(),
                "panel {:?}: no data for {expr}",
                panel["title"]
            );
            queries += 1;
        }
    }
    println!("{queries} dashboard queries returned data");
    // The data-plane series carry the port's and lcore's real load.
    for q in [
        "meridian_dpdk_polls_total{thread=\"engine\",lcore=\"0\",result=\"busy\"} > 0",
        "meridian_dpdk_polls_total{thread=\"engine\",lcore=\"0\",result=\"idle\"} > 0",
        // af_xdp keeps its fill ring stocked with the pool's mbufs.
        "meridian_dpdk_mbufs_in_use > 0 and meridian_dpdk_mbufs_in_use < meridian_dpdk_mbufs",
        "meridian_dpdk_burst_frames_count{direction=\"rx\"} > 0",
        "meridian_dpdk_burst_frames_sum{direction=\"tx\"} >= meridian_dpdk_burst_frames_count{direction=\"tx\"} > 0",
    ] {
        assert!(!prom_query(&lab, gm, PROM_PORT, q).is_empty(), "nothing for {q}");
    }
    // Every alert rule evaluates cleanly against the real series.
    let rules = http_json(&lab, gm, PROM_PORT, "/api/v1/rules");
    let group = &rules["data"]["groups"][0];
    let rules = group["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 13, "{group}");
    for r in rules {
        assert_eq!(r["health"], "ok", "{r}");
    }
    drop(prom);
    exporter_burst_leaves_syncs_alone(&lab, gm);
    drop(slave);
    stop_dpdk(&lab, gm, Pmd::AfXdp, &mut m);
}

/// Requests in the exporter burst.
const BURST: usize = 1_000;

/// The exporter under a burst of [`BURST`] `/metrics` requests (one client, back to back, on
/// the core the data plane does not use, as on an appliance with isolated cores): the Sync
/// emission histogram (TX stamp − scheduled time) of the Syncs sent during the burst matches
/// the one of a quiet window just before. "Matches": the median and the 90th percentile
/// during the burst are at most one bucket step (×2.5) above the quiet ones, or under 10 µs.
/// A shared 2-core VM can stall the poll core in either window, so a miss is measured once
/// more before the test fails (both printed); every request must be answered every time.
fn exporter_burst_leaves_syncs_alone(lab: &Lab, gm: &Node) {
    let Err(first) = exporter_burst_once(lab, gm) else {
        return;
    };
    println!("Sync emission moved ({first}); measuring once more");
    if let Err(second) = exporter_burst_once(lab, gm) {
        panic!("the exporter burst moved Sync emission twice: {first}; then {second}");
    }
}

fn exporter_burst_once(lab: &Lab, gm: &Node) -> Result<(), String> {
    const SERIES: &str = "meridian_sync_emission_seconds";
    const LABELS: &str = "delivery=\"multicast\",port=\"1\"";
    let quantiles = |a: &str, b: &str| window_quantiles(a, b, SERIES, LABELS, &[0.5, 0.9, 0.99]);
    let s0 = scrape(lab, gm, METRICS_PORT);
    std::thread::sleep(Duration::from_secs(4));
    let s1 = scrape(lab, gm, METRICS_PORT);
    // Counts the answers that start "HTTP/1.x 200".
    let script = format!(
        "ok=0; for i in $(seq {BURST}); do exec 3<>/dev/tcp/127.0.0.1/{METRICS_PORT} || exit 1; \
         printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; \
         case \"$(head -c 12 <&3; cat <&3 >/dev/null)\" in 'HTTP/1.'?' 200') ok=$((ok+1));; esac; \
         exec 3<&-; done; echo $ok"
    );
    let started = std::time::Instant::now();
    let out = lab.run(
        gm,
        &["taskset", "-c", "1", "bash", "-c", &script],
        Duration::from_secs(120),
    );
    let took = started.elapsed();
    let s2 = scrape(lab, gm, METRICS_PORT);
    let answered = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && answered == BURST.to_string(),
        "burst client: {answered} of {BURST} answered 200: {out:?}"
    );
    let (n_quiet, quiet) = quantiles(&s0, &s1);
    let (n_burst, burst) = quantiles(&s1, &s2);
    let line = format!(
        "Sync emission p50/p90/p99: quiet {quiet:?} s ({n_quiet} Syncs in 4 s); during \
         {BURST} scrapes in {took:.1?}: {burst:?} s ({n_burst} Syncs)"
    );
    println!("{line}");
    assert!(n_quiet >= 100.0 && n_burst >= 50.0, "too few Syncs: {line}");
    let moved = (0..2).any(|k| burst[k] > (2.5 * quiet[k]).max(10e-6) * 1.0001);
    if moved {
        Err(line)
    } else {
        Ok(())
    }
}

/// Where the test's Prometheus server listens (in the grandmaster's namespace).
const PROM_PORT: u16 = 9090;

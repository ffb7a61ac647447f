//! Hostile traffic while a real slave measures (hardening issue 13): a flood of mutated PTP
//! frames at Meridian's event and general ports must neither take the port off MASTER nor
//! cost the slave its samples, and the slave's offsets may spread no more than twice as much
//! as without the flood — or than the same flood does when aimed at a closed port (the
//! control run: what the two shared vCPUs and the bridge cost, with Meridian not involved).

use std::time::Duration;

use meridian_interop::{parse_offsets, Lab, MeridianConfig, OffsetStats, Proc, Transport};

const FLOOD_RATE: u32 = 50_000;
/// Each phase's window: a free-running ptp4l prints one sample a second (see `peers.rs`).
const WINDOW: Duration = Duration::from_secs(25);
/// A phase starts measuring this long after its flood has started.
const SETTLE: Duration = Duration::from_secs(2);

/// The slave's samples over the next `WINDOW`.
fn window(slave: &Proc) -> Vec<(i64, i64)> {
    let from = parse_offsets(&slave.stdout()).len();
    std::thread::sleep(WINDOW);
    parse_offsets(&slave.stdout())[from..].to_vec()
}

#[test]
fn garbage_flood_keeps_master_and_the_slaves_spread() {
    let Some(lab) = Lab::bridged("garbage_flood", 3) else {
        return;
    };
    let (gm, sl, hostile) = (lab.node(0), lab.node(1), lab.node(2));
    let mut m = lab.meridian(gm, &MeridianConfig::new(gm, Transport::UdpV4).to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    // Past the first path-delay estimates.
    slave.wait_for("4 offset samples", Duration::from_secs(30), |out| {
        (parse_offsets(out).len() >= 4).then_some(())
    });
    let flood = |name: &str, ports: &str| {
        let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/ptp-flood.py");
        let secs = (SETTLE + WINDOW).as_secs() + 1;
        lab.spawn(
            hostile,
            name,
            &[
                "python3".into(),
                tool.into(),
                "--dst".into(),
                gm.ip.to_string(),
                "--ports".into(),
                ports.into(),
                "--rate".into(),
                FLOOD_RATE.to_string(),
                "--seconds".into(),
                secs.to_string(),
            ],
        )
    };
    // The flooder's own count: the flood really ran at (nearly) its rate.
    let sent = |p: &mut Proc| -> u64 {
        p.wait_for_text("frames in", Duration::from_secs(30));
        let out = p.stdout();
        println!("{}: {}", p.name(), out.trim());
        out.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("the flooder's count")
    };
    let drops_before = junk_counted(&m);

    let quiet = window(&slave);

    let mut f = flood("flood-ptp", "319,320");
    std::thread::sleep(SETTLE);
    let flooded = window(&slave);
    let flood_sent = sent(&mut f);
    assert_eq!(
        m.port_state(1).as_deref(),
        Ok("MASTER"),
        "the flood moved the port"
    );
    let junk = junk_counted(&m) - drops_before;

    let mut c = flood("flood-closed", "5319,5320");
    std::thread::sleep(SETTLE);
    let control = window(&slave);
    sent(&mut c);

    let (q, fl, ct) = (
        OffsetStats::of(&quiet),
        OffsetStats::of(&flooded),
        OffsetStats::of(&control),
    );
    println!("quiet:            {q}");
    println!("flood at PTP:     {fl}");
    println!("flood elsewhere:  {ct}");
    println!(
        "Meridian counted {junk} of {flood_sent} flood frames as dropped (malformed, rate-limited, ...)"
    );
    // The flood reached Meridian and was counted, not silently lost in a socket queue.
    assert!(
        flood_sent as f64 >= 0.8 * f64::from(FLOOD_RATE) * (SETTLE + WINDOW).as_secs_f64(),
        "the flooder fell short: {flood_sent}"
    );
    assert!(
        junk as f64 >= 0.5 * flood_sent as f64,
        "only {junk} of {flood_sent} flood frames were seen and counted"
    );
    // ≥ 90 % of the quiet run's samples.
    assert!(
        fl.n as f64 >= 0.9 * q.n as f64,
        "samples under flood {} vs quiet {}",
        fl.n,
        q.n
    );
    // The spread: within 2× quiet, or within 1.5× of what the lab alone does under the same
    // load (with a 1 µs floor: software stamps on a shared VM). On a miss the flood phase is
    // measured once more (one preempted sample on the 2 shared vCPUs can double a 25-sample
    // deviation), as the offset tests do.
    let bound = (2.0 * q.stddev_ns).max(1.5 * ct.stddev_ns).max(1_000.0);
    let mut fl = fl;
    if fl.stddev_ns > bound {
        let mut f = flood("flood-ptp-again", "319,320");
        std::thread::sleep(SETTLE);
        let again = OffsetStats::of(&window(&slave));
        sent(&mut f);
        println!("flood at PTP (measured again after a miss): {again}");
        if again.stddev_ns < fl.stddev_ns {
            fl = again;
        }
    }
    assert!(
        fl.stddev_ns <= bound,
        "offset spread under flood {:.0} ns > {bound:.0} ns (quiet {:.0}, control {:.0})",
        fl.stddev_ns,
        q.stddev_ns,
        ct.stddev_ns
    );
    m.stop_gracefully();
}

/// Frames Meridian received and dropped for a reason (any reason): the status's drop map.
fn junk_counted(m: &meridian_interop::Meridian) -> u64 {
    let s = m.status().expect("status");
    s["stats"]["drops"]
        .as_object()
        .map(|d| d.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0)
}

/// Spoofed-source flood (hardening issue 13): 20 k/s forged unicast negotiation — REQUESTs
/// from 4 000 forged addresses, CANCELs forged from the real slaves' own addresses, better-
/// clock Announces — while 50 real ptp4l unicast clients hold 10 s grants (so each renews
/// two or three times under the flood). Their Syncs, counted on the wire, lose < 0.1 %; the
/// port stays MASTER (`master-only`, as a unicast grandmaster runs).
#[test]
fn spoofed_negotiation_flood_spares_fifty_real_slaves() {
    const SLAVES: usize = 50;
    const FLOOD_S: u64 = 30;
    let Some(lab) = Lab::bridged("spoof_flood", SLAVES + 2) else {
        return;
    };
    let gm = lab.node(0);
    let hostile = lab.node(SLAVES + 1);
    // The forged sources are on-link for Meridian's kernel (else reverse-path filtering would
    // drop them before Meridian saw them): replies to them wait for ARP that never comes.
    let out = lab.run(
        gm,
        &["ip", "route", "add", "10.78.0.0/16", "dev", &gm.iface],
        Duration::from_secs(5),
    );
    assert!(out.status.success(), "{out:?}");
    let cfg = MeridianConfig::new(gm, Transport::UdpV4)
        .port("unicast", "true")
        .port("multicast", "false")
        .port("master-only", "true");
    let mut m = lab.meridian(gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut slaves: Vec<Proc> = (1..=SLAVES)
        .map(|i| {
            let sl = lab.node(i);
            lab.ptp4l_slave(
                sl,
                Transport::UdpV4,
                &meridian_interop::ptp4l_unicast_client_cfg(gm, sl, 10),
            )
        })
        .collect();
    let granted = || -> u64 {
        m.status()
            .ok()
            .and_then(|s| s["ports"][0]["unicast_granted"]["sync"].as_u64())
            .unwrap_or(0)
    };
    meridian_interop::poll(Duration::from_secs(40), Duration::from_millis(500), || {
        (granted() == SLAVES as u64).then_some(())
    })
    .unwrap_or_else(|| panic!("only {} of {SLAVES} slaves granted Sync", granted()));

    // Meridian's event messages only (its Syncs): the flood is not captured, so tcpdump
    // keeps up (with every PTP frame captured it dropped ~1 % of them itself).
    let own = lab.path("syncs-from-meridian.pcap");
    let mut capture = lab.spawn(
        gm,
        "capture-syncs",
        &[
            "tcpdump".into(),
            "-Z".into(),
            "root".into(),
            "--immediate-mode".into(),
            "-B".into(),
            "16384".into(),
            "-U".into(),
            "-i".into(),
            gm.iface.clone(),
            "-w".into(),
            own.display().to_string(),
            format!("src host {} and udp src port 319", gm.ip),
        ],
    );
    capture.wait_for_text("listening on", Duration::from_secs(10));
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/ptp-spoof.py");
    let mut f = lab.spawn(
        hostile,
        "spoof",
        &[
            "python3".into(),
            tool.into(),
            "--dst".into(),
            gm.ip.to_string(),
            "--spoof".into(),
            "10.78.0.0/16".into(),
            "--count".into(),
            "4000".into(),
            "--victims".into(),
            format!("{}-{}", lab.node(1).ip, lab.node(SLAVES).ip),
            "--rate".into(),
            "20000".into(),
            "--seconds".into(),
            FLOOD_S.to_string(),
        ],
    );
    f.wait_for_text("frames in", Duration::from_secs(FLOOD_S + 20));
    println!("spoof: {}", f.stdout().trim());
    capture.stop();
    assert_eq!(m.port_state(1).as_deref(), Ok("MASTER"));
    let status = m.status().expect("status");
    println!("drops: {}", status["stats"]["drops"]);
    println!(
        "Syncs skipped (TX-stamp table full): {}; capture: {}",
        status["stats"]["tx_timestamp_table_full"],
        capture
            .stderr()
            .lines()
            .filter(|l| l.contains("dropped"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "unicast: granted {} slaves {}",
        status["ports"][0]["unicast_granted"], status["ports"][0]["unicast_slaves"]
    );

    // Syncs per real slave over the flood, from the capture: the count against the span
    // between its first and last Sync at 8 a second.
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&own)
        .args([
            "-Y",
            "ptp.v2.messagetype == 0",
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
            "-e",
            "ip.dst",
        ])
        .output()
        .expect("tshark");
    let mut per: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = l.split('\t');
        if let (Some(t), Some(d)) = (it.next(), it.next()) {
            if let Ok(t) = t.parse::<f64>() {
                per.entry(d.to_string()).or_default().push(t);
            }
        }
    }
    let (mut expected, mut missing) = (0u64, 0u64);
    for i in 1..=SLAVES {
        let ip = lab.node(i).ip.to_string();
        let ts = per.get(&ip).cloned().unwrap_or_default();
        assert!(
            ts.len() > 8 * (FLOOD_S as usize) / 2,
            "{ip}: {} Syncs",
            ts.len()
        );
        let span = ts[ts.len() - 1] - ts[0];
        let want = (span * 8.0).round() as u64 + 1;
        expected += want;
        missing += want.saturating_sub(ts.len() as u64);
    }
    let loss = missing as f64 / expected as f64;
    println!(
        "{SLAVES} real slaves under the spoofed flood: {missing} of {expected} Syncs missing ({:.4} %)",
        loss * 100.0
    );
    assert!(loss < 0.001, "{missing} of {expected} Syncs missing");
    for s in &mut slaves {
        assert!(s.is_running(), "{} exited:\n{}", s.name(), s.output());
    }
    m.stop_gracefully();
}

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

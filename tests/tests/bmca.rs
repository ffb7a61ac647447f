//! Test 6: BMCA against a real better master. A free-running ptp4l with priority1 1 joins
//! Meridian's bridge: Meridian (priority1 128, `better-master = "passive"`) must go PASSIVE — say
//! so in its log and in `meridian status --json`, and stop sending Announce and Sync — and return
//! to MASTER once that master stops (after announceReceiptTimeout: 3 × 1 s here).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use meridian_interop::{poll, Lab, MeridianConfig, MessageType, Transport};
use serde_json::Value;

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Hex digits only, lower case: compares clock identities however they are punctuated.
fn hex_only(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase()
}

#[test]
fn better_master_makes_meridian_passive_then_master_again() {
    let Some(lab) = Lab::bridged("bmca_passive", 2) else {
        return;
    };
    let (gm, other) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let mut m = lab.meridian(gm, &MeridianConfig::new(gm, Transport::UdpV4).to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));

    let mut better = lab.ptp4l_master(
        other,
        Transport::UdpV4,
        "priority1 1\nlogAnnounceInterval 0\nlogSyncInterval -3\nannounceReceiptTimeout 3\n",
    );
    let started = Instant::now();
    let status = m.wait_port_state(1, "PASSIVE", Duration::from_secs(15));
    let t_passive = now_epoch();
    println!(
        "PASSIVE {:.1} s after the better master started; port: {}",
        started.elapsed().as_secs_f64(),
        status["ports"][0]
    );
    assert!(
        m.log().contains("MASTER to PASSIVE"),
        "no `MASTER to PASSIVE` in the log:\n{}",
        meridian_interop::tail(&m.log(), 30)
    );
    let best = status["ports"][0]["best_master"].clone();
    assert!(
        best.as_str()
            .is_some_and(|b| hex_only(b).contains(&hex_only(&other.eui64_identity()))),
        "status best_master {best} should name {}",
        other.eui64_identity()
    );
    // ptp4l itself must stay master (it is the better one).
    assert!(
        !better.output().contains("to SLAVE") && !better.output().contains("to PASSIVE"),
        "ptp4l with priority1 1 left MASTER:\n{}",
        better.output()
    );

    // Stays PASSIVE while the better master runs: watch for 3 s (three of its Announces).
    let left = poll(
        Duration::from_secs(3),
        Duration::from_millis(200),
        || match m.port_state(1) {
            Ok(s) if s == "PASSIVE" => None,
            other => Some(other),
        },
    );
    assert!(
        left.is_none(),
        "left PASSIVE while the better master runs: {left:?}"
    );

    let t_stop = now_epoch();
    better.stop();
    let stopped = Instant::now();
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let t_master = now_epoch();
    println!(
        "back to MASTER {:.1} s after the better master stopped",
        stopped.elapsed().as_secs_f64()
    );
    assert!(
        m.log().contains("PASSIVE to MASTER"),
        "no `PASSIVE to MASTER` in the log:\n{}",
        meridian_interop::tail(&m.log(), 30)
    );
    assert_eq!(
        m.status().expect("status")["ports"][0]["best_master"],
        Value::Null
    );
    // Serves again: Announces on the wire after the return.
    let gm_mac = gm.mac.clone();
    cap.wait_for(
        "Announce from Meridian after its return to MASTER",
        Duration::from_secs(5),
        |r| {
            r.of(&gm_mac, MessageType::Announce)
                .any(|f| f.time > t_master)
        },
    );
    m.stop_gracefully();

    let report = cap.check_tshark();
    println!("Meridian sent {:?}", report.counts(&gm.mac));
    println!("ptp4l sent {:?}", report.counts(&other.mac));
    // The status is polled every 200 ms; allow 0.5 s for the transition itself.
    let quiet: Vec<(u64, f64)> = report
        .from_mac(&gm.mac)
        .filter(|f| {
            matches!(
                f.message_type(),
                Some(MessageType::Announce | MessageType::Sync | MessageType::FollowUp)
            ) && f.time > t_passive + 0.5
                && f.time < t_stop
        })
        .map(|f| (f.number, f.time))
        .collect();
    assert!(
        quiet.is_empty(),
        "Announce/Sync/Follow_Up sent while PASSIVE (frame, time): {quiet:?}"
    );
    let after = report
        .of(&gm.mac, MessageType::Announce)
        .filter(|f| f.time > t_master)
        .count();
    assert!(after > 0, "no Announce after returning to MASTER");
    report.assert_announces_ptp_timescale(&gm.mac, 37);
}

/// The slave's grandmaster as its own ptp4l sees it (`PARENT_DATA_SET` over its UDS).
fn slave_grandmaster(lab: &Lab, sl: &meridian_interop::Node) -> Option<String> {
    lab.slave_parent_data_set(sl)?
        .get("grandmasterIdentity")
        .cloned()
}

/// Grandmaster redundancy, as users scale past one box (hardening issue): two Meridians on
/// one segment, the better (priority2 100) MASTER and the other PASSIVE; a free-running ptp4l
/// slave follows the first. Kill it: the second becomes MASTER and the slave moves to it
/// within the BMCA timeouts; start the first again: it takes over and the slave returns.
#[test]
fn redundant_grandmasters_fail_over_and_back() {
    let Some(lab) = Lab::bridged("redundant_gm", 3) else {
        return;
    };
    let (a, b, sl) = (lab.node(0), lab.node(1), lab.node(2));
    let cfg_a = MeridianConfig::new(a, Transport::UdpV4).clock("priority2", "100");
    let cfg_b = MeridianConfig::new(b, Transport::UdpV4).clock("priority2", "200");
    let mut ma = lab.meridian(a, &cfg_a.to_toml());
    let mut mb = lab.meridian(b, &cfg_b.to_toml());
    ma.wait_port_state(1, "MASTER", Duration::from_secs(15));
    mb.wait_port_state(1, "PASSIVE", Duration::from_secs(15));
    let _slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    let follows = |who: &meridian_interop::Node, what: &str, timeout: Duration| {
        let want = hex_only(&who.eui64_identity());
        let t = Instant::now();
        let got = poll(timeout, Duration::from_millis(300), || {
            slave_grandmaster(&lab, sl)
                .filter(|g| hex_only(g) == want)
                .map(|_| ())
        });
        assert!(got.is_some(), "{what}: the slave does not follow {want}");
        t.elapsed()
    };
    follows(a, "at start", Duration::from_secs(30));

    let killed = Instant::now();
    ma.proc().stop();
    mb.wait_port_state(1, "MASTER", Duration::from_secs(20));
    let b_master = killed.elapsed();
    let moved = follows(b, "after the first died", Duration::from_secs(30)) + b_master;
    println!(
        "first killed: second MASTER after {b_master:?}, the slave follows it after {moved:?}"
    );
    // Default profile: announceReceiptTimeout 3 × 2 s at both Meridian and ptp4l.
    assert!(moved < Duration::from_secs(20), "{moved:?}");

    let restarted = Instant::now();
    let mut ma = lab.meridian(a, &cfg_a.to_toml());
    ma.wait_port_state(1, "MASTER", Duration::from_secs(20));
    mb.wait_port_state(1, "PASSIVE", Duration::from_secs(10));
    let back = follows(a, "after the first came back", Duration::from_secs(30));
    println!(
        "first restarted: MASTER again, the slave back on it {:?} after the restart",
        restarted.elapsed()
    );
    assert!(back < Duration::from_secs(30));
    ma.stop_gracefully();
    mb.stop_gracefully();
}

//! Faults of the network under a running grandmaster (hardening issue, finding 6): the link
//! goes down and comes back.

use std::time::{Duration, Instant};

use meridian_interop::{parse_offsets, Lab, MeridianConfig, Transport};

/// `ip link set mi0 down` under Meridian: the port goes FAULTY (logged, in the status and so
/// in `meridian_port_state`) and sends nothing; `up` again: MASTER within 2 s, and the
/// free-running ptp4l slave gets Syncs again.
#[test]
fn link_down_faulty_and_back() {
    let Some(lab) = Lab::pair("link_fault") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut m = lab.meridian(gm, &MeridianConfig::new(gm, Transport::UdpV4).to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    slave.wait_for_text("master offset", Duration::from_secs(20));

    let ip = |state: &str| {
        let out = lab.run(
            gm,
            &["ip", "link", "set", &gm.iface, state],
            Duration::from_secs(5),
        );
        assert!(out.status.success(), "ip link set {state}: {out:?}");
    };
    ip("down");
    let t = Instant::now();
    m.wait_port_state(1, "FAULTY", Duration::from_secs(3));
    println!("link down: FAULTY after {:?}", t.elapsed());
    assert!(m.log().contains("link down"), "{}", m.log());
    std::thread::sleep(Duration::from_secs(2));
    let before = parse_offsets(&slave.stdout()).len();
    ip("up");
    let t = Instant::now();
    m.wait_port_state(1, "MASTER", Duration::from_secs(2));
    let back = t.elapsed();
    println!("link up: MASTER after {back:?}");
    // The slave hears Syncs again (one offset line a second).
    let deadline = Instant::now() + Duration::from_secs(20);
    while parse_offsets(&slave.stdout()).len() < before + 3 {
        assert!(
            Instant::now() < deadline,
            "the slave got no Syncs after the link came back:\n{}",
            slave.stdout()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    m.stop_gracefully();
}

/// Hardening finding 9: with `[security] user = "nobody"` Meridian opens its ports as root,
/// then runs as nobody with no capabilities at all (software stamps: nothing to steer) and
/// no_new_privs — every thread — and still serves a free-running ptp4l slave and answers
/// `meridian status`.
#[test]
fn runs_unprivileged_after_opening_its_ports() {
    let Some(lab) = Lab::pair("unprivileged") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let cfg = MeridianConfig::new(gm, Transport::UdpV4).set("security", "user", "\"nobody\"");
    let mut m = lab.meridian(gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let pid = m.daemon_pid();
    let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .map(|e| e.expect("task").path())
        .collect();
    assert!(tasks.len() >= 3, "{tasks:?}");
    for t in &tasks {
        let status = std::fs::read_to_string(t.join("status")).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("{name} in {status}"))
                .to_string()
        };
        assert_eq!(field("Uid:"), "65534\t65534\t65534\t65534", "{t:?}");
        assert_eq!(field("Groups:"), "", "{t:?}");
        assert_eq!(field("CapEff:"), "0000000000000000", "{t:?}");
        assert_eq!(field("CapPrm:"), "0000000000000000", "{t:?}");
        assert_eq!(field("NoNewPrivs:"), "1", "{t:?}");
    }
    assert!(m.log().contains("privileges dropped"), "{}", m.log());
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    let deadline = Instant::now() + Duration::from_secs(30);
    while parse_offsets(&slave.stdout()).len() < 5 {
        assert!(
            Instant::now() < deadline,
            "no offsets from the slave:\n{}",
            slave.stdout()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    slave.stop();
    assert_eq!(m.port_state(1).as_deref(), Ok("MASTER"));
    m.stop_gracefully();
}

/// The interface removed and created again under its name (a new ifindex, as when a VLAN
/// interface or a hot-plugged NIC comes back): the port goes FAULTY while it is gone, then
/// Meridian opens it again on the new interface — MASTER within 2 s of the link being up —
/// and the free-running ptp4l slave, which never moved, measures against it again.
#[test]
fn interface_removed_and_recreated_is_served_again() {
    let Some(lab) = Lab::bridged("iface_recreated", 2) else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut m = lab.meridian(gm, &MeridianConfig::new(gm, Transport::UdpV4).to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    slave.wait_for_text("master offset", Duration::from_secs(20));

    lab.remove_link(0);
    let t = Instant::now();
    m.wait_port_state(1, "FAULTY", Duration::from_secs(3));
    println!("interface removed: FAULTY after {:?}", t.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    let before = parse_offsets(&slave.stdout()).len();
    lab.recreate_link(0);
    let t = Instant::now();
    m.wait_port_state(1, "MASTER", Duration::from_secs(3));
    let back = t.elapsed();
    println!("interface re-created: MASTER after {back:?}");
    assert!(back < Duration::from_secs(2), "{back:?}");
    assert!(
        m.log().contains("interface re-created: port reopened"),
        "{}",
        m.log()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while parse_offsets(&slave.stdout()).len() < before + 3 {
        assert!(
            Instant::now() < deadline,
            "the slave got nothing from the re-created interface:\n{}",
            slave.stdout()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let reopened = m.status().expect("status")["ports"][0]["counters"]["reopened"].clone();
    println!("reopened: {reopened}");
    m.stop_gracefully();
}

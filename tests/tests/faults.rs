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

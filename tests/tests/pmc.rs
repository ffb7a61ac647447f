//! Test 5: linuxptp `pmc` over the network (`pmc -4|-2 -b 0 -i IFACE`, to 224.0.1.129:320 or
//! 01:1B:19:00:00:00) reads Meridian's datasets, and they hold what the config says.

use std::time::Duration;

use meridian_interop::{Lab, MeridianConfig, MessageType, PmcWant, Transport};
use serde_json::Value;

/// pmc over UDPv4, with an explicit identity, priorities and clock quality in the config.
#[test]
fn pmc_udp4_datasets() {
    let Some(lab) = Lab::pair("pmc_udp4") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let config = MeridianConfig::new(gm, Transport::UdpV4)
        .clock("identity", "\"001b19.fffe.000001\"")
        .clock("priority1", "100")
        .clock("priority2", "99")
        .clock("user-description", "\"interop lab\"")
        .clock(
            "quality",
            "{ class = 6, accuracy = 0x21, variance = 0x4e5d, time-source = \"gnss\", \
             time-traceable = true, frequency-traceable = true }",
        );
    let mut m = lab.meridian(gm, &config.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let want = PmcWant {
        identity: "001b19.fffe.000001".into(),
        priority1: 100,
        priority2: 99,
        class: 6,
        accuracy: 0x21,
        variance: 0x4e5d,
        time_source: 0x20,
        traceable: Some(true),
        protocol_address: format!("1 {}", gm.ip),
        user_description: "interop lab".into(),
    };
    lab.pmc_check_datasets(&m, gm, sl, Transport::UdpV4, &want);
    lab.pmc_check_set_refused(sl, Transport::UdpV4, 100);
    m.stop_gracefully();

    let report = cap.check_tshark();
    println!("Meridian sent {:?}", report.counts(&gm.mac));
    assert!(report.of(&gm.mac, MessageType::Management).count() >= 8);
}

/// pmc over L2, with `identity = "auto"` and `quality = "auto"`: the datasets must agree with
/// `meridian status --json`.
#[test]
fn pmc_l2_datasets() {
    let Some(lab) = Lab::pair("pmc_l2") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let mut m = lab.meridian(gm, &MeridianConfig::new(gm, Transport::L2).to_toml());
    let status = m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let c = &status["clock"];
    let num = |k: &str| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("status clock.{k} missing or not a number: {status}"))
    };
    let want = PmcWant {
        identity: gm.eui64_identity(),
        priority1: 128,
        priority2: 128,
        class: num("clock_class"),
        accuracy: num("clock_accuracy"),
        variance: num("offset_scaled_log_variance"),
        time_source: num("time_source"),
        traceable: None,
        protocol_address: format!("3 {}", gm.mac),
        user_description: "Meridian grandmaster".into(),
    };
    assert_eq!(c["identity"], Value::from(want.identity.clone()));
    assert_eq!(c["current_utc_offset"], Value::from(37));
    assert_eq!(c["ptp_timescale"], Value::from(true));
    lab.pmc_check_datasets(&m, gm, sl, Transport::L2, &want);
    lab.pmc_check_set_refused(sl, Transport::L2, 128);
    m.stop_gracefully();

    let report = cap.check_tshark();
    println!("Meridian sent {:?}", report.counts(&gm.mac));
    assert!(report.of(&gm.mac, MessageType::Management).count() >= 8);
}

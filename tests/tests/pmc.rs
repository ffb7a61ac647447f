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

/// With `management-set = true`, pmc's SETs take: PRIORITY1, and GRANDMASTER_SETTINGS_NP
/// (as ptp4l: the announced quality and time properties, pinned over the clock discipline's
/// until a restart) — in DEFAULT_DATA_SET, TIME_PROPERTIES_DATA_SET, the status and the
/// Announces; a SET with a reserved clockAccuracy is refused.
#[test]
fn pmc_set_with_management_set() {
    let Some(lab) = Lab::pair("pmc_set") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let mut cap = lab.capture(gm);
    let config = MeridianConfig::new(gm, Transport::UdpV4).clock("management-set", "true");
    let mut m = lab.meridian(gm, &config.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let replies = lab.pmc(sl, Transport::UdpV4, &["SET PRIORITY1 5"]);
    assert!(
        replies.iter().any(|r| r.action == "RESPONSE"),
        "{replies:?}"
    );
    assert_eq!(
        lab.pmc_get(sl, Transport::UdpV4, "PRIORITY1")
            .get("priority1"),
        Some(&"5".to_string())
    );
    let bad = lab.pmc(
        sl,
        Transport::UdpV4,
        &[
            "SET GRANDMASTER_SETTINGS_NP clockClass 6 clockAccuracy 0x00 \
           offsetScaledLogVariance 0x4e5d currentUtcOffset 37 leap61 0 leap59 0 \
           currentUtcOffsetValid 1 ptpTimescale 1 timeTraceable 1 frequencyTraceable 1 \
           timeSource 0x20",
        ],
    );
    assert!(
        bad.iter().any(|r| r.action == "MANAGEMENT_ERROR_STATUS"),
        "reserved accuracy: {bad:?}"
    );
    let s = m.status().expect("status");
    assert_eq!(s["clock"]["clock_class"], 248, "{}", s["clock"]);
    let ok = lab.pmc(
        sl,
        Transport::UdpV4,
        &[
            "SET GRANDMASTER_SETTINGS_NP clockClass 6 clockAccuracy 0x21 \
           offsetScaledLogVariance 0x4e5d currentUtcOffset 37 leap61 0 leap59 0 \
           currentUtcOffsetValid 1 ptpTimescale 1 timeTraceable 1 frequencyTraceable 1 \
           timeSource 0x20",
        ],
    );
    let r = ok
        .iter()
        .find(|r| r.action == "RESPONSE" && r.id == "GRANDMASTER_SETTINGS_NP")
        .unwrap_or_else(|| panic!("{ok:?}"));
    assert_eq!(r.fields.get("clockClass"), Some(&"6".to_string()), "{r:?}");
    let dds = lab.pmc_get(sl, Transport::UdpV4, "DEFAULT_DATA_SET");
    assert_eq!(dds["clockClass"], "6");
    assert_eq!(dds["clockAccuracy"], "0x21");
    let tp = lab.pmc_get(sl, Transport::UdpV4, "TIME_PROPERTIES_DATA_SET");
    assert_eq!(tp["timeSource"], "0x20", "{tp:?}");
    assert_eq!(tp["timeTraceable"], "1", "{tp:?}");
    // The daemon's once-a-second clock status does not undo it.
    std::thread::sleep(Duration::from_secs(3));
    let s = m.status().expect("status");
    assert_eq!(s["clock"]["clock_class"], 6, "{}", s["clock"]);
    assert_eq!(s["clock"]["pinned_by_management"], true);
    assert!(m.log().contains("pinned"), "{}", m.log());
    m.stop_gracefully();
    let report = cap.check_tshark();
    assert!(report.of(&gm.mac, MessageType::Announce).count() >= 2);
}

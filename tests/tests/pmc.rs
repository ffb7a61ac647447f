//! Test 5: linuxptp `pmc` over the network (`pmc -4|-2 -b 0 -i IFACE`, to 224.0.1.129:320 or
//! 01:1B:19:00:00:00) reads Meridian's datasets, and they hold what the config says.

use std::collections::BTreeMap;
use std::time::Duration;

use meridian_interop::{Lab, Meridian, MeridianConfig, MessageType, Node, Transport};
use serde_json::Value;

/// Asserts `fields[key] == want` for every pair, listing every mismatch at once.
fn expect(id: &str, fields: &BTreeMap<String, String>, want: &[(&str, String)]) {
    let bad: Vec<String> = want
        .iter()
        .filter(|(k, v)| fields.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: got {:?}, want {v:?}", fields.get(*k)))
        .collect();
    assert!(
        bad.is_empty(),
        "{id}:\n  {}\nall fields: {fields:#?}",
        bad.join("\n  ")
    );
}

/// The datasets pmc prints, checked against `want` (from the config or the daemon's status).
struct Want {
    identity: String,
    priority1: u64,
    priority2: u64,
    class: u64,
    accuracy: u64,
    variance: u64,
    time_source: u64,
    traceable: Option<bool>,
    protocol_address: String,
    user_description: String,
}

fn check_datasets(lab: &Lab, m: &Meridian, gm: &Node, sl: &Node, t: Transport, w: &Want) {
    let get = |id: &str| lab.pmc_get(sl, t, id);
    let s = |v: u64| v.to_string();
    let hex2 = |v: u64| format!("{v:#04x}");
    let hex4 = |v: u64| format!("{v:#06x}");

    expect(
        "DEFAULT_DATA_SET",
        &get("DEFAULT_DATA_SET"),
        &[
            ("twoStepFlag", "1".into()),
            ("slaveOnly", "0".into()),
            ("numberPorts", "1".into()),
            ("priority1", s(w.priority1)),
            ("clockClass", s(w.class)),
            ("clockAccuracy", hex2(w.accuracy)),
            ("offsetScaledLogVariance", hex4(w.variance)),
            ("priority2", s(w.priority2)),
            ("clockIdentity", w.identity.clone()),
            ("domainNumber", "0".into()),
        ],
    );
    expect(
        "CURRENT_DATA_SET",
        &get("CURRENT_DATA_SET"),
        &[
            ("stepsRemoved", "0".into()),
            ("offsetFromMaster", "0.0".into()),
            ("meanPathDelay", "0.0".into()),
        ],
    );
    expect(
        "PARENT_DATA_SET",
        &get("PARENT_DATA_SET"),
        &[
            // 1588-2019 8.2.3.2: a grandmaster is its own parent, port number 0.
            ("parentPortIdentity", format!("{}-0", w.identity)),
            ("parentStats", "0".into()),
            ("grandmasterPriority1", s(w.priority1)),
            ("gm.ClockClass", s(w.class)),
            ("gm.ClockAccuracy", hex2(w.accuracy)),
            ("gm.OffsetScaledLogVariance", hex4(w.variance)),
            ("grandmasterPriority2", s(w.priority2)),
            ("grandmasterIdentity", w.identity.clone()),
        ],
    );
    let mut tp = vec![
        ("currentUtcOffset", "37".to_owned()),
        ("leap61", "0".into()),
        ("leap59", "0".into()),
        ("currentUtcOffsetValid", "1".into()),
        ("ptpTimescale", "1".into()),
        ("timeSource", hex2(w.time_source)),
    ];
    if let Some(tr) = w.traceable {
        let v = if tr { "1" } else { "0" };
        tp.push(("timeTraceable", v.into()));
        tp.push(("frequencyTraceable", v.into()));
    }
    expect(
        "TIME_PROPERTIES_DATA_SET",
        &get("TIME_PROPERTIES_DATA_SET"),
        &tp,
    );
    expect(
        "PORT_DATA_SET",
        &get("PORT_DATA_SET"),
        &[
            ("portIdentity", format!("{}-1", w.identity)),
            ("portState", "MASTER".into()),
            ("logMinDelayReqInterval", "-3".into()),
            ("peerMeanPathDelay", "0".into()),
            ("logAnnounceInterval", "0".into()),
            ("announceReceiptTimeout", "3".into()),
            ("logSyncInterval", "-3".into()),
            ("delayMechanism", "1".into()),
            ("versionNumber", "2".into()),
        ],
    );
    let cd = get("CLOCK_DESCRIPTION");
    println!("CLOCK_DESCRIPTION over {t:?}: {cd:?}");
    expect(
        "CLOCK_DESCRIPTION",
        &cd,
        &[
            ("clockType", "0x8000".into()),
            ("physicalLayerProtocol", "IEEE 802.3".into()),
            ("physicalAddress", gm.mac.clone()),
            ("protocolAddress", w.protocol_address.clone()),
            ("userDescription", w.user_description.clone()),
            // The default (E2E) profile's profileIdentifier.
            ("profileId", "00:1b:19:00:01:00".into()),
        ],
    );
    expect(
        "USER_DESCRIPTION",
        &get("USER_DESCRIPTION"),
        &[("userDescription", w.user_description.clone())],
    );
    assert_eq!(
        m.port_state(1).as_deref(),
        Ok("MASTER"),
        "status disagrees with PORT_DATA_SET"
    );
}

/// SET is refused with `management-set = false` (the default): an error status comes back and
/// priority1 is unchanged. (pmc 3.1.1 syntax: `SET PRIORITY1 5`; `SET PRIORITY1 priority1 5`
/// fails locally with "needs 1 value" and sends nothing.)
fn check_set_refused(lab: &Lab, sl: &Node, t: Transport, priority1: u64) {
    let replies = lab.pmc(sl, t, &["SET PRIORITY1 5"]);
    println!("SET PRIORITY1 replies: {replies:?}");
    assert!(
        replies
            .iter()
            .any(|r| r.action == "MANAGEMENT_ERROR_STATUS"),
        "SET PRIORITY1 with management-set = false: want MANAGEMENT_ERROR_STATUS, got {replies:?}"
    );
    let p = lab.pmc_get(sl, t, "PRIORITY1");
    assert_eq!(p.get("priority1"), Some(&priority1.to_string()));
}

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
    let want = Want {
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
    check_datasets(&lab, &m, gm, sl, Transport::UdpV4, &want);
    check_set_refused(&lab, sl, Transport::UdpV4, 100);
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
    let want = Want {
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
    check_datasets(&lab, &m, gm, sl, Transport::L2, &want);
    check_set_refused(&lab, sl, Transport::L2, 128);
    m.stop_gracefully();

    let report = cap.check_tshark();
    println!("Meridian sent {:?}", report.counts(&gm.mac));
    assert!(report.of(&gm.mac, MessageType::Management).count() >= 8);
}

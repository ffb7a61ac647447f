//! The daemon's clock bookkeeping, live: the leap-second file is reloaded on SIGHUP (and
//! when it changes), a broken new version is refused with the table in use kept, and the
//! status and Announces carry what the file says.

use std::time::{Duration, Instant};

use meridian_interop::{Lab, MeridianConfig, Transport};
use serde_json::Value;

/// An IERS-format list: TAI − UTC 37 from 2017, expiring (NTP seconds) at `expiry`, plus
/// `extra` lines.
fn leap_list(expiry: u64, extra: &str) -> String {
    format!(
        "# test list\n#@\t{expiry}\n2272060800\t10\t# 1 Jan 1972\n3692217600\t37\t# 1 Jan 2017\n{extra}"
    )
}

/// Polls the status until `f` holds (5 s at most).
fn wait_status(m: &meridian_interop::Meridian, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = m.status().expect("status");
        if f(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: status {}", s["clock"]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGHUP to the daemon itself.
fn hup(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -HUP {pid}");
}

#[test]
fn leap_file_reloads_on_sighup() {
    let Some(lab) = Lab::pair("leap_reload") else {
        return;
    };
    let gm = lab.node(0);
    // Expires 2100-01-01 (NTP 6 311 433 600).
    let file = lab.write("leap-seconds.list", &leap_list(6_311_433_600, ""));
    let cfg = MeridianConfig::new(gm, Transport::UdpV4)
        .clock("utc-offset", "\"auto\"")
        .clock("leap-file", &format!("\"{}\"", file.display()));
    let mut m = lab.meridian(gm, &cfg.to_toml());
    let s = m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    assert_eq!(s["clock"]["current_utc_offset"], 37, "{}", s["clock"]);
    assert_eq!(s["clock"]["leap_file_expires"], 4_102_444_800i64);
    // A new version: one more (fictional, already past) leap second and a new expiry.
    lab.write(
        "leap-seconds.list",
        &leap_list(6_342_969_600, "3900000000\t38\t# test entry, 2023\n"),
    );
    let pid = m.daemon_pid();
    hup(pid);
    let s = wait_status(&m, "offset 38 after SIGHUP", |s| {
        s["clock"]["current_utc_offset"] == 38
    });
    assert_eq!(s["clock"]["leap_file_expires"], 4_133_980_800i64);
    assert!(m.log().contains("leap-second file reloaded"), "{}", m.log());
    // A broken version is refused; the table in use stays.
    lab.write("leap-seconds.list", "3900000000 thirty-eight\n");
    hup(pid);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !m.log().contains("leap-second file not reloaded") {
        assert!(Instant::now() < deadline, "no refusal logged:\n{}", m.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = m.status().expect("status");
    assert_eq!(s["clock"]["current_utc_offset"], 38, "{}", s["clock"]);
    assert_eq!(m.port_state(1).as_deref(), Ok("MASTER"));
    // SIGHUP did not end it; SIGTERM still does, cleanly.
    m.stop_gracefully();
}

/// `[smpte]` on the wire: Meridian with the SMPTE profile and a 50 fps, CET, drop-frame
/// configuration; every Announce in the capture (no malformed frame, tshark says) carries
/// the organization-extension TLV of SMPTE (68-97-E8, subtype 1) whose data field, as tshark
/// extracts it, holds those values in ST 2059-2's layout. (tshark 4.0 dissects the SMPTE
/// fields only in management messages, so the layout is read here.)
#[test]
fn smpte_metadata_on_the_wire() {
    let Some(lab) = Lab::pair("smpte_tlv") else {
        return;
    };
    let gm = lab.node(0);
    let mut cap = lab.capture(gm);
    let cfg = MeridianConfig::new(gm, Transport::UdpV4)
        .clock("profile", "\"smpte-2059-2\"")
        .set("smpte", "frame-rate", "\"50/1\"")
        .set("smpte", "drop-frame", "true")
        .set("smpte", "local-offset-s", "3600")
        .set("smpte", "daylight-saving", "true")
        .set("smpte", "time-of-next-jam", "1800000000");
    let mut m = lab.meridian(gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(2));
    m.stop_gracefully();
    let report = cap.check_tshark();
    let announces = report
        .of(&gm.mac, meridian_interop::MessageType::Announce)
        .count();
    assert!(announces >= 2, "{announces} Announces");
    let out = std::process::Command::new("tshark")
        .args(["-r", &cap.file().display().to_string()])
        .args([
            "-Y",
            "ptp.v2.messagetype == 0xb",
            "-T",
            "fields",
            "-E",
            "separator=,",
        ])
        .args(["-e", "ptp.v2.an.oe.organizationId"])
        .args(["-e", "ptp.v2.an.oe.organizationSubType"])
        .args(["-e", "ptp.v2.an.oe.dataField"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), announces, "{text}");
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 3, "{l}");
        // tshark prints the OUI in decimal: 6854632 = 0x6897E8 (SMPTE).
        assert_eq!(f[0], 0x6897e8.to_string(), "{l}");
        assert_eq!(
            f[1].trim_start_matches("0x").trim_start_matches('0'),
            "1",
            "{l}"
        );
        let d: Vec<u8> = (0..f[2].len() / 2)
            .map(|i| u8::from_str_radix(&f[2][2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(d.len(), 42, "{l}");
        let be = |r: std::ops::Range<usize>| d[r].iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
        assert_eq!((be(0..4), be(4..8)), (50, 1), "frame rate: {l}");
        assert_eq!(d[9], 1, "timeAddressFlags: drop frame: {l}");
        assert_eq!(be(10..14), 3600, "currentLocalOffset: {l}");
        assert_eq!(be(24..30), 1_800_000_000, "timeOfNextJam: {l}");
        assert_eq!(d[40], 1, "daylightSaving: current: {l}");
    }
}

/// The clockClass a free-running ptp4l slave learned from its master's Announces
/// (`PARENT_DATA_SET` over its own UDS), if it has a master.
fn slave_gm_class(lab: &Lab, sl: &meridian_interop::Node) -> Option<u64> {
    lab.slave_parent_data_set(sl)?
        .get("gm.ClockClass")?
        .parse()
        .ok()
}

/// Meridian's DEFAULT_DATA_SET clockClass, asked with pmc over the network from `sl` (the
/// reply from Meridian's identity, not the local ptp4l's).
fn meridian_class_over_network(
    lab: &Lab,
    sl: &meridian_interop::Node,
    identity: &str,
) -> Option<u64> {
    lab.pmc(sl, Transport::UdpV4, &["GET DEFAULT_DATA_SET"])
        .iter()
        .find(|r| r.id == "DEFAULT_DATA_SET" && r.source.starts_with(identity))
        .and_then(|r| r.fields.get("clockClass"))
        .and_then(|c| c.parse().ok())
}

/// Polls `f` every 200 ms until it holds; the time it took, or a panic naming `what` after
/// `timeout`.
fn until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    t.elapsed()
}

/// A GNSS reference, live: Meridian disciplined to NMEA sentences played on a pty (a receiver
/// sending RMC at every second, no PPS), serving a free-running ptp4l slave. Class 6 once the
/// servo is locked-stable; the feed stops ("antenna pulled") and the slave's view of
/// clockClass, from the Announces, leaves 6 within two Announce intervals (4 s) of the first
/// missing sentence, to 7 (holdover within spec), as pmc over the network also sees; the
/// feed resumes and 6 returns after the servo relocks.
#[test]
fn gnss_reference_loss_and_recovery() {
    let Some(lab) = Lab::pair("gnss_ref") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let pty_file = lab.path("gnss.pty");
    let pause = lab.path("gnss.pause");
    let feeder = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/nmea-feeder.py");
    let mut feed = lab.spawn(
        gm,
        "nmea-feeder",
        &[
            "python3".into(),
            feeder.into(),
            pty_file.display().to_string(),
            pause.display().to_string(),
            "150".into(),
        ],
    );
    until("the feeder's pty", Duration::from_secs(10), || {
        pty_file.exists()
    });
    let pty = std::fs::read_to_string(&pty_file).expect("pty path");
    // NMEA alone errs by milliseconds (announced 10 ms): in spec up to 100 ms here, so the
    // holdover class is 7.
    let cfg = MeridianConfig::new(gm, Transport::UdpV4)
        .clock("reference", &format!("\"gnss:{pty}\""))
        .clock("holdover-spec-us", "100000")
        .set("metrics", "listen", "\"127.0.0.1:9473\"");
    let mut m = lab.meridian(gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    let identity = gm.eui64_identity();

    let locked = until("class 6 (locked-stable)", Duration::from_secs(60), || {
        slave_gm_class(&lab, sl) == Some(6)
    });
    let s = m.status().expect("status");
    println!(
        "locked: class 6 at the slave after {locked:?}; {}",
        s["clock"]
    );
    assert_eq!(s["clock"]["reference"], format!("gnss:{pty}"));
    assert_eq!(s["clock"]["servo_state"], "locked-stable");
    assert_eq!(s["clock"]["state"], "locked");
    assert_eq!(s["clock"]["time_source"], 0x20, "GNSS");
    assert_eq!(meridian_class_over_network(&lab, sl, &identity), Some(6));

    // Pause just after a sentence: the next one is due at the next whole second.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(Duration::from_millis(
        1_300 - u64::from(now.subsec_millis()),
    ));
    lab.write("gnss.pause", "");
    let due = Instant::now() + Duration::from_millis(700);
    until("class leaves 6", Duration::from_secs(10), || {
        slave_gm_class(&lab, sl) != Some(6)
    });
    let after_due = Instant::now().saturating_duration_since(due);
    println!("reference lost: the slave saw class leave 6 {after_due:?} after the first missing sentence");
    assert!(
        after_due <= Duration::from_secs(4),
        "two Announce intervals (4 s): {after_due:?}"
    );
    assert_eq!(slave_gm_class(&lab, sl), Some(7), "holdover within spec");
    assert_eq!(meridian_class_over_network(&lab, sl, &identity), Some(7));
    let s = m.status().expect("status");
    assert_eq!(s["clock"]["state"], "holdover", "{}", s["clock"]);
    assert!(s["clock"]["reference_missing"].as_u64() > Some(0));

    std::fs::remove_file(&pause).expect("resume the feed");
    let relocked = until("class 6 again", Duration::from_secs(60), || {
        slave_gm_class(&lab, sl) == Some(6)
    });
    println!("feed resumed: class 6 again after {relocked:?}");
    assert_eq!(meridian_class_over_network(&lab, sl, &identity), Some(6));
    let s = m.status().expect("status");
    assert_eq!(s["clock"]["state"], "locked", "{}", s["clock"]);
    let body = meridian_interop::scrape(&lab, gm, 9473);
    for series in [
        "meridian_servo_state 3",
        "meridian_clock_class 6",
        "meridian_servo_offset_seconds ",
    ] {
        assert!(body.contains(series), "{series} in:\n{body}");
    }
    // The time served is the receiver's (here played from this machine's clock, which the
    // free-running slave also reads): the slave's last offsets are within the NMEA error.
    let offsets = meridian_interop::parse_offsets(&slave.stdout());
    let last: Vec<i64> = offsets.iter().rev().take(5).map(|o| o.0).collect();
    assert!(last.len() == 5, "{}", slave.stdout());
    assert!(
        last.iter().all(|o| o.abs() < 5_000_000),
        "slave offsets {last:?}"
    );
    println!("slave offsets at the end (ns): {last:?}");
    m.stop_gracefully();
    assert!(feed.is_running(), "the feeder died:\n{}", feed.output());
}

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

/// SIGHUP to the daemon itself: the child of the lab's `timeout` wrapper (which would
/// forward the signal and then kill its child two seconds later).
fn hup(wrapper: u32) {
    let out = std::process::Command::new("pgrep")
        .args(["-P", &wrapper.to_string()])
        .output()
        .expect("pgrep");
    let pids = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = match pids.split_whitespace().collect::<Vec<_>>()[..] {
        [one] => one.parse().expect("a pid"),
        ref other => panic!("the daemon under timeout {wrapper}: {other:?}"),
    };
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
    let pid = m.proc().pid();
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

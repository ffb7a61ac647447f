//! PTP integrity protection on the wire (1588-2019 16.14; hardening issue 13): Meridian with
//! a linuxptp-format sa_file and `auth-spp` on its port, against a real ptp4l 3.1 slave that
//! knows nothing of authentication (Debian 12's linuxptp; 4.3+ would check the ICVs, which
//! this machine cannot run). Every frame Meridian puts on the wire is checked here with the
//! association's key; ptp4l's unsigned Delay_Reqs are refused and counted under
//! `require-auth`, and answered (signed) without it.
//!
//! (ptp4l before 4.3 cannot be an authenticated slave at all: it drops a Sync that carries
//! any TLV as a bad message, so with `auth-spp` set it takes Meridian as its master from the
//! Announces but never measures.)

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use meridian_interop::{Lab, Meridian, MeridianConfig, Transport};
use meridian_proto::engine::auth::{verify, SecurityDatabase};
use meridian_proto::wire::MessageRepr;

const SA: &str = "\
# the shape of linuxptp's sa_file
[security_association]
spp 3
1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C
2 SHA256 ASCII:a second key for the roll-over
";

fn drops(m: &Meridian, reason: &str) -> u64 {
    m.status().expect("status")["stats"]["drops"][reason]
        .as_u64()
        .unwrap_or(0)
}

fn tx_count(m: &Meridian, ty: &str) -> u64 {
    m.status().expect("status")["stats"]["tx_by_type"][ty]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn signed_on_the_wire_and_unsigned_requests_refused() {
    let Some(lab) = Lab::pair("auth") else {
        return;
    };
    let (gm, sl) = (lab.node(0), lab.node(1));
    let sa = lab.write("sa.cfg", SA);
    std::fs::set_permissions(&sa, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cfg = |required: bool| {
        MeridianConfig::new(gm, Transport::UdpV4)
            .set("security", "sa-file", &format!("\"{}\"", sa.display()))
            .port("auth-spp", "3")
            .port("auth-key-id", "1")
            .port("require-auth", if required { "true" } else { "false" })
            .to_toml()
    };

    // require-auth: ptp4l takes Meridian as its master (it ignores the TLV), but its
    // Delay_Reqs carry none and get no answer.
    let mut capture = lab.capture(gm);
    let mut m = lab.meridian(gm, &cfg(true));
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let mut slave = lab.ptp4l_slave(sl, Transport::UdpV4, "");
    slave.wait_for_text("selected best master clock", Duration::from_secs(20));
    meridian_interop::poll(Duration::from_secs(20), Duration::from_millis(200), || {
        (drops(&m, "auth_missing") >= 5).then_some(())
    })
    .unwrap_or_else(|| panic!("no Delay_Req refused: {}", m.status().unwrap()));
    assert_eq!(
        tx_count(&m, "delay_resp"),
        0,
        "an unsigned Delay_Req was answered"
    );
    assert_eq!(drops(&m, "auth_failed"), 0);
    m.stop_gracefully();
    capture.stop();

    // Every PTP frame Meridian sent carries an AUTHENTICATION TLV that verifies under the
    // association's key 1, and under no other association.
    let db = SecurityDatabase::parse(SA).expect("sa");
    let out = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(capture.file())
        .args([
            "-Y",
            &format!("ip.src == {} && ptp", gm.ip),
            "-T",
            "fields",
            "-e",
            "udp.payload",
        ])
        .output()
        .expect("tshark");
    let payloads: Vec<Vec<u8>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let hex: String = l.chars().filter(|c| c.is_ascii_hexdigit()).collect();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect();
    assert!(payloads.len() >= 20, "{} frames captured", payloads.len());
    let mut types = std::collections::BTreeSet::new();
    for p in &payloads {
        let msg = MessageRepr::parse_bytes(p).expect("a PTP message");
        let at = msg.body.fixed_len();
        assert_eq!(verify(&db, 3, p, at), Ok(true), "{:?}", msg.header);
        types.insert(format!("{:?}", msg.header.message_type));
        // A changed octet fails.
        let mut bad = p.clone();
        bad[31] ^= 1;
        assert!(verify(&db, 3, &bad, at).is_err());
    }
    for t in ["Announce", "Sync", "FollowUp"] {
        assert!(types.contains(t), "{types:?}");
    }
    println!(
        "{} frames from Meridian, all signed: {types:?}",
        payloads.len()
    );

    // Without require-auth the unsigned requests are answered, signed: ptp4l takes the
    // Delay_Resp (it logs the minimum delay request interval it carries). It cannot measure
    // offsets: linuxptp before 4.3 refuses a Sync carrying any TLV ("bad message": it
    // expects messageLength 44), so authenticated ports need 4.3+ slaves.
    let mut m = lab.meridian(gm, &cfg(false));
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    slave.wait_for_text("minimum delay request interval", Duration::from_secs(30));
    assert!(tx_count(&m, "delay_resp") > 0);
    assert_eq!(drops(&m, "auth_missing"), 0);
    assert!(
        slave.output().contains("bad message"),
        "ptp4l 3.1 took a signed Sync?"
    );
    m.stop_gracefully();
}

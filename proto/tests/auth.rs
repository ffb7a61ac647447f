//! Integrity protection (1588-2019 16.14, Annex P) through the engine's public API: what a
//! port with `auth` sends is signed, and what it receives is checked.

use meridian_proto::engine::auth::{verify, SecurityDatabase};
use meridian_proto::engine::{
    ClockConfig, ClockStatus, Engine, EngineConfig, OwnedTransmit, PeerAddress, PortAuth,
    PortConfig, Recorded, RxMessage, Time, TxStamp,
};
use meridian_proto::wire::{
    ClockIdentity, Flags, HeaderRepr, MessageBody, MessageRepr, MessageType, PortIdentity,
    TimeInterval, Timestamp, TlvBlock,
};

const T0: Time = Time(1_700_000_037_000_000_000);
const SA: &str = "\
[security_association]
spp 2
1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C
2 SHA256 B64:7pHUabOorcasjrKOIXlMcG4I/eSIY4KKewKBr8qBsX0=
[security_association]
spp 3
1 SHA256-128 ASCII:another-key
";
const SLAVE: PeerAddress = PeerAddress::Ipv4([192, 0, 2, 10]);

fn engine(auth: Option<PortAuth>, one_step: bool) -> Result<Engine, String> {
    let mut clock = ClockConfig::new(ClockIdentity([0, 0x1b, 0x19, 0xff, 0xfe, 0, 0, 1]));
    clock.security = SecurityDatabase::parse(SA).unwrap();
    let mut port = PortConfig::new([0, 0x1b, 0x19, 0, 0, 1]);
    port.master_only = true;
    port.auth = auth;
    port.one_step = one_step;
    Engine::new(
        EngineConfig {
            clock,
            ports: vec![port],
        },
        T0,
        ClockStatus::free_running(37, true),
    )
    .map_err(|e| e.to_string())
}

fn delay_req(seq: u16) -> Vec<u8> {
    let mt = MessageType::DelayReq;
    let repr = MessageRepr {
        header: HeaderRepr {
            major_sdo_id: 0,
            message_type: mt,
            minor_version_ptp: 1,
            version_ptp: 2,
            message_length: 0,
            domain_number: 0,
            minor_sdo_id: 0,
            flags: Flags::default(),
            correction: TimeInterval::ZERO,
            message_type_specific: 0,
            source_port_identity: PortIdentity {
                clock_identity: ClockIdentity([2, 0, 0, 0xff, 0xfe, 0, 0, 9]),
                port_number: 1,
            },
            sequence_id: seq,
            control_field: mt.control_field(),
            log_message_interval: 0x7f,
        },
        body: MessageBody::DelayReq {
            origin_timestamp: Timestamp::default(),
        },
        tlvs: TlvBlock::EMPTY,
    };
    let mut v = vec![0u8; repr.buffer_len()];
    repr.emit(&mut v).unwrap();
    v
}

/// `msg` with an AUTHENTICATION TLV under (spp, key) of `SA`.
fn signed(msg: &[u8], spp: u8, key: u32) -> Vec<u8> {
    let db = SecurityDatabase::parse(SA).unwrap();
    let s = db.signer(spp, key).unwrap();
    let mut v = msg.to_vec();
    v.resize(msg.len() + s.tlv_len(), 0);
    assert!(s.sign(&mut v, msg.len()));
    v
}

fn deliver(e: &mut Engine, now: Time, payload: &[u8]) -> Vec<OwnedTransmit> {
    let mut out = Recorded::default();
    e.handle_message(
        now,
        RxMessage {
            port: 0,
            source: SLAVE,
            multicast: true,
            timestamp: Some(now),
            payload,
        },
        &mut out,
    );
    out.sent
}

/// Runs the engine for `secs` seconds, answering two-step TX stamps, and returns what it sent.
fn run(e: &mut Engine, from: Time, secs: u64) -> Vec<OwnedTransmit> {
    let mut sent = Vec::new();
    let end = from.plus_nanos(secs * 1_000_000_000);
    let mut now = from;
    while now < end {
        let mut out = Recorded::default();
        e.handle_timeout(now, &mut out);
        for mut t in out.sent {
            if let TxStamp::TwoStep(tok) = std::mem::replace(&mut t.stamp, TxStamp::None) {
                let mut fu = Recorded::default();
                e.handle_tx_timestamp(now, tok, now.plus_nanos(1_000), &mut fu);
                sent.extend(fu.sent);
            }
            sent.push(t);
        }
        now = now.plus_nanos(50_000_000);
    }
    sent
}

fn tlv_start(payload: &[u8]) -> usize {
    MessageRepr::parse_bytes(payload).unwrap().body.fixed_len()
}

#[test]
fn everything_sent_is_signed_and_verifies() {
    let mut e = engine(
        Some(PortAuth {
            spp: 2,
            key_id: 2,
            required: true,
        }),
        false,
    )
    .unwrap();
    let sent = run(&mut e, T0, 4);
    let db = SecurityDatabase::parse(SA).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for t in &sent {
        // Parses (the TLV is a known one), verifies, and under the other SA it does not.
        let m = MessageRepr::parse_bytes(&t.payload).unwrap();
        assert_eq!(usize::from(m.header.message_length), t.payload.len());
        assert_eq!(
            verify(&db, 2, &t.payload, tlv_start(&t.payload)),
            Ok(true),
            "{:?}",
            t.message_type
        );
        assert!(verify(&db, 3, &t.payload, tlv_start(&t.payload)).is_err());
        kinds.insert(format!("{:?}", t.message_type));
    }
    for k in ["Announce", "Sync", "FollowUp"] {
        assert!(kinds.contains(k), "{kinds:?}");
    }
}

#[test]
fn a_port_that_requires_auth_refuses_and_counts_the_rest() {
    let mut e = engine(
        Some(PortAuth {
            spp: 2,
            key_id: 1,
            required: true,
        }),
        false,
    )
    .unwrap();
    let mut now = T0.plus_nanos(1_000_000);
    let mut step = || {
        now = now.plus_nanos(10_000_000);
        now
    };
    // Unsigned: refused.
    assert!(deliver(&mut e, step(), &delay_req(1)).is_empty());
    assert_eq!(e.stats().rx_auth_missing, 1);
    // Signed with either key of the port's association: answered, the answer signed with
    // the port's own key.
    let db = SecurityDatabase::parse(SA).unwrap();
    for key in [1, 2] {
        let r = deliver(&mut e, step(), &signed(&delay_req(2), 2, key));
        assert_eq!(r.len(), 1, "key {key}");
        assert_eq!(r[0].message_type, MessageType::DelayResp);
        assert_eq!(r[0].payload.len(), 54 + 26);
        assert_eq!(
            verify(&db, 2, &r[0].payload, tlv_start(&r[0].payload)),
            Ok(true)
        );
    }
    // Another association, a forged ICV, a replaced body: refused, counted.
    let mut forged = signed(&delay_req(3), 2, 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let mut altered = signed(&delay_req(4), 2, 1);
    altered[30] ^= 0x40; // the sequenceId under the ICV
    for bad in [signed(&delay_req(3), 3, 1), forged, altered] {
        assert!(deliver(&mut e, step(), &bad).is_empty());
    }
    assert_eq!(e.stats().rx_auth_failed, 3);
    assert_eq!(e.stats().rx_auth_missing, 1);
}

#[test]
fn an_optional_port_accepts_unsigned_but_never_a_bad_icv() {
    let mut e = engine(
        Some(PortAuth {
            spp: 2,
            key_id: 1,
            required: false,
        }),
        false,
    )
    .unwrap();
    let r = deliver(&mut e, T0.plus_nanos(10_000_000), &delay_req(1));
    assert_eq!(r.len(), 1);
    let mut forged = signed(&delay_req(2), 2, 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(deliver(&mut e, T0.plus_nanos(20_000_000), &forged).is_empty());
    assert_eq!(e.stats().rx_auth_failed, 1);
    // And without `auth` a port ignores the TLV like any other it does not use.
    let mut plain = engine(None, false).unwrap();
    let r = deliver(&mut plain, T0.plus_nanos(10_000_000), &forged);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].payload.len(), 54, "nothing signed");
}

#[test]
fn unusable_settings_are_refused_naming_the_field() {
    let cases = [
        (
            PortAuth {
                spp: 9,
                key_id: 1,
                required: true,
            },
            false,
            "no security association",
        ),
        (
            PortAuth {
                spp: 2,
                key_id: 7,
                required: true,
            },
            false,
            "key id",
        ),
        (
            PortAuth {
                spp: 2,
                key_id: 1,
                required: true,
            },
            true,
            "one-step",
        ),
    ];
    for (a, one_step, needle) in cases {
        let e = engine(Some(a), one_step).err().unwrap();
        assert!(e.contains("ports[0].auth") && e.contains(needle), "{e}");
    }
}

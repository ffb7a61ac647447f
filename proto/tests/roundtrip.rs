//! Property tests: every Repr emitted and parsed back is equal to itself, and arbitrary bytes
//! never make the parsers panic.

use meridian_proto::wire::frame::{
    patch_in_place, EthernetRepr, FrameRepr, Ipv4Repr, Ipv6Repr, MacAddress, NetworkRepr,
    ParsedFrame, UdpPorts, VlanTag,
};
use meridian_proto::wire::message::AnnounceBody;
use meridian_proto::wire::tlv::OrgExtKind;
use meridian_proto::wire::{
    ClockAccuracy, ClockIdentity, ClockQuality, Flags, HeaderRepr, ManagementAction,
    ManagementData, ManagementId, MessageBody, MessageRepr, MessageType, PortIdentity, PtpText,
    TimeInterval, TimeSource, Timestamp, TlvBlock, TlvRepr, TlvType,
};
use proptest::prelude::*;

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0u64..(1 << 48), 0u32..1_000_000_000).prop_map(|(s, n)| Timestamp {
        seconds: s,
        nanoseconds: n,
    })
}

fn port_identity() -> impl Strategy<Value = PortIdentity> {
    (any::<[u8; 8]>(), any::<u16>()).prop_map(|(c, p)| PortIdentity {
        clock_identity: ClockIdentity(c),
        port_number: p,
    })
}

fn message_type() -> impl Strategy<Value = MessageType> {
    (0u8..16).prop_map(MessageType::from_nibble)
}

fn header() -> impl Strategy<Value = HeaderRepr> {
    (
        (0u8..16, 0u8..16, any::<u8>(), any::<u8>(), any::<u16>()),
        (any::<i64>(), any::<u32>(), port_identity(), any::<u16>()),
        (any::<u8>(), any::<i8>()),
    )
        .prop_map(
            |((sdo, minor, dom, msdo, flags), (corr, mts, spi, seq), (ctl, lmi))| HeaderRepr {
                major_sdo_id: sdo,
                message_type: MessageType::Sync,
                minor_version_ptp: minor,
                version_ptp: 2,
                message_length: 0,
                domain_number: dom,
                minor_sdo_id: msdo,
                flags: Flags::from_bits(flags),
                correction: TimeInterval(corr),
                message_type_specific: mts,
                source_port_identity: spi,
                sequence_id: seq,
                control_field: ctl,
                log_message_interval: lmi,
            },
        )
}

fn body() -> impl Strategy<Value = MessageBody> {
    prop_oneof![
        timestamp().prop_map(|t| MessageBody::Sync {
            origin_timestamp: t
        }),
        timestamp().prop_map(|t| MessageBody::DelayReq {
            origin_timestamp: t
        }),
        timestamp().prop_map(|t| MessageBody::PdelayReq {
            origin_timestamp: t
        }),
        timestamp().prop_map(|t| MessageBody::FollowUp {
            precise_origin_timestamp: t
        }),
        (timestamp(), port_identity()).prop_map(|(t, p)| MessageBody::PdelayResp {
            request_receipt_timestamp: t,
            requesting_port_identity: p
        }),
        (timestamp(), port_identity()).prop_map(|(t, p)| MessageBody::DelayResp {
            receive_timestamp: t,
            requesting_port_identity: p
        }),
        (timestamp(), port_identity()).prop_map(|(t, p)| MessageBody::PdelayRespFollowUp {
            response_origin_timestamp: t,
            requesting_port_identity: p
        }),
        (
            timestamp(),
            any::<i16>(),
            any::<(u8, u8, u8, u16, u8)>(),
            any::<[u8; 8]>(),
            any::<u16>(),
            any::<u8>()
        )
            .prop_map(|(t, utc, (p1, cc, ca, var, p2), gm, steps, ts)| {
                MessageBody::Announce(AnnounceBody {
                    origin_timestamp: t,
                    current_utc_offset: utc,
                    grandmaster_priority1: p1,
                    grandmaster_clock_quality: ClockQuality {
                        clock_class: cc,
                        clock_accuracy: ClockAccuracy(ca),
                        offset_scaled_log_variance: var,
                    },
                    grandmaster_priority2: p2,
                    grandmaster_identity: ClockIdentity(gm),
                    steps_removed: steps,
                    time_source: TimeSource(ts),
                })
            }),
        port_identity().prop_map(|p| MessageBody::Signaling {
            target_port_identity: p
        }),
        (port_identity(), any::<u8>(), any::<u8>(), 0u8..16).prop_map(|(p, s, b, a)| {
            MessageBody::Management {
                target_port_identity: p,
                starting_boundary_hops: s,
                boundary_hops: b,
                action: ManagementAction::from_nibble(a),
            }
        }),
    ]
}

/// An owned description of a TLV; borrowed into a `TlvRepr` inside the test.
#[derive(Debug, Clone)]
enum TlvSpec {
    MgmtEmpty(u16),
    MgmtRaw(u16, Vec<u8>),
    MgmtError(u16, u16, Option<Vec<u8>>),
    Org(u8, [u8; 3], [u8; 3], Vec<u8>),
    Req(MessageType, i8, u32),
    Grant(MessageType, i8, u32, bool),
    Cancel(MessageType),
    Ack(MessageType),
    PathTrace(Vec<[u8; 8]>),
    Alt(u8, i32, i32, u64, Vec<u8>),
    Auth(u8, u8, u32, Vec<u8>),
    Pad(usize),
    Unknown(u16, Vec<u8>),
}

fn tlv_spec() -> impl Strategy<Value = TlvSpec> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        any::<u16>().prop_map(TlvSpec::MgmtEmpty),
        // IDs in a range no standard management ID uses, so the bytes stay raw.
        (
            (0x7000u16..0x7fff),
            proptest::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(id, d)| TlvSpec::MgmtRaw(id, d)),
        (
            any::<u16>(),
            any::<u16>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
        )
            .prop_map(|(e, id, t)| TlvSpec::MgmtError(e, id, t)),
        (0u8..3, any::<[u8; 3]>(), any::<[u8; 3]>(), bytes())
            .prop_map(|(k, o, s, d)| TlvSpec::Org(k, o, s, d)),
        (message_type(), any::<i8>(), any::<u32>()).prop_map(|(m, l, d)| TlvSpec::Req(m, l, d)),
        (message_type(), any::<i8>(), any::<u32>(), any::<bool>())
            .prop_map(|(m, l, d, r)| TlvSpec::Grant(m, l, d, r)),
        message_type().prop_map(TlvSpec::Cancel),
        message_type().prop_map(TlvSpec::Ack),
        proptest::collection::vec(any::<[u8; 8]>(), 0..5).prop_map(TlvSpec::PathTrace),
        (
            any::<u8>(),
            any::<i32>(),
            any::<i32>(),
            0u64..(1 << 48),
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(k, c, j, t, n)| TlvSpec::Alt(k, c, j, t, n)),
        (any::<u8>(), any::<u8>(), any::<u32>(), bytes())
            .prop_map(|(s, p, k, r)| TlvSpec::Auth(s, p, k, r)),
        (0usize..8).prop_map(TlvSpec::Pad),
        // Types with no meaning assigned here.
        ((0x7f00u16..0x7fff), bytes()).prop_map(|(t, v)| TlvSpec::Unknown(t, v)),
    ]
}

const ZEROS: [u8; 8] = [0; 8];

fn tlv_repr<'a>(s: &'a TlvSpec, path: &'a [u8]) -> TlvRepr<'a> {
    match s {
        TlvSpec::MgmtEmpty(id) => TlvRepr::Management {
            id: ManagementId(*id),
            data: ManagementData::Empty,
        },
        TlvSpec::MgmtRaw(id, d) => TlvRepr::Management {
            id: ManagementId(*id),
            data: ManagementData::Raw(d),
        },
        TlvSpec::MgmtError(e, id, t) => TlvRepr::ManagementErrorStatus {
            error_id: *e,
            id: ManagementId(*id),
            display_data: t.as_deref().map(PtpText),
        },
        TlvSpec::Org(k, o, st, d) => TlvRepr::OrganizationExtension {
            kind: [
                OrgExtKind::Legacy,
                OrgExtKind::Propagate,
                OrgExtKind::DoNotPropagate,
            ][*k as usize],
            organization_id: *o,
            organization_sub_type: *st,
            data: d,
        },
        TlvSpec::Req(m, l, d) => TlvRepr::RequestUnicastTransmission {
            message_type: *m,
            log_inter_message_period: *l,
            duration: *d,
        },
        TlvSpec::Grant(m, l, d, r) => TlvRepr::GrantUnicastTransmission {
            message_type: *m,
            log_inter_message_period: *l,
            duration: *d,
            renewal_invited: *r,
        },
        TlvSpec::Cancel(m) => TlvRepr::CancelUnicastTransmission { message_type: *m },
        TlvSpec::Ack(m) => TlvRepr::AcknowledgeCancelUnicastTransmission { message_type: *m },
        TlvSpec::PathTrace(_) => TlvRepr::PathTrace {
            path_sequence: path,
        },
        TlvSpec::Alt(k, c, j, t, n) => TlvRepr::AlternateTimeOffsetIndicator {
            key_field: *k,
            current_offset: *c,
            jump_seconds: *j,
            time_of_next_jump: *t,
            display_name: PtpText(n),
        },
        TlvSpec::Auth(s, p, k, r) => TlvRepr::Authentication {
            spp: *s,
            sec_param_indicator: *p,
            key_id: *k,
            rest: r,
        },
        TlvSpec::Pad(n) => TlvRepr::Pad {
            bytes: &ZEROS[..*n],
        },
        TlvSpec::Unknown(t, v) => TlvRepr::Unknown {
            tlv_type: TlvType(*t),
            value: v,
        },
    }
}

fn frame_repr() -> impl Strategy<Value = FrameRepr> {
    let eth = (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        proptest::option::of((0u8..8, any::<bool>(), 0u16..4096)),
    )
        .prop_map(|(d, s, v)| EthernetRepr {
            dst: MacAddress(d),
            src: MacAddress(s),
            vlan: v.map(|(pcp, dei, vid)| VlanTag { pcp, dei, vid }),
        });
    let ports = (any::<u16>(), prop_oneof![Just(319u16), Just(320u16)])
        .prop_map(|(src, dst)| UdpPorts { src, dst });
    let net = prop_oneof![
        Just(NetworkRepr::L2),
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<u8>(),
            any::<u16>(),
            any::<bool>(),
            any::<u8>(),
            ports.clone()
        )
            .prop_map(|(s, d, dscp, id, df, ttl, p)| NetworkRepr::Udp4(
                Ipv4Repr {
                    src: s,
                    dst: d,
                    dscp_ecn: dscp,
                    identification: id,
                    flags_fragment: if df { 0x4000 } else { 0 },
                    ttl
                },
                p
            )),
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u8>(),
            0u32..(1 << 20),
            any::<u8>(),
            ports
        )
            .prop_map(|(s, d, tc, fl, hl, p)| NetworkRepr::Udp6(
                Ipv6Repr {
                    src: s,
                    dst: d,
                    traffic_class: tc,
                    flow_label: fl,
                    hop_limit: hl
                },
                p
            )),
    ];
    (eth, net).prop_map(|(ethernet, network)| FrameRepr { ethernet, network })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn message_emit_parse_equal(h in header(), b in body(), specs in proptest::collection::vec(tlv_spec(), 0..4)) {
        let paths: Vec<Vec<u8>> = specs.iter().map(|s| match s {
            TlvSpec::PathTrace(ids) => ids.concat(),
            _ => Vec::new(),
        }).collect();
        let tlvs: Vec<TlvRepr<'_>> = specs.iter().zip(&paths).map(|(s, p)| tlv_repr(s, p)).collect();
        for t in &tlvs {
            let mut buf = vec![0xa5u8; t.buffer_len()];
            t.emit(&mut buf).unwrap();
            let (back, n) = TlvRepr::parse(&buf).unwrap();
            prop_assert_eq!(n, buf.len());
            prop_assert_eq!(&back, t);
        }
        let mut tbuf = vec![0u8; tlvs.iter().map(|t| t.buffer_len()).sum()];
        let block = TlvBlock::build(&mut tbuf, &tlvs).unwrap();
        let mut header = h;
        header.message_type = b.message_type();
        let repr = MessageRepr { header, body: b, tlvs: block };
        let mut out = vec![0xa5u8; repr.buffer_len()];
        repr.emit(&mut out).unwrap();
        let back = MessageRepr::parse_bytes(&out).unwrap();
        header.message_length = out.len() as u16;
        prop_assert_eq!(back.header, header);
        prop_assert_eq!(back.body, b);
        prop_assert_eq!(back.tlvs.iter().collect::<Vec<_>>(), tlvs);
    }

    #[test]
    fn frame_emit_parse_equal(f in frame_repr(), payload in proptest::collection::vec(any::<u8>(), 44..120), ts in timestamp()) {
        let hl = f.header_len();
        let mut frame = vec![0xa5u8; hl + payload.len()];
        frame[hl..].copy_from_slice(&payload);
        let layout = f.emit_headers(&mut frame, payload.len()).unwrap();
        let p = ParsedFrame::parse(&frame).unwrap();
        prop_assert_eq!(p.repr, f);
        prop_assert_eq!(p.layout, layout);
        prop_assert_eq!(p.payload, &payload[..]);
        // A one-step patch keeps the frame valid.
        let mut tsb = [0u8; 10];
        ts.write(&mut tsb, 0);
        patch_in_place(&mut frame, &layout, 34, &tsb).unwrap();
        let p = ParsedFrame::parse(&frame).unwrap();
        prop_assert_eq!(&p.payload[34..44], &tsb[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = MessageRepr::parse_bytes(&data) {
            for t in m.tlvs.iter() { let _ = t.buffer_len(); }
        }
        let _ = ParsedFrame::parse(&data);
    }

    #[test]
    fn mutated_valid_message_never_panics(b in body(), flips in proptest::collection::vec((0usize..64, any::<u8>()), 1..6)) {
        let mut header = HeaderRepr {
            major_sdo_id: 0, message_type: b.message_type(), minor_version_ptp: 1, version_ptp: 2,
            message_length: 0, domain_number: 0, minor_sdo_id: 0, flags: Flags::default(),
            correction: TimeInterval::ZERO, message_type_specific: 0,
            source_port_identity: PortIdentity::default(), sequence_id: 0, control_field: 0,
            log_message_interval: 0,
        };
        header.message_type = b.message_type();
        let repr = MessageRepr { header, body: b, tlvs: TlvBlock::EMPTY };
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut out).unwrap();
        for (at, v) in flips {
            if let Some(x) = out.get_mut(at) { *x = v; }
        }
        let _ = MessageRepr::parse_bytes(&out);
    }
}

//! Third-party decoder check: one frame of every message and TLV kind goes to a pcap, and
//! Wireshark's `tshark` must decode every field to the value we wrote, with no malformed
//! packet and no expert warning.
//!
//! `tshark` is required (`apt-get install tshark`; `.ci/run` installs it). Set
//! `MERIDIAN_SKIP_TSHARK=1` to skip this test on a machine without it — it then says so.

mod common;

use meridian_proto::wire::frame::{
    self, EthernetRepr, FrameRepr, Ipv4Repr, Ipv6Repr, MacAddress, NetworkRepr, UdpPorts, VlanTag,
};
use meridian_proto::wire::management::{
    ClockDescription, DefaultDataSet, PortDataSet, TimePropertiesDataSet,
};
use meridian_proto::wire::message::AnnounceBody;
use meridian_proto::wire::tlv::{management_error, OrgExtKind};
use meridian_proto::wire::{
    ClockAccuracy, ClockIdentity, ClockQuality, Flags, HeaderRepr, ManagementAction,
    ManagementData, ManagementId, MessageBody, MessageRepr, MessageType, PortIdentity, PtpText,
    TimeInterval, TimeSource, Timestamp, TlvBlock, TlvRepr,
};

const SRC: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x00, 0x1b, 0x19, 0xff, 0xfe, 0x12, 0x34, 0x56]),
    port_number: 1,
};
const PEER: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x02]),
    port_number: 7,
};

fn ts(s: u64, n: u32) -> Timestamp {
    Timestamp::new(s, n).unwrap()
}

fn net(kind: usize, event: bool) -> FrameRepr {
    let port = if event { 319 } else { 320 };
    let ports = UdpPorts {
        src: port,
        dst: port,
    };
    let src = MacAddress([0x00, 0x1b, 0x19, 0x12, 0x34, 0x56]);
    match kind {
        0 => FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress([0x01, 0x00, 0x5e, 0x00, 0x01, 0x81]),
                src,
                vlan: None,
            },
            network: NetworkRepr::Udp4(
                Ipv4Repr {
                    src: [10, 99, 0, 1],
                    dst: frame::IPV4_PRIMARY,
                    dscp_ecn: 0xb8,
                    identification: 1,
                    flags_fragment: 0x4000,
                    ttl: 1,
                },
                ports,
            ),
        },
        1 => FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress::PTP_PRIMARY,
                src,
                vlan: Some(VlanTag {
                    pcp: 7,
                    dei: false,
                    vid: 42,
                }),
            },
            network: NetworkRepr::L2,
        },
        _ => FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress([0x33, 0x33, 0, 0, 1, 0x81]),
                src,
                vlan: None,
            },
            network: NetworkRepr::Udp6(
                Ipv6Repr {
                    src: [
                        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x1b, 0x19, 0xff, 0xfe, 0x12, 0x34,
                        0x56,
                    ],
                    dst: frame::ipv6_primary(2),
                    traffic_class: 0xb8,
                    flow_label: 0,
                    hop_limit: 1,
                },
                ports,
            ),
        },
    }
}

/// What one frame is expected to decode to: tshark field name → values in order.
struct Case {
    frame: Vec<u8>,
    expect: Vec<(&'static str, String)>,
}

fn build(kind: usize, repr: &MessageRepr<'_>) -> Vec<u8> {
    let f = net(kind, repr.body.message_type().is_event());
    let hl = f.header_len();
    let tl = f.trailer_len(true);
    let ml = repr.buffer_len();
    let mut out = vec![0u8; hl + ml + tl];
    repr.emit(&mut out[hl..hl + ml]).unwrap();
    f.emit_headers(&mut out, ml + tl).unwrap();
    out
}

fn header(mt: MessageType, seq: u16) -> HeaderRepr {
    HeaderRepr {
        major_sdo_id: 0,
        message_type: mt,
        minor_version_ptp: 1,
        version_ptp: 2,
        message_length: 0,
        domain_number: 24,
        minor_sdo_id: 0,
        flags: Flags::default(),
        correction: TimeInterval::ZERO,
        message_type_specific: 0,
        source_port_identity: SRC,
        sequence_id: seq,
        control_field: mt.control_field(),
        log_message_interval: -3,
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut seq = 100u16;
    let mut push = |kind: usize,
                    hdr: &dyn Fn(HeaderRepr) -> HeaderRepr,
                    body: MessageBody,
                    tlvs: &[TlvRepr<'_>],
                    mut expect: Vec<(&'static str, String)>| {
        seq += 1;
        let mut tb = vec![0u8; tlvs.iter().map(|t| t.buffer_len()).sum()];
        let block = TlvBlock::build(&mut tb, tlvs).unwrap();
        let repr = MessageRepr {
            header: hdr(header(body.message_type(), seq)),
            body,
            tlvs: block,
        };
        expect.push(("ptp.v2.sequenceid", s(seq)));
        expect.push((
            "ptp.v2.messagetype",
            format!("{:#04x}", body.message_type().nibble()),
        ));
        expect.push(("ptp.v2.messagelength", s(repr.buffer_len())));
        out.push(Case {
            frame: build(kind, &repr),
            expect,
        });
    };
    let id = |h: HeaderRepr| h;
    push(
        0,
        &|h| HeaderRepr {
            flags: Flags {
                two_step: true,
                unicast: true,
                ..Flags::default()
            },
            correction: TimeInterval((1234 << 16) | 0x8000),
            ..h
        },
        MessageBody::Sync {
            origin_timestamp: ts(1_700_000_037, 123_456_789),
        },
        &[],
        vec![
            ("ptp.v2.sdr.origintimestamp.seconds", s(1_700_000_037u64)),
            ("ptp.v2.sdr.origintimestamp.nanoseconds", s(123_456_789)),
            ("ptp.v2.flags.twostep", s("1")),
            ("ptp.v2.flags.unicast", s("1")),
            ("ptp.v2.correction.ns", s(1234)),
            ("ptp.v2.domainnumber", s(24)),
        ],
    );
    push(
        1,
        &id,
        MessageBody::DelayReq {
            origin_timestamp: ts(5, 6),
        },
        &[],
        vec![
            ("ptp.v2.sdr.origintimestamp.seconds", s(5)),
            ("ptp.v2.sdr.origintimestamp.nanoseconds", s(6)),
        ],
    );
    push(
        2,
        &id,
        MessageBody::FollowUp {
            precise_origin_timestamp: ts(0x0001_0000_0000, 999_999_999),
        },
        &[],
        vec![
            (
                "ptp.v2.fu.preciseorigintimestamp.seconds",
                s(0x0001_0000_0000u64),
            ),
            (
                "ptp.v2.fu.preciseorigintimestamp.nanoseconds",
                s(999_999_999),
            ),
        ],
    );
    push(
        0,
        &id,
        MessageBody::DelayResp {
            receive_timestamp: ts(77, 88),
            requesting_port_identity: PEER,
        },
        &[],
        vec![
            ("ptp.v2.dr.receivetimestamp.seconds", s(77)),
            ("ptp.v2.dr.receivetimestamp.nanoseconds", s(88)),
            ("ptp.v2.dr.requestingsourceportid", s(7)),
        ],
    );
    push(
        1,
        &id,
        MessageBody::PdelayReq {
            origin_timestamp: ts(9, 10),
        },
        &[],
        vec![
            ("ptp.v2.pdrq.origintimestamp.seconds", s(9)),
            ("ptp.v2.pdrq.origintimestamp.nanoseconds", s(10)),
        ],
    );
    push(
        1,
        &id,
        MessageBody::PdelayResp {
            request_receipt_timestamp: ts(11, 12),
            requesting_port_identity: PEER,
        },
        &[],
        vec![
            ("ptp.v2.pdrs.requestreceipttimestamp.seconds", s(11)),
            ("ptp.v2.pdrs.requestreceipttimestamp.nanoseconds", s(12)),
            ("ptp.v2.pdrs.requestingsourceportid", s(7)),
        ],
    );
    push(
        2,
        &id,
        MessageBody::PdelayRespFollowUp {
            response_origin_timestamp: ts(13, 14),
            requesting_port_identity: PEER,
        },
        &[],
        vec![
            ("ptp.v2.pdfu.responseorigintimestamp.seconds", s(13)),
            ("ptp.v2.pdfu.responseorigintimestamp.nanoseconds", s(14)),
            ("ptp.v2.pdfu.requestingsourceportid", s(7)),
        ],
    );
    let path = [0x00, 0x1b, 0x19, 0xff, 0xfe, 0x12, 0x34, 0x56];
    push(
        0,
        &|h| HeaderRepr {
            flags: Flags {
                ptp_timescale: true,
                current_utc_offset_valid: true,
                time_traceable: true,
                frequency_traceable: true,
                leap61: true,
                ..Flags::default()
            },
            log_message_interval: 1,
            ..h
        },
        MessageBody::Announce(AnnounceBody {
            origin_timestamp: ts(0, 0),
            current_utc_offset: 37,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: ClockAccuracy::NS_100,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority2: 127,
            grandmaster_identity: SRC.clock_identity,
            steps_removed: 0,
            time_source: TimeSource::GNSS,
        }),
        &[
            TlvRepr::PathTrace {
                path_sequence: &path,
            },
            TlvRepr::AlternateTimeOffsetIndicator {
                key_field: 1,
                current_offset: 3600,
                jump_seconds: -3600,
                time_of_next_jump: 1_700_000_000,
                display_name: PtpText(b"CET"),
            },
            TlvRepr::OrganizationExtension {
                kind: OrgExtKind::Legacy,
                organization_id: [0x00, 0x1b, 0x19],
                organization_sub_type: [0, 0, 1],
                data: &[1, 2, 3, 4],
            },
        ],
        vec![
            ("ptp.v2.an.origincurrentutcoffset", s(37)),
            ("ptp.v2.an.priority1", s(128)),
            ("ptp.v2.an.priority2", s(127)),
            ("ptp.v2.an.grandmasterclockclass", s(6)),
            ("ptp.v2.an.grandmasterclockaccuracy", s("0x21")),
            ("ptp.v2.an.grandmasterclockvariance", s(0x4e5d)),
            ("ptp.v2.an.localstepsremoved", s(0)),
            ("ptp.v2.timesource", s("0x20")),
            ("ptp.v2.flags.timescale", s(1)),
            ("ptp.v2.flags.utcreasonable", s(1)),
            ("ptp.v2.flags.timetraceable", s(1)),
            ("ptp.v2.flags.frequencytraceable", s(1)),
            ("ptp.v2.flags.li61", s(1)),
            ("ptp.v2.flags.li59", s(0)),
            ("ptp.v2.an.tlvType", s(8)),
            ("ptp.v2.an.tlvType", s(9)),
            ("ptp.v2.an.tlvType", s(3)),
            ("ptp.v2.an.atoi.keyField", s(1)),
            ("ptp.v2.an.atoi.currentOffset", s(3600)),
            ("ptp.v2.an.atoi.jumpSeconds", s(-3600)),
            ("ptp.v2.an.atoi.timeOfNextJump", s("00:00:65:53:f1:00")),
            ("ptp.v2.an.atoi.displayName", s("CET")),
            ("ptp.v2.an.oe.organizationId", s(0x001b19)),
        ],
    );
    push(
        0,
        &|h| HeaderRepr {
            flags: Flags {
                unicast: true,
                ..Flags::default()
            },
            ..h
        },
        MessageBody::Signaling {
            target_port_identity: PEER,
        },
        &[
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Announce,
                log_inter_message_period: 1,
                duration: 300,
            },
            TlvRepr::GrantUnicastTransmission {
                message_type: MessageType::Sync,
                log_inter_message_period: -4,
                duration: 300,
                renewal_invited: true,
            },
            TlvRepr::CancelUnicastTransmission {
                message_type: MessageType::DelayResp,
            },
            TlvRepr::AcknowledgeCancelUnicastTransmission {
                message_type: MessageType::PdelayResp,
            },
        ],
        vec![
            ("ptp.v2.sig.targetportid", s(7)),
            ("ptp.v2.sig.tlv.tlvType", s(4)),
            ("ptp.v2.sig.tlv.tlvType", s(5)),
            ("ptp.v2.sig.tlv.tlvType", s(6)),
            ("ptp.v2.sig.tlv.tlvType", s(7)),
            ("ptp.v2.sig.tlv.messageType", s("0x0b")),
            ("ptp.v2.sig.tlv.messageType", s("0x00")),
            ("ptp.v2.sig.tlv.messageType", s("0x09")),
            ("ptp.v2.sig.tlv.messageType", s("0x03")),
            ("ptp.v2.sig.tlv.logInterMessagePeriod", s(1)),
            ("ptp.v2.sig.tlv.logInterMessagePeriod", s(-4)),
            ("ptp.v2.sig.tlv.durationField", s(300)),
            ("ptp.v2.sig.tlv.durationField", s(300)),
            ("ptp.v2.sig.tlv.renewalInvited", s(1)),
        ],
    );
    push(
        0,
        &id,
        MessageBody::Management {
            target_port_identity: PortIdentity::ALL,
            starting_boundary_hops: 1,
            boundary_hops: 1,
            action: ManagementAction::Get,
        },
        &[TlvRepr::Management {
            id: ManagementId(0x2000),
            data: ManagementData::Empty,
        }],
        vec![
            ("ptp.v2.mm.action", s(0)),
            ("ptp.v2.mm.startingboundaryhops", s(1)),
            ("ptp.v2.mm.tlvType", s(1)),
            ("ptp.v2.mm.managementId", s(0x2000)),
        ],
    );
    push(
        1,
        &id,
        MessageBody::Management {
            target_port_identity: PEER,
            starting_boundary_hops: 0,
            boundary_hops: 0,
            action: ManagementAction::Response,
        },
        &[TlvRepr::ManagementErrorStatus {
            error_id: management_error::NOT_SUPPORTED,
            id: ManagementId(0x2005),
            display_data: Some(PtpText(b"no")),
        }],
        vec![
            ("ptp.v2.mm.action", s(2)),
            ("ptp.v2.mm.tlvType", s(2)),
            ("ptp.v2.mm.managementErrorId", s(6)),
            ("ptp.v2.mm.displayData", s("no")),
        ],
    );
    let resp = MessageBody::Management {
        target_port_identity: PEER,
        starting_boundary_hops: 0,
        boundary_hops: 0,
        action: ManagementAction::Response,
    };
    push(
        0,
        &id,
        resp,
        &[TlvRepr::Management {
            id: ManagementId::DEFAULT_DATA_SET,
            data: ManagementData::DefaultDataSet(DefaultDataSet {
                two_step_flag: true,
                slave_only: false,
                number_ports: 1,
                priority1: 99,
                clock_quality: ClockQuality {
                    clock_class: 6,
                    clock_accuracy: ClockAccuracy::NS_100,
                    offset_scaled_log_variance: 0x4e5d,
                },
                priority2: 128,
                clock_identity: SRC.clock_identity,
                domain_number: 24,
            }),
        }],
        vec![
            ("ptp.v2.mm.managementId", s(0x2000)),
            ("ptp.v2.mm.priority1", s(99)),
            ("ptp.v2.mm.numberPorts", s(1)),
            ("ptp.v2.mm.clockclass", s(6)),
            ("ptp.v2.mm.domainNumber", s(24)),
            ("ptp.v2.mm.twoStep", s(1)),
        ],
    );
    push(
        2,
        &id,
        resp,
        &[TlvRepr::Management {
            id: ManagementId::TIME_PROPERTIES_DATA_SET,
            data: ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: 37,
                leap61: false,
                leap59: false,
                current_utc_offset_valid: true,
                ptp_timescale: true,
                time_traceable: true,
                frequency_traceable: true,
                time_source: TimeSource::GNSS,
            }),
        }],
        vec![
            ("ptp.v2.mm.currentutcoffset", s(37)),
            ("ptp.v2.mm.ptptimescale", s(1)),
            ("ptp.v2.mm.timesource", s("0x20")),
        ],
    );
    push(
        0,
        &id,
        resp,
        &[TlvRepr::Management {
            id: ManagementId::PORT_DATA_SET,
            data: ManagementData::PortDataSet(PortDataSet {
                port_identity: SRC,
                port_state: 6,
                log_min_delay_req_interval: 0,
                peer_mean_path_delay: TimeInterval::ZERO,
                log_announce_interval: 1,
                announce_receipt_timeout: 3,
                log_sync_interval: -3,
                delay_mechanism: 1,
                log_min_pdelay_req_interval: 0,
                version_number: 2,
            }),
        }],
        vec![
            ("ptp.v2.mm.portState", s(6)),
            ("ptp.v2.mm.logAnnounceInterval", s(1)),
            ("ptp.v2.mm.logSyncInterval", s(-3)),
            ("ptp.v2.mm.delayMechanism", s(1)),
        ],
    );
    push(
        1,
        &id,
        resp,
        &[TlvRepr::Management {
            id: ManagementId::CLOCK_DESCRIPTION,
            data: ManagementData::ClockDescription(ClockDescription {
                clock_type: ClockDescription::CLOCK_TYPE_ORDINARY,
                physical_layer_protocol: PtpText(b"IEEE 802.3"),
                physical_address: &[0x00, 0x1b, 0x19, 0x12, 0x34, 0x56],
                network_protocol: 1,
                protocol_address: &[10, 99, 0, 1],
                manufacturer_identity: [0, 0, 0],
                product_description: PtpText(b"Meridian;grandmaster;1"),
                revision_data: PtpText(b";;0.1.0"),
                user_description: PtpText(b"rack 3"),
                profile_identity: [0x00, 0x1b, 0x19, 0x00, 0x01, 0x00],
            }),
        }],
        vec![
            ("ptp.v2.mm.productDescription", s("Meridian;grandmaster;1")),
            ("ptp.v2.mm.userDescription", s("rack 3")),
            ("ptp.v2.mm.profileIdentity", s("00:1b:19:00:01:00")),
        ],
    );
    push(
        0,
        &id,
        resp,
        &[TlvRepr::Management {
            id: ManagementId::USER_DESCRIPTION,
            data: ManagementData::UserDescription(PtpText(b"odd")),
        }],
        vec![("ptp.v2.mm.userDescription", s("odd"))],
    );
    // PAD and an unknown TLV after a unicast request.
    push(
        0,
        &id,
        MessageBody::Signaling {
            target_port_identity: PEER,
        },
        &[
            TlvRepr::CancelUnicastTransmission {
                message_type: MessageType::Sync,
            },
            TlvRepr::Pad {
                bytes: &[0, 0, 0, 0],
            },
        ],
        vec![
            ("ptp.v2.sig.tlv.tlvType", s(6)),
            ("ptp.v2.sig.tlv.tlvType", s(0x8008)),
        ],
    );
    out
}

#[test]
fn tshark_decodes_every_field_we_write() {
    let cases = cases();
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.frame.clone()).collect();
    let expect: Vec<_> = cases.iter().map(|c| c.expect.clone()).collect();
    common::tshark::check_decodes("tshark", &frames, &expect);
}

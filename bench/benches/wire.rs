//! Wire codec throughput: header parse, Delay_Req parse, Sync and Delay_Resp emit (message
//! alone and as a full UDP/IPv4 frame with checksums).
//!
//! Run: `cargo bench -p meridian-bench --bench wire`. Figures go to `bench/README.md`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meridian_proto::wire::frame::{
    EthernetRepr, FrameRepr, Ipv4Repr, MacAddress, NetworkRepr, UdpPorts,
};
use meridian_proto::wire::{
    ClockIdentity, Flags, Header, HeaderRepr, Message, MessageBody, MessageRepr, MessageType,
    ParsedFrame, PortIdentity, TimeInterval, Timestamp, TlvBlock,
};

fn header(mt: MessageType) -> HeaderRepr {
    HeaderRepr {
        major_sdo_id: 0,
        message_type: mt,
        minor_version_ptp: 1,
        version_ptp: 2,
        message_length: 0,
        domain_number: 0,
        minor_sdo_id: 0,
        flags: Flags {
            two_step: true,
            ..Flags::default()
        },
        correction: TimeInterval::ZERO,
        message_type_specific: 0,
        source_port_identity: PortIdentity {
            clock_identity: ClockIdentity([0, 0x1b, 0x19, 0xff, 0xfe, 1, 2, 3]),
            port_number: 1,
        },
        sequence_id: 1,
        control_field: mt.control_field(),
        log_message_interval: 0,
    }
}

fn frame_repr() -> FrameRepr {
    FrameRepr {
        ethernet: EthernetRepr {
            dst: MacAddress([0x01, 0x00, 0x5e, 0, 1, 0x81]),
            src: MacAddress([0, 0x1b, 0x19, 1, 2, 3]),
            vlan: None,
        },
        network: NetworkRepr::Udp4(
            Ipv4Repr {
                src: [10, 0, 0, 1],
                dst: [224, 0, 1, 129],
                dscp_ecn: 0xb8,
                identification: 0,
                flags_fragment: 0x4000,
                ttl: 1,
            },
            UdpPorts { src: 320, dst: 320 },
        ),
    }
}

fn wire(c: &mut Criterion) {
    let delay_req = MessageRepr {
        header: header(MessageType::DelayReq),
        body: MessageBody::DelayReq {
            origin_timestamp: Timestamp::default(),
        },
        tlvs: TlvBlock::EMPTY,
    };
    let mut dreq = [0u8; 44];
    delay_req.emit(&mut dreq).unwrap_or_default();

    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Elements(1));
    g.bench_function("header_parse", |b| {
        b.iter(|| {
            let h = Header::new_checked(black_box(&dreq[..])).map(|h| HeaderRepr::parse(&h));
            black_box(h)
        })
    });
    g.bench_function("delay_req_parse_full", |b| {
        b.iter(|| black_box(MessageRepr::parse_bytes(black_box(&dreq[..]))))
    });
    g.bench_function("sync_emit", |b| {
        let mut out = [0u8; 44];
        let mut seq = 0u16;
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let r = MessageRepr {
                header: HeaderRepr {
                    sequence_id: seq,
                    ..header(MessageType::Sync)
                },
                body: MessageBody::Sync {
                    origin_timestamp: Timestamp {
                        seconds: 1_700_000_037,
                        nanoseconds: seq as u32,
                    },
                },
                tlvs: TlvBlock::EMPTY,
            };
            black_box(r.emit(&mut out)).ok();
            black_box(&out);
        })
    });
    g.bench_function("delay_resp_emit", |b| {
        let mut out = [0u8; 54];
        b.iter(|| {
            let Ok(m) = Message::new_checked(black_box(&dreq[..])) else {
                return;
            };
            let req = m.header();
            let r = MessageRepr {
                header: HeaderRepr {
                    sequence_id: req.sequence_id(),
                    correction: req.correction(),
                    ..header(MessageType::DelayResp)
                },
                body: MessageBody::DelayResp {
                    receive_timestamp: Timestamp {
                        seconds: 1_700_000_037,
                        nanoseconds: 5,
                    },
                    requesting_port_identity: req.source_port_identity(),
                },
                tlvs: TlvBlock::EMPTY,
            };
            black_box(r.emit(&mut out)).ok();
            black_box(&out);
        })
    });
    g.bench_function("delay_resp_frame_udp4_emit", |b| {
        let f = frame_repr();
        let hl = f.header_len();
        let mut out = [0u8; 42 + 54];
        b.iter(|| {
            let r = MessageRepr {
                header: header(MessageType::DelayResp),
                body: MessageBody::DelayResp {
                    receive_timestamp: Timestamp {
                        seconds: 1_700_000_037,
                        nanoseconds: 5,
                    },
                    requesting_port_identity: PortIdentity::default(),
                },
                tlvs: TlvBlock::EMPTY,
            };
            r.emit(&mut out[hl..]).ok();
            black_box(f.emit_headers(&mut out, 54)).ok();
            black_box(&out);
        })
    });
    g.bench_function("frame_udp4_parse", |b| {
        let f = frame_repr();
        let mut out = [0u8; 42 + 44];
        out[42..].copy_from_slice(&dreq);
        f.emit_headers(&mut out, 44).ok();
        b.iter(|| black_box(ParsedFrame::parse(black_box(&out[..])).map(|p| p.payload.len())))
    });
    g.finish();
}

/// Private, so the undocumented fn that `criterion_group!` generates needs no docs.
mod group {
    use super::*;
    criterion_group!(benches, wire);
}
use group::benches;
criterion_main!(benches);

//! Frames of emulated PTP slaves: prebuilt multicast E2E Delay_Req frames (UDP/IPv4 to
//! 224.0.1.129:319), one template per slave, stamped with a sequenceId on the way out; and
//! the classification of what a master sends back (Delay_Resp matched to its slave, every
//! other message counted by type).
//!
//! Emulated slave `k` (0-based, below 2^24) has clockIdentity `02:4c:47:ff:fe:KK:KK:KK`
//! (port 1); it sends from host `h = k mod hosts`: MAC `02:4c:47:HH:HH:HH`, IPv4 address
//! `base + h` (one host per slave unless fewer hosts are asked for).

use meridian_proto::wire::frame::{self, FrameLayout};
use meridian_proto::wire::{
    ClockIdentity, EthernetRepr, Flags, FrameRepr, Header, HeaderRepr, Ipv4Repr, MacAddress,
    MessageBody, MessageRepr, MessageType, NetworkRepr, ParsedFrame, PortIdentity, TimeInterval,
    Timestamp, TlvBlock, UdpPorts, WireError,
};

/// Octets of a Delay_Req frame: Ethernet 14 + IPv4 20 + UDP 8 + Delay_Req 44.
pub const FRAME_LEN: usize = 14 + 20 + 8 + 44;
/// Most slaves that can be emulated (the index lives in three octets).
pub const MAX_SLAVES: u32 = 1 << 24;
/// Offset of sequenceId in a PTP message.
const SEQUENCE_ID: usize = 30;
/// Offset of requestingPortIdentity in a Delay_Resp.
const REQUESTING_PORT_IDENTITY: usize = 44;
/// Length of a Delay_Resp (header 34 + receiveTimestamp 10 + requestingPortIdentity 10).
const DELAY_RESP_LEN: usize = 54;
/// The three leading octets of every emulated identity and MAC ("LG", locally administered).
const PREFIX: [u8; 3] = [0x02, 0x4c, 0x47];

/// The sourcePortIdentity of emulated slave `k`.
pub fn slave_identity(k: u32) -> PortIdentity {
    let b = k.to_be_bytes();
    PortIdentity {
        clock_identity: ClockIdentity([
            PREFIX[0], PREFIX[1], PREFIX[2], 0xff, 0xfe, b[1], b[2], b[3],
        ]),
        port_number: 1,
    }
}

/// The slave index of a port identity made by [`slave_identity`].
pub fn slave_of(id: &PortIdentity) -> Option<u32> {
    let c = id.clock_identity.0;
    (c[..3] == PREFIX && c[3..5] == [0xff, 0xfe] && id.port_number == 1)
        .then(|| u32::from_be_bytes([0, c[5], c[6], c[7]]))
}

/// The MAC address of emulated host `h`.
pub fn slave_mac(h: u32) -> [u8; 6] {
    let b = h.to_be_bytes();
    [PREFIX[0], PREFIX[1], PREFIX[2], b[1], b[2], b[3]]
}

/// The IPv4 address of emulated host `h`: `base + h`.
pub fn slave_ip(base: [u8; 4], h: u32) -> [u8; 4] {
    u32::from_be_bytes(base).wrapping_add(h).to_be_bytes()
}

/// One prebuilt Delay_Req frame per emulated slave, sequenceId 0.
#[derive(Debug, Clone)]
pub struct DelayReqTemplates {
    frames: Vec<[u8; FRAME_LEN]>,
    layout: FrameLayout,
}

impl DelayReqTemplates {
    /// Templates for `slaves` slaves (1..=[`MAX_SLAVES`]) on `hosts` hosts (addresses from
    /// `ip_base`), in PTP domain `domain`: multicast (flagField unicast clear), DSCP 46,
    /// TTL 1, DF.
    pub fn new(slaves: u32, hosts: u32, ip_base: [u8; 4], domain: u8) -> Result<Self, WireError> {
        let slaves = slaves.clamp(1, MAX_SLAVES);
        let hosts = hosts.clamp(1, slaves);
        let mut frames = Vec::with_capacity(slaves as usize);
        let mut layout = None;
        for k in 0..slaves {
            let msg = MessageRepr {
                header: HeaderRepr {
                    major_sdo_id: 0,
                    message_type: MessageType::DelayReq,
                    minor_version_ptp: 1,
                    version_ptp: 2,
                    message_length: 0,
                    domain_number: domain,
                    minor_sdo_id: 0,
                    flags: Flags::default(),
                    correction: TimeInterval::ZERO,
                    message_type_specific: 0,
                    source_port_identity: slave_identity(k),
                    sequence_id: 0,
                    control_field: MessageType::DelayReq.control_field(),
                    log_message_interval: 0x7f,
                },
                body: MessageBody::DelayReq {
                    origin_timestamp: Timestamp::default(),
                },
                tlvs: TlvBlock::EMPTY,
            };
            let repr = FrameRepr {
                ethernet: EthernetRepr {
                    dst: MacAddress([0x01, 0x00, 0x5e, 0x00, 0x01, 0x81]),
                    src: MacAddress(slave_mac(k % hosts)),
                    vlan: None,
                },
                network: NetworkRepr::Udp4(
                    Ipv4Repr {
                        src: slave_ip(ip_base, k % hosts),
                        dst: frame::IPV4_PRIMARY,
                        dscp_ecn: 46 << 2,
                        identification: 0,
                        flags_fragment: 0x4000,
                        ttl: 1,
                    },
                    UdpPorts {
                        src: frame::PORT_EVENT,
                        dst: frame::PORT_EVENT,
                    },
                ),
            };
            let mut f = [0u8; FRAME_LEN];
            let hl = repr.header_len();
            msg.emit(&mut f[hl..])?;
            layout = Some(repr.emit_headers(&mut f, FRAME_LEN - hl)?);
            frames.push(f);
        }
        Ok(DelayReqTemplates {
            frames,
            layout: layout.expect("at least one slave"),
        })
    }

    /// Slaves emulated.
    pub fn slaves(&self) -> u32 {
        self.frames.len() as u32
    }

    /// Writes slave `k`'s Delay_Req with sequenceId `seq` into `out` (exactly
    /// [`FRAME_LEN`] octets), keeping the UDP checksum valid.
    #[inline]
    pub fn write(&self, k: u32, seq: u16, out: &mut [u8]) {
        out.copy_from_slice(&self.frames[k as usize]);
        // The template's sequenceId is 0: an incremental checksum update of two octets.
        frame::patch_in_place(out, &self.layout, SEQUENCE_ID, &seq.to_be_bytes())
            .expect("sequenceId lies inside the template");
    }
}

/// What a received frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A Delay_Resp to emulated slave `slave`, for its request `seq`.
    DelayResp {
        /// Slave index.
        slave: u32,
        /// sequenceId.
        seq: u16,
    },
    /// A Delay_Resp for a port identity we did not emulate.
    ForeignDelayResp,
    /// Any other PTP message, by type.
    Other(MessageType),
    /// Not a well-formed PTP frame (other protocol, bad checksum, truncated).
    NotPtp,
}

/// Classifies one received Ethernet frame.
pub fn classify(frame: &[u8]) -> Reply {
    let Ok(p) = ParsedFrame::parse(frame) else {
        return Reply::NotPtp;
    };
    let Ok(h) = Header::new_checked(p.payload) else {
        return Reply::NotPtp;
    };
    let mt = h.message_type();
    if mt != MessageType::DelayResp {
        return Reply::Other(mt);
    }
    if usize::from(h.message_length()) < DELAY_RESP_LEN || p.payload.len() < DELAY_RESP_LEN {
        return Reply::NotPtp;
    }
    let Ok(id) = PortIdentity::read(p.payload, REQUESTING_PORT_IDENTITY, "requesting") else {
        return Reply::NotPtp;
    };
    match slave_of(&id) {
        Some(slave) => Reply::DelayResp {
            slave,
            seq: h.sequence_id(),
        },
        None => Reply::ForeignDelayResp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip() {
        for k in [0, 1, 999, 0x00ab_cdef, MAX_SLAVES - 1] {
            assert_eq!(slave_of(&slave_identity(k)), Some(k));
        }
        let mut other = slave_identity(5);
        other.port_number = 2;
        assert_eq!(slave_of(&other), None);
        assert_eq!(slave_of(&PortIdentity::ALL), None);
        assert_eq!(slave_ip([10, 77, 1, 1], 300), [10, 77, 2, 45]);
        assert_eq!(slave_mac(0x010203), [2, 0x4c, 0x47, 1, 2, 3]);
    }

    #[test]
    fn delay_req_frames_parse_back_with_valid_checksums() {
        let t = DelayReqTemplates::new(1000, 1000, [10, 77, 1, 1], 0).unwrap();
        assert_eq!(t.slaves(), 1000);
        let mut out = [0u8; FRAME_LEN];
        for (k, seq) in [(0u32, 0u16), (7, 1), (999, 0xffff), (500, 0x1234)] {
            t.write(k, seq, &mut out);
            // ParsedFrame verifies the IPv4 and UDP checksums.
            let p = ParsedFrame::parse(&out).expect("valid frame");
            let NetworkRepr::Udp4(ip, ports) = p.repr.network else {
                panic!("not UDP/IPv4")
            };
            assert_eq!(ip.dst, frame::IPV4_PRIMARY);
            assert_eq!(ip.src, slave_ip([10, 77, 1, 1], k));
            assert_eq!(ports.dst, 319);
            assert_eq!(p.repr.ethernet.dst.0, [1, 0, 0x5e, 0, 1, 0x81]);
            let m = MessageRepr::parse_bytes(p.payload).unwrap();
            assert_eq!(m.header.message_type, MessageType::DelayReq);
            assert_eq!(m.header.sequence_id, seq);
            assert_eq!(m.header.source_port_identity, slave_identity(k));
            assert!(!m.header.flags.unicast);
        }
        // Ten slaves on three hosts: slave 4 sends from host 1.
        let t = DelayReqTemplates::new(10, 3, [10, 77, 1, 1], 0).unwrap();
        t.write(4, 9, &mut out);
        let p = ParsedFrame::parse(&out).unwrap();
        assert_eq!(p.repr.ethernet.src.0, slave_mac(1));
        let NetworkRepr::Udp4(ip, _) = p.repr.network else {
            panic!("not UDP/IPv4")
        };
        assert_eq!(ip.src, [10, 77, 1, 2]);
        let m = MessageRepr::parse_bytes(p.payload).unwrap();
        assert_eq!(m.header.source_port_identity, slave_identity(4));
    }

    fn delay_resp_frame(requesting: PortIdentity, seq: u16) -> Vec<u8> {
        let msg = MessageRepr {
            header: HeaderRepr {
                major_sdo_id: 0,
                message_type: MessageType::DelayResp,
                minor_version_ptp: 1,
                version_ptp: 2,
                message_length: 0,
                domain_number: 0,
                minor_sdo_id: 0,
                flags: Flags::default(),
                correction: TimeInterval::ZERO,
                message_type_specific: 0,
                source_port_identity: PortIdentity {
                    clock_identity: ClockIdentity([0, 0x1b, 0x19, 0xff, 0xfe, 0, 0, 1]),
                    port_number: 1,
                },
                sequence_id: seq,
                control_field: MessageType::DelayResp.control_field(),
                log_message_interval: 0,
            },
            body: MessageBody::DelayResp {
                receive_timestamp: Timestamp::default(),
                requesting_port_identity: requesting,
            },
            tlvs: TlvBlock::EMPTY,
        };
        let repr = FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress([1, 0, 0x5e, 0, 1, 0x81]),
                src: MacAddress([2, 0, 0, 0, 0, 1]),
                vlan: None,
            },
            network: NetworkRepr::Udp4(
                Ipv4Repr {
                    src: [10, 77, 0, 1],
                    dst: frame::IPV4_PRIMARY,
                    dscp_ecn: 0,
                    identification: 1,
                    flags_fragment: 0x4000,
                    ttl: 1,
                },
                UdpPorts {
                    src: frame::PORT_GENERAL,
                    dst: frame::PORT_GENERAL,
                },
            ),
        };
        let hl = repr.header_len();
        let mut f = vec![0u8; hl + msg.buffer_len()];
        msg.emit(&mut f[hl..]).unwrap();
        let n = f.len() - hl;
        repr.emit_headers(&mut f, n).unwrap();
        f
    }

    #[test]
    fn replies_are_classified() {
        let f = delay_resp_frame(slave_identity(42), 77);
        assert_eq!(classify(&f), Reply::DelayResp { slave: 42, seq: 77 });
        let foreign = PortIdentity {
            clock_identity: ClockIdentity([1; 8]),
            port_number: 1,
        };
        assert_eq!(
            classify(&delay_resp_frame(foreign, 1)),
            Reply::ForeignDelayResp
        );
        let t = DelayReqTemplates::new(1, 1, [10, 0, 0, 2], 0).unwrap();
        let mut out = [0u8; FRAME_LEN];
        t.write(0, 1, &mut out);
        assert_eq!(classify(&out), Reply::Other(MessageType::DelayReq));
        let mut bad = f.clone();
        bad[60] ^= 0xff; // breaks the UDP checksum
        assert_eq!(classify(&bad), Reply::NotPtp);
        assert_eq!(classify(&[0u8; 60]), Reply::NotPtp);
    }
}

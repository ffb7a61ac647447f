//! The slave swarm's protocol half (no I/O, tested by `cargo test`): the frames N emulated
//! slaves send — unicast negotiation (REQUEST / CANCEL_UNICAST_TRANSMISSION for Announce, Sync
//! and Delay_Resp), unicast or multicast Delay_Req — one prebuilt template each, and the
//! classification of what a grandmaster sends back, attributed to its slave.
//!
//! Slave `k` (0-based) has the clock identity of [`crate::ptp::slave_identity`] and sends from
//! IPv4 address `prefix + k`; every slave shares the generator's MAC (the grandmaster's side
//! holds permanent neighbour entries for the prefix, so the kernel's ARP table does not cap
//! the swarm). The socket half is `src/bin/swarm.rs`.

use meridian_proto::wire::frame::{self, FrameLayout};
use meridian_proto::wire::{
    EthernetRepr, Flags, FrameRepr, Header, HeaderRepr, Ipv4Repr, MacAddress, MessageBody,
    MessageRepr, MessageType, NetworkRepr, ParsedFrame, PortIdentity, TimeInterval, Timestamp,
    TlvBlock, TlvRepr, UdpPorts, WireError,
};

use crate::ptp::{slave_identity, slave_ip, slave_of};

/// Offset of sequenceId in a PTP message.
const SEQUENCE_ID: usize = 30;
/// Offset of requestingPortIdentity in a Delay_Resp.
const REQUESTING_PORT_IDENTITY: usize = 44;
/// Length of a Delay_Resp.
const DELAY_RESP_LEN: usize = 54;
/// The IPv4 multicast MAC of 224.0.1.129.
const GROUP_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x01, 0x81];

/// How the swarm's slaves get their Sync and answer to Delay_Req.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each slave negotiates Announce, Sync and Delay_Resp grants and sends unicast Delay_Req.
    Unicast,
    /// Each slave sends multicast Delay_Req; the grandmaster's multicast Sync serves all.
    Multicast,
}

/// Where the swarm is and whom it talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addressing {
    /// The generator interface's MAC: the source of every frame.
    pub own_mac: [u8; 6],
    /// The grandmaster's MAC (unicast frames).
    pub gm_mac: [u8; 6],
    /// The grandmaster's IPv4 address (unicast frames).
    pub gm_ip: [u8; 4],
    /// Slave `k` sends from `prefix + k`.
    pub prefix: [u8; 4],
    /// PTP domain.
    pub domain: u8,
}

/// What each slave asks for when it negotiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// logInterMessagePeriod requested for Announce.
    pub log_announce: i8,
    /// ... for Sync.
    pub log_sync: i8,
    /// ... for Delay_Resp (and the Delay_Req interval).
    pub log_delay_resp: i8,
    /// durationField requested, seconds.
    pub duration: u32,
}

/// One prebuilt frame per slave, patched with a sequenceId on the way out.
#[derive(Debug, Clone)]
pub struct Templates {
    buf: Vec<u8>,
    len: usize,
    layout: FrameLayout,
}

impl Templates {
    fn build(
        slaves: u32,
        mut make: impl FnMut(u32, &mut [u8]) -> Result<(usize, FrameLayout), WireError>,
    ) -> Result<Templates, WireError> {
        let mut scratch = [0u8; 256];
        let (len, layout) = make(0, &mut scratch)?;
        let mut buf = vec![0u8; len * slaves as usize];
        for k in 0..slaves {
            let at = k as usize * len;
            let (n, _) = make(k, &mut buf[at..at + len])?;
            debug_assert_eq!(n, len);
        }
        Ok(Templates { buf, len, layout })
    }

    /// Octets of each frame.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no templates.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Writes slave `k`'s frame with sequenceId `seq` into `out` (at least [`Self::len`]
    /// octets); returns its length. The UDP checksum stays valid.
    #[inline]
    pub fn write(&self, k: u32, seq: u16, out: &mut [u8]) -> usize {
        let at = k as usize * self.len;
        let out = &mut out[..self.len];
        out.copy_from_slice(&self.buf[at..at + self.len]);
        frame::patch_in_place(out, &self.layout, SEQUENCE_ID, &seq.to_be_bytes())
            .expect("sequenceId lies inside the template");
        self.len
    }
}

fn header(message_type: MessageType, k: u32, domain: u8, unicast: bool, log: i8) -> HeaderRepr {
    HeaderRepr {
        major_sdo_id: 0,
        message_type,
        minor_version_ptp: 1,
        version_ptp: 2,
        message_length: 0,
        domain_number: domain,
        minor_sdo_id: 0,
        flags: Flags {
            unicast,
            ..Flags::default()
        },
        correction: TimeInterval::ZERO,
        message_type_specific: 0,
        source_port_identity: slave_identity(k),
        sequence_id: 0,
        control_field: message_type.control_field(),
        log_message_interval: log,
    }
}

/// Emits `msg` from slave `k` to `(dst_mac, dst_ip, port)` into `out`.
fn emit(
    a: &Addressing,
    k: u32,
    dst_mac: [u8; 6],
    dst_ip: [u8; 4],
    port: u16,
    msg: &MessageRepr,
    out: &mut [u8],
) -> Result<(usize, FrameLayout), WireError> {
    let repr = FrameRepr {
        ethernet: EthernetRepr {
            dst: MacAddress(dst_mac),
            src: MacAddress(a.own_mac),
            vlan: None,
        },
        network: NetworkRepr::Udp4(
            Ipv4Repr {
                src: slave_ip(a.prefix, k),
                dst: dst_ip,
                dscp_ecn: 46 << 2,
                identification: 0,
                flags_fragment: 0x4000,
                ttl: if dst_mac == GROUP_MAC { 1 } else { 64 },
            },
            UdpPorts {
                src: port,
                dst: port,
            },
        ),
    };
    let hl = repr.header_len();
    let n = msg.buffer_len();
    if out.len() < hl + n {
        return Err(WireError::new(
            "frame",
            0,
            meridian_proto::wire::ErrorKind::BufferSize,
        ));
    }
    msg.emit(&mut out[hl..hl + n])?;
    let layout = repr.emit_headers(&mut out[..hl + n], n)?;
    Ok((hl + n, layout))
}

/// The three message types a unicast slave negotiates, in request order.
pub const NEGOTIATED: [MessageType; 3] = [
    MessageType::Announce,
    MessageType::Sync,
    MessageType::DelayResp,
];

/// Bit of a negotiated type in a slave's grant set.
pub fn grant_bit(t: MessageType) -> u8 {
    match t {
        MessageType::Announce => 1,
        MessageType::Sync => 2,
        MessageType::DelayResp => 4,
        _ => 0,
    }
}

/// Every negotiated type granted.
pub const ALL_GRANTED: u8 = 7;

/// Every frame the swarm sends, per slave.
#[derive(Debug, Clone)]
pub struct SwarmFrames {
    /// Delay_Req: unicast to the grandmaster (flagField unicast) or to 224.0.1.129.
    pub delay_req: Templates,
    /// Signaling with one REQUEST_UNICAST_TRANSMISSION TLV per negotiated type (unicast).
    pub request: Option<Templates>,
    /// Signaling with one CANCEL_UNICAST_TRANSMISSION TLV per negotiated type (unicast).
    pub cancel: Option<Templates>,
}

impl SwarmFrames {
    /// Frames for `slaves` slaves.
    pub fn new(slaves: u32, mode: Mode, a: &Addressing, r: &Rates) -> Result<Self, WireError> {
        let unicast = mode == Mode::Unicast;
        let (dst_mac, dst_ip) = if unicast {
            (a.gm_mac, a.gm_ip)
        } else {
            (GROUP_MAC, frame::IPV4_PRIMARY)
        };
        let delay_req = Templates::build(slaves, |k, out| {
            let msg = MessageRepr {
                header: header(MessageType::DelayReq, k, a.domain, unicast, 0x7f),
                body: MessageBody::DelayReq {
                    origin_timestamp: Timestamp::default(),
                },
                tlvs: TlvBlock::EMPTY,
            };
            emit(a, k, dst_mac, dst_ip, frame::PORT_EVENT, &msg, out)
        })?;
        if !unicast {
            return Ok(SwarmFrames {
                delay_req,
                request: None,
                cancel: None,
            });
        }
        let signaling = |tlvs: &[TlvRepr<'_>]| -> Result<Templates, WireError> {
            let mut tb = [0u8; 64];
            let n = TlvBlock::write(&mut tb, tlvs)?;
            Templates::build(slaves, |k, out| {
                let msg = MessageRepr {
                    header: header(MessageType::Signaling, k, a.domain, true, 0x7f),
                    body: MessageBody::Signaling {
                        target_port_identity: PortIdentity::ALL,
                    },
                    tlvs: TlvBlock::new_checked(&tb[..n], 0)?,
                };
                emit(a, k, a.gm_mac, a.gm_ip, frame::PORT_GENERAL, &msg, out)
            })
        };
        let logs = [r.log_announce, r.log_sync, r.log_delay_resp];
        let req: Vec<TlvRepr<'_>> = NEGOTIATED
            .iter()
            .zip(logs)
            .map(|(&t, log)| TlvRepr::RequestUnicastTransmission {
                message_type: t,
                log_inter_message_period: log,
                duration: r.duration,
            })
            .collect();
        let cancel: Vec<TlvRepr<'_>> = NEGOTIATED
            .iter()
            .map(|&t| TlvRepr::CancelUnicastTransmission { message_type: t })
            .collect();
        Ok(SwarmFrames {
            delay_req,
            request: Some(signaling(&req)?),
            cancel: Some(signaling(&cancel)?),
        })
    }
}

/// What a received frame is, for the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rx {
    /// A Delay_Resp to slave `slave` for its request `seq`.
    DelayResp {
        /// Slave index.
        slave: u32,
        /// sequenceId.
        seq: u16,
    },
    /// A Sync, Follow_Up or Announce; `slave` when it was unicast to one of ours.
    Service {
        /// Sync, Follow_Up or Announce.
        message_type: MessageType,
        /// The slave it was addressed to (`None`: multicast).
        slave: Option<u32>,
    },
    /// A Signaling message to slave `slave` (its TLVs are read by [`grants`]).
    Signaling {
        /// Slave index.
        slave: u32,
    },
    /// Anything else that parsed as PTP (other types, other destinations), by type.
    Other(MessageType),
    /// Not a well-formed PTP frame.
    NotPtp,
}

/// The slave a destination address belongs to, if it is in `[prefix, prefix + slaves)`.
fn slave_at(prefix: [u8; 4], slaves: u32, dst: [u8; 4]) -> Option<u32> {
    let k = u32::from_be_bytes(dst).wrapping_sub(u32::from_be_bytes(prefix));
    (k < slaves).then_some(k)
}

/// Classifies one received Ethernet frame for a swarm of `slaves` slaves at `prefix`.
pub fn classify(frame: &[u8], prefix: [u8; 4], slaves: u32) -> Rx {
    let Ok(p) = ParsedFrame::parse(frame) else {
        return Rx::NotPtp;
    };
    let Ok(h) = Header::new_checked(p.payload) else {
        return Rx::NotPtp;
    };
    let dst = match p.repr.network {
        NetworkRepr::Udp4(ip, _) => slave_at(prefix, slaves, ip.dst),
        _ => None,
    };
    match h.message_type() {
        MessageType::DelayResp => {
            if usize::from(h.message_length()) < DELAY_RESP_LEN || p.payload.len() < DELAY_RESP_LEN
            {
                return Rx::NotPtp;
            }
            let Ok(id) = PortIdentity::read(p.payload, REQUESTING_PORT_IDENTITY, "requesting")
            else {
                return Rx::NotPtp;
            };
            match slave_of(&id).filter(|&s| s < slaves) {
                Some(slave) => Rx::DelayResp {
                    slave,
                    seq: h.sequence_id(),
                },
                None => Rx::Other(MessageType::DelayResp),
            }
        }
        t @ (MessageType::Sync | MessageType::FollowUp | MessageType::Announce) => Rx::Service {
            message_type: t,
            slave: dst,
        },
        MessageType::Signaling => match dst {
            Some(slave) => Rx::Signaling { slave },
            None => Rx::Other(MessageType::Signaling),
        },
        t => Rx::Other(t),
    }
}

/// One GRANT_UNICAST_TRANSMISSION read from a Signaling frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// Type granted.
    pub message_type: MessageType,
    /// logInterMessagePeriod granted.
    pub log_inter_message_period: i8,
    /// durationField (0: denied).
    pub duration: u32,
}

/// The grants in a Signaling frame (at most 8 are returned; a grandmaster sends one per
/// type requested).
pub fn grants(frame: &[u8]) -> Vec<Grant> {
    let Ok(p) = ParsedFrame::parse(frame) else {
        return Vec::new();
    };
    let Ok(m) = MessageRepr::parse_bytes(p.payload) else {
        return Vec::new();
    };
    m.tlvs
        .iter()
        .filter_map(|t| match t {
            TlvRepr::GrantUnicastTransmission {
                message_type,
                log_inter_message_period,
                duration,
                ..
            } => Some(Grant {
                message_type,
                log_inter_message_period,
                duration,
            }),
            _ => None,
        })
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_proto::wire::{ClockIdentity, UdpPorts};

    const A: Addressing = Addressing {
        own_mac: [2, 0x6d, 0x69, 0, 0, 2],
        gm_mac: [2, 0x6d, 0x69, 0, 0, 1],
        gm_ip: [10, 77, 0, 1],
        prefix: [10, 78, 0, 0],
        domain: 0,
    };
    const R: Rates = Rates {
        log_announce: 1,
        log_sync: 0,
        log_delay_resp: -2,
        duration: 60,
    };

    fn parse(f: &[u8]) -> (ParsedFrame<'_>, MessageRepr<'_>) {
        let p = ParsedFrame::parse(f).expect("valid frame and checksums");
        let m = MessageRepr::parse_bytes(p.payload).expect("valid PTP");
        (p, m)
    }

    #[test]
    fn unicast_frames_carry_the_slave_and_its_requests() {
        let f = SwarmFrames::new(300, Mode::Unicast, &A, &R).unwrap();
        let mut out = [0u8; 256];
        let n = f.delay_req.write(299, 7, &mut out);
        let (p, m) = parse(&out[..n]);
        let NetworkRepr::Udp4(ip, ports) = p.repr.network else {
            panic!("not UDP/IPv4")
        };
        assert_eq!(ip.src, [10, 78, 1, 43]);
        assert_eq!(ip.dst, A.gm_ip);
        assert_eq!(ports.dst, 319);
        assert_eq!(p.repr.ethernet.dst.0, A.gm_mac);
        assert!(m.header.flags.unicast);
        assert_eq!(m.header.sequence_id, 7);
        assert_eq!(m.header.source_port_identity, slave_identity(299));

        let req = f.request.as_ref().unwrap();
        let n = req.write(5, 3, &mut out);
        let (p, m) = parse(&out[..n]);
        let NetworkRepr::Udp4(_, ports) = p.repr.network else {
            panic!("not UDP/IPv4")
        };
        assert_eq!(ports.dst, 320);
        let tlvs: Vec<_> = m.tlvs.iter().collect();
        assert_eq!(
            tlvs,
            [
                TlvRepr::RequestUnicastTransmission {
                    message_type: MessageType::Announce,
                    log_inter_message_period: 1,
                    duration: 60
                },
                TlvRepr::RequestUnicastTransmission {
                    message_type: MessageType::Sync,
                    log_inter_message_period: 0,
                    duration: 60
                },
                TlvRepr::RequestUnicastTransmission {
                    message_type: MessageType::DelayResp,
                    log_inter_message_period: -2,
                    duration: 60
                },
            ]
        );
        let n = f.cancel.as_ref().unwrap().write(5, 4, &mut out);
        let (_, m) = parse(&out[..n]);
        assert_eq!(m.tlvs.iter().count(), 3);
        assert!(m
            .tlvs
            .iter()
            .all(|t| matches!(t, TlvRepr::CancelUnicastTransmission { .. })));
    }

    #[test]
    fn multicast_delay_req_goes_to_the_group() {
        let f = SwarmFrames::new(3, Mode::Multicast, &A, &R).unwrap();
        assert!(f.request.is_none());
        let mut out = [0u8; 256];
        let n = f.delay_req.write(2, 9, &mut out);
        let (p, m) = parse(&out[..n]);
        assert_eq!(p.repr.ethernet.dst.0, GROUP_MAC);
        assert!(!m.header.flags.unicast);
        assert_eq!(
            classify(&out[..n], A.prefix, 3),
            Rx::Other(MessageType::DelayReq)
        );
    }

    /// A frame from the grandmaster to slave `k` (or the group).
    fn from_gm(msg: &MessageRepr, dst: [u8; 4]) -> Vec<u8> {
        let repr = FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress(A.own_mac),
                src: MacAddress(A.gm_mac),
                vlan: None,
            },
            network: NetworkRepr::Udp4(
                Ipv4Repr {
                    src: A.gm_ip,
                    dst,
                    dscp_ecn: 0,
                    identification: 1,
                    flags_fragment: 0x4000,
                    ttl: 64,
                },
                UdpPorts { src: 320, dst: 320 },
            ),
        };
        let hl = repr.header_len();
        let mut f = vec![0u8; hl + msg.buffer_len()];
        msg.emit(&mut f[hl..]).unwrap();
        let n = f.len() - hl;
        repr.emit_headers(&mut f, n).unwrap();
        f
    }

    fn gm_header(t: MessageType, seq: u16) -> HeaderRepr {
        let mut h = header(t, 0, 0, true, 0);
        h.source_port_identity = PortIdentity {
            clock_identity: ClockIdentity([0, 0x1b, 0x19, 0xff, 0xfe, 0, 0, 1]),
            port_number: 1,
        };
        h.sequence_id = seq;
        h
    }

    #[test]
    fn replies_are_attributed_to_their_slave() {
        let resp = MessageRepr {
            header: gm_header(MessageType::DelayResp, 41),
            body: MessageBody::DelayResp {
                receive_timestamp: Timestamp::default(),
                requesting_port_identity: slave_identity(12),
            },
            tlvs: TlvBlock::EMPTY,
        };
        let f = from_gm(&resp, slave_ip(A.prefix, 12));
        assert_eq!(
            classify(&f, A.prefix, 100),
            Rx::DelayResp { slave: 12, seq: 41 }
        );
        // A slave beyond the swarm is not ours.
        assert_eq!(
            classify(&f, A.prefix, 12),
            Rx::Other(MessageType::DelayResp)
        );

        let sync = MessageRepr {
            header: gm_header(MessageType::Sync, 1),
            body: MessageBody::Sync {
                origin_timestamp: Timestamp::default(),
            },
            tlvs: TlvBlock::EMPTY,
        };
        let f = from_gm(&sync, slave_ip(A.prefix, 99));
        assert_eq!(
            classify(&f, A.prefix, 100),
            Rx::Service {
                message_type: MessageType::Sync,
                slave: Some(99)
            }
        );
        let f = from_gm(&sync, frame::IPV4_PRIMARY);
        assert_eq!(
            classify(&f, A.prefix, 100),
            Rx::Service {
                message_type: MessageType::Sync,
                slave: None
            }
        );

        let mut tb = [0u8; 64];
        let tlvs = TlvBlock::build(
            &mut tb,
            &[
                TlvRepr::GrantUnicastTransmission {
                    message_type: MessageType::Sync,
                    log_inter_message_period: 0,
                    duration: 60,
                    renewal_invited: true,
                },
                TlvRepr::GrantUnicastTransmission {
                    message_type: MessageType::DelayResp,
                    log_inter_message_period: -2,
                    duration: 0,
                    renewal_invited: false,
                },
            ],
        )
        .unwrap();
        let sig = MessageRepr {
            header: gm_header(MessageType::Signaling, 2),
            body: MessageBody::Signaling {
                target_port_identity: slave_identity(7),
            },
            tlvs,
        };
        let f = from_gm(&sig, slave_ip(A.prefix, 7));
        assert_eq!(classify(&f, A.prefix, 100), Rx::Signaling { slave: 7 });
        assert_eq!(
            grants(&f),
            [
                Grant {
                    message_type: MessageType::Sync,
                    log_inter_message_period: 0,
                    duration: 60
                },
                Grant {
                    message_type: MessageType::DelayResp,
                    log_inter_message_period: -2,
                    duration: 0
                }
            ]
        );
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff; // breaks the UDP checksum
        assert_eq!(classify(&bad, A.prefix, 100), Rx::NotPtp);
        assert!(grants(&bad).is_empty());
    }
}

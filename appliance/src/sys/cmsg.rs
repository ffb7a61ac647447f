//! Control messages: the receive buffer ([`CmsgBuf`]), building the one control message
//! the data plane sends ([`build_cmsg_u32`]) and parsing what `recvmsg` hands back
//! ([`parse_control`] into [`Control`]: timestamps, packet info, VLAN tags, error-queue
//! reports as [`ExtendedErr`]). All of it is safe code over byte slices in the kernel's
//! layouts, so it is tested without root and cannot read out of bounds.

use std::mem::{self, size_of};

use libc::c_int;

/// `SCM_TSTAMP_SND`: the timestamp was taken when the frame left (`ee_info`).
pub const SCM_TSTAMP_SND: u32 = 0;
/// `PACKET_AUXDATA` (linux/if_packet.h).
pub const PACKET_AUXDATA: c_int = 8;
/// `PACKET_TX_TIMESTAMP`: level/type of TX timestamps in a packet socket's error queue.
const PACKET_TX_TIMESTAMP: c_int = 16;
/// `TP_STATUS_VLAN_VALID` in `tpacket_auxdata.tp_status`.
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;

/// Room for the control messages of one received datagram; aligned like `cmsghdr`.
#[repr(C, align(8))]
pub struct CmsgBuf(pub(super) [u8; 512]);

impl CmsgBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        CmsgBuf([0; 512])
    }
    /// The first `len` octets (clamped to the buffer).
    pub fn bytes(&self, len: usize) -> &[u8] {
        &self.0[..len.min(self.0.len())]
    }
}

/// Octets of a `cmsghdr`: `size_t cmsg_len; int cmsg_level; int cmsg_type;`.
const CMSG_HDR: usize = size_of::<usize>() + 2 * size_of::<c_int>();

/// `CMSG_ALIGN`: control messages are aligned to `sizeof(long)`.
const fn cmsg_align(n: usize) -> usize {
    let a = size_of::<libc::c_long>();
    (n + a - 1) & !(a - 1)
}

/// Writes one control message carrying a `u32` at the start of `buf`; returns its
/// `CMSG_SPACE` (the `msg_controllen` to pass), or 0 if `buf` is too small.
pub fn build_cmsg_u32(buf: &mut [u8], level: c_int, ty: c_int, val: u32) -> usize {
    let len = cmsg_align(CMSG_HDR) + 4;
    let space = cmsg_align(len);
    if buf.len() < space {
        return 0;
    }
    buf[..space].fill(0);
    let w = size_of::<usize>();
    buf[..w].copy_from_slice(&len.to_ne_bytes());
    buf[w..w + 4].copy_from_slice(&level.to_ne_bytes());
    buf[w + 4..w + 8].copy_from_slice(&ty.to_ne_bytes());
    let d = cmsg_align(CMSG_HDR);
    buf[d..d + 4].copy_from_slice(&val.to_ne_bytes());
    space
}

/// The fields of a `sock_extended_err` that matter for TX timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedErr {
    /// `ee_errno` (`ENOMSG` for timestamps).
    pub errno: u32,
    /// `ee_origin` (`SO_EE_ORIGIN_TIMESTAMPING`).
    pub origin: u8,
    /// `ee_info` (`SCM_TSTAMP_SND`, `_SCHED`, `_ACK`).
    pub info: u32,
    /// `ee_data`: the `SOF_TIMESTAMPING_OPT_ID` counter of the datagram.
    pub data: u32,
}

impl ExtendedErr {
    /// Whether this reports a timestamp of the moment the datagram was sent.
    pub fn is_tx_timestamp(&self) -> bool {
        self.errno == libc::ENOMSG as u32
            && self.origin == libc::SO_EE_ORIGIN_TIMESTAMPING
            && self.info == SCM_TSTAMP_SND
    }
}

/// What the control messages of one datagram said. Zero timestamps count as absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Control {
    /// Software timestamp (`SCM_TIMESTAMPING` ts\[0\]), ns since the epoch of CLOCK_REALTIME.
    pub software_ns: Option<i128>,
    /// Raw hardware timestamp (`SCM_TIMESTAMPING` ts\[2\]), ns of the PHC.
    pub hardware_ns: Option<i128>,
    /// Destination address of an IPv4 datagram (`IP_PKTINFO` `ipi_addr`).
    pub dst_v4: Option<[u8; 4]>,
    /// Destination address of an IPv6 datagram (`IPV6_PKTINFO` `ipi6_addr`).
    pub dst_v6: Option<[u8; 16]>,
    /// 802.1Q TCI the kernel took out of the frame (`PACKET_AUXDATA`).
    pub vlan_tci: Option<u16>,
    /// An error-queue report (`IP_RECVERR`, `IPV6_RECVERR`, `PACKET_TX_TIMESTAMP`).
    pub ext_err: Option<ExtendedErr>,
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// A signed native-endian integer of 4 or 8 octets at `at`.
fn ne_int(b: &[u8], at: usize, size: usize) -> Option<i64> {
    match size {
        4 => Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?) as i64),
        8 => Some(i64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?)),
        _ => None,
    }
}

/// The `i`-th `struct timespec` of `b` in ns; `None` if absent, zero or out of range.
fn timespec_ns(b: &[u8], i: usize) -> Option<i128> {
    let size = size_of::<libc::timespec>();
    let at = i * size;
    let sec = ne_int(b, at, size_of::<libc::time_t>())?;
    let nsec = ne_int(
        b,
        at + mem::offset_of!(libc::timespec, tv_nsec),
        size_of::<libc::c_long>(),
    )?;
    if (sec == 0 && nsec == 0) || !(0..1_000_000_000).contains(&nsec) {
        return None;
    }
    Some(sec as i128 * 1_000_000_000 + nsec as i128)
}

/// Walks the control messages in `buf` (as `recvmsg` left them) and collects the ones the
/// data plane uses. Malformed or truncated entries end the walk; unknown ones are skipped.
pub fn parse_control(buf: &[u8]) -> Control {
    let mut c = Control::default();
    let w = size_of::<usize>();
    let mut at = 0;
    while at + CMSG_HDR <= buf.len() {
        let Some(len) = buf
            .get(at..at + w)
            .and_then(|s| s.try_into().ok())
            .map(usize::from_ne_bytes)
        else {
            break;
        };
        if len < CMSG_HDR || len > buf.len() - at {
            break;
        }
        let level = ne_u32(buf, at + w).unwrap_or(0) as c_int;
        let ty = ne_u32(buf, at + w + 4).unwrap_or(0) as c_int;
        let data_at = at + cmsg_align(CMSG_HDR);
        let data = buf.get(data_at..at + len).unwrap_or(&[]);
        match (level, ty) {
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPING) => {
                c.software_ns = timespec_ns(data, 0);
                c.hardware_ns = timespec_ns(data, 2);
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
                c.dst_v4 = data.get(8..12).and_then(|s| s.try_into().ok());
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // struct in6_pktinfo { in6_addr ipi6_addr; int ipi6_ifindex; }
                c.dst_v6 = data.get(0..16).and_then(|s| s.try_into().ok());
            }
            (libc::SOL_PACKET, PACKET_AUXDATA) => {
                // struct tpacket_auxdata { u32 tp_status, tp_len, tp_snaplen;
                //   u16 tp_mac, tp_net, tp_vlan_tci, tp_vlan_tpid; }
                if let (Some(status), Some(tci)) = (ne_u32(data, 0), ne_u16(data, 16)) {
                    if status & TP_STATUS_VLAN_VALID != 0 {
                        c.vlan_tci = Some(tci);
                    }
                }
            }
            (libc::IPPROTO_IP, libc::IP_RECVERR)
            | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
            | (libc::SOL_PACKET, PACKET_TX_TIMESTAMP) => {
                // struct sock_extended_err { u32 ee_errno; u8 ee_origin, ee_type, ee_code,
                //   ee_pad; u32 ee_info; u32 ee_data; }
                if let (Some(errno), Some(&origin), Some(info), Some(d)) = (
                    ne_u32(data, 0),
                    data.get(4),
                    ne_u32(data, 8),
                    ne_u32(data, 12),
                ) {
                    c.ext_err = Some(ExtendedErr {
                        errno,
                        origin,
                        info,
                        data: d,
                    });
                }
            }
            _ => {}
        }
        at += cmsg_align(len);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::super::socket::parse_sockaddr;
    use super::*;

    /// Appends one control message the way the kernel lays it out.
    fn push_cmsg(buf: &mut Vec<u8>, level: c_int, ty: c_int, data: &[u8]) {
        let len = cmsg_align(CMSG_HDR) + data.len();
        let start = buf.len();
        buf.extend_from_slice(&len.to_ne_bytes());
        buf.extend_from_slice(&level.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.resize(start + cmsg_align(CMSG_HDR), 0);
        buf.extend_from_slice(data);
        buf.resize(start + cmsg_align(len), 0);
    }

    fn timespecs(ts: &[(i64, i64)]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(s, ns) in ts {
            let t = libc::timespec {
                tv_sec: s as libc::time_t,
                tv_nsec: ns as libc::c_long,
            };
            let mut b = vec![0u8; size_of::<libc::timespec>()];
            let so = mem::offset_of!(libc::timespec, tv_sec);
            let no = mem::offset_of!(libc::timespec, tv_nsec);
            b[so..so + size_of::<libc::time_t>()].copy_from_slice(&t.tv_sec.to_ne_bytes());
            b[no..no + size_of::<libc::c_long>()].copy_from_slice(&t.tv_nsec.to_ne_bytes());
            v.extend_from_slice(&b);
        }
        v
    }

    #[test]
    fn layout_matches_libc_macros() {
        // SAFETY: CMSG_LEN/CMSG_SPACE are pure arithmetic.
        let (l, s) = unsafe { (libc::CMSG_LEN(4) as usize, libc::CMSG_SPACE(4) as usize) };
        assert_eq!(cmsg_align(CMSG_HDR) + 4, l);
        let mut buf = [0xa5u8; 64];
        assert_eq!(build_cmsg_u32(&mut buf, 1, 37, 0x1234), s);
        assert_eq!(size_of::<libc::tpacket_auxdata>(), 20);
        assert_eq!(size_of::<libc::sock_extended_err>(), 16);
        assert_eq!(size_of::<libc::in_pktinfo>(), 12);
    }

    #[test]
    fn built_cmsg_parses_back() {
        let mut buf = [0xa5u8; 64];
        let n = build_cmsg_u32(&mut buf, libc::SOL_SOCKET, libc::SO_TIMESTAMPING, 7);
        let w = size_of::<usize>();
        assert_eq!(
            usize::from_ne_bytes(buf[..w].try_into().unwrap()),
            cmsg_align(CMSG_HDR) + 4
        );
        assert_eq!(ne_u32(&buf, cmsg_align(CMSG_HDR)), Some(7));
        assert!(buf[cmsg_align(CMSG_HDR) + 4..n].iter().all(|&b| b == 0));
        assert_eq!(build_cmsg_u32(&mut buf[..8], 1, 2, 3), 0);
    }

    #[test]
    fn parses_timestamping_and_pktinfo() {
        let mut b = Vec::new();
        push_cmsg(
            &mut b,
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timespecs(&[(1_700_000_000, 123_456_789), (0, 0), (5, 6)]),
        );
        let mut pi = vec![0u8; 12];
        pi[0..4].copy_from_slice(&3i32.to_ne_bytes());
        pi[4..8].copy_from_slice(&[10, 0, 0, 2]);
        pi[8..12].copy_from_slice(&[224, 0, 1, 129]);
        push_cmsg(&mut b, libc::IPPROTO_IP, libc::IP_PKTINFO, &pi);
        let c = parse_control(&b);
        assert_eq!(c.software_ns, Some(1_700_000_000_123_456_789));
        assert_eq!(c.hardware_ns, Some(5_000_000_006));
        assert_eq!(c.dst_v4, Some([224, 0, 1, 129]));
        assert_eq!(c.dst_v6, None);
        assert_eq!(c.ext_err, None);
    }

    #[test]
    fn zero_and_bad_timestamps_are_absent() {
        let mut b = Vec::new();
        push_cmsg(
            &mut b,
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timespecs(&[(0, 0), (0, 0), (1, 1_000_000_000)]),
        );
        let c = parse_control(&b);
        assert_eq!((c.software_ns, c.hardware_ns), (None, None));
    }

    #[test]
    fn parses_ipv6_pktinfo_auxdata_and_errqueue() {
        let mut b = Vec::new();
        let mut pi6 = vec![0u8; 20];
        pi6[0] = 0xff;
        pi6[1] = 0x02;
        pi6[14] = 0x01;
        pi6[15] = 0x81;
        push_cmsg(&mut b, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pi6);
        let mut aux = vec![0u8; 20];
        aux[0..4].copy_from_slice(&(TP_STATUS_VLAN_VALID | 1).to_ne_bytes());
        aux[16..18].copy_from_slice(&0xa064u16.to_ne_bytes());
        push_cmsg(&mut b, libc::SOL_PACKET, PACKET_AUXDATA, &aux);
        let mut ee = vec![0u8; 16];
        ee[0..4].copy_from_slice(&(libc::ENOMSG as u32).to_ne_bytes());
        ee[4] = libc::SO_EE_ORIGIN_TIMESTAMPING;
        ee[8..12].copy_from_slice(&SCM_TSTAMP_SND.to_ne_bytes());
        ee[12..16].copy_from_slice(&41u32.to_ne_bytes());
        push_cmsg(&mut b, libc::SOL_PACKET, PACKET_TX_TIMESTAMP, &ee);
        let c = parse_control(&b);
        let mut want6 = [0u8; 16];
        want6[..16].copy_from_slice(&pi6[..16]);
        assert_eq!(c.dst_v6, Some(want6));
        assert_eq!(c.vlan_tci, Some(0xa064));
        let e = c.ext_err.unwrap();
        assert!(e.is_tx_timestamp());
        assert_eq!(e.data, 41);

        // Auxdata without the VLAN-valid bit carries no tag.
        let mut b = Vec::new();
        aux[0..4].copy_from_slice(&1u32.to_ne_bytes());
        push_cmsg(&mut b, libc::SOL_PACKET, PACKET_AUXDATA, &aux);
        assert_eq!(parse_control(&b).vlan_tci, None);
    }

    #[test]
    fn malformed_control_never_panics() {
        // Every prefix and some garbage: no panic, and a cmsg_len past the end stops the walk.
        let mut b = Vec::new();
        push_cmsg(
            &mut b,
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timespecs(&[(1, 2), (0, 0), (0, 0)]),
        );
        push_cmsg(&mut b, libc::IPPROTO_IP, libc::IP_PKTINFO, &[1; 12]);
        for n in 0..=b.len() {
            let _ = parse_control(&b[..n]);
        }
        let mut bad = b.clone();
        bad[..size_of::<usize>()].copy_from_slice(&usize::MAX.to_ne_bytes());
        assert_eq!(parse_control(&bad), Control::default());
        bad[..size_of::<usize>()].copy_from_slice(&3usize.to_ne_bytes());
        assert_eq!(parse_control(&bad), Control::default());
        // Short payloads of known types are ignored, not read past.
        let mut s = Vec::new();
        push_cmsg(&mut s, libc::SOL_SOCKET, libc::SCM_TIMESTAMPING, &[1, 2, 3]);
        push_cmsg(&mut s, libc::IPPROTO_IP, libc::IP_PKTINFO, &[1, 2]);
        push_cmsg(&mut s, libc::IPPROTO_IP, libc::IP_RECVERR, &[1, 2]);
        assert_eq!(parse_control(&s), Control::default());
        let mut x = 0x9e37_79b9_u32;
        for _ in 0..2000 {
            let g: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = parse_control(&g);
            let _ = parse_sockaddr(&g);
        }
    }
}

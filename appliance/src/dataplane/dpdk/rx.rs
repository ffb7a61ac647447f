//! Receiving: bursts, stamps, the classifier's verdicts, ARP and neighbour discovery.

use super::*;

impl DpdkPort {
    /// Polls `rx_burst` (keeping the burst's frames for the following calls) and returns the
    /// next PTP message for this port, its payload copied into `buf`: the UDP payload, or
    /// for L2 the Ethernet payload after the (802.1Q) header. `None` when the queue is empty
    /// (or after 256 frames that were not for the caller). Every frame goes through the
    /// classifier (in a pipeline, on the RX stage); ARP / neighbour solicitations are
    /// answered on the way; everything else is counted and freed.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError> {
        for _ in 0..MAX_FRAMES_PER_RECV {
            let Some((m, verdict)) = self.next_frame() else {
                return Ok(None);
            };
            let Some(verdict) = verdict else {
                continue; // several segments: counted
            };
            let p = match verdict {
                Verdict::Ptp(p) => p,
                Verdict::Arp(n) => {
                    self.handle_arp(m.data().get(n.l3..).unwrap_or_default());
                    continue;
                }
                Verdict::Icmpv6(n) => {
                    self.handle_icmpv6(m.data().get(n.l3..).unwrap_or_default(), n.source_mac);
                    continue;
                }
                Verdict::Drop(reason) => {
                    self.counters.drops.count(reason);
                    continue;
                }
            };
            let Some(dst) = buf.get_mut(..p.len) else {
                self.counters.rx_truncated += 1;
                continue;
            };
            dst.copy_from_slice(&m.data()[p.offset..p.offset + p.len]);
            self.learn_sender(&p);
            self.counters.rx_packets += 1;
            return Ok(Some(RxFrame {
                len: p.len,
                source: p.source,
                multicast: p.multicast,
                event: p.event,
                stamp: Some(RawStamp::Tsc(self.rx_tsc)),
                device_stamp: self.ts_field.and_then(|f| m.rx_timestamp(f)),
            }));
        }
        Ok(None)
    }

    /// The next received frame and its verdict (`None` inside: a frame spread over several
    /// segments, counted and skipped): from the RX stage's ring (pipeline, already
    /// classified), or from the current burst, polling a new one when it is used up. Sets
    /// `rx_tsc` to the frame's stamp. `None`: nothing waits.
    pub(super) fn next_frame(&mut self) -> Option<(Mbuf, Option<Verdict>)> {
        if let Some(rings) = &self.pipeline {
            let StagedRx { mbuf, tsc, verdict } = rings.rx.pop()?;
            self.rx_tsc = tsc;
            return Some((mbuf, Some(verdict)));
        }
        if self.rx.waiting() == 0 {
            // The replies to the previous burst leave together before the next is polled.
            self.flush_tx();
            let dev = self.dev.as_mut()?;
            let n = dev.rx_burst(&mut self.rx);
            if n == 0 {
                return None;
            }
            self.burst_tsc = sys::rdtsc();
            self.counters.rx_bursts += 1;
            self.stage_counters.rx_burst_sizes.record(n);
            if let Some(h) = &mut self.hw {
                h.rx.begin_burst();
            }
        }
        let m = self.rx.pop()?;
        self.counters.rx_frames += 1;
        self.rx_tsc = match (&mut self.rx_offload, &mut self.hw) {
            (Some(o), _) => o.stamper.stamp(m.rx_timestamp(o.field), self.burst_tsc),
            (None, Some(h)) => h.rx.stamp(m.rx_timesync_latched(), self.burst_tsc),
            (None, None) => self.burst_tsc,
        };
        if !m.is_contiguous() {
            self.counters.rx_multiseg += 1;
            return Some((m, None));
        }
        let verdict = classify::classify(m.data(), &self.filter, None);
        Some((m, Some(verdict)))
    }

    /// Learns the MAC of a PTP sender over UDP (after the classifier accepted its frame).
    pub(super) fn learn_sender(&mut self, p: &PtpFrame) {
        match p.source {
            PeerAddress::Ipv4(ip) => self.neighbours.learn_v4(ip, p.source_mac, self.ipv4),
            PeerAddress::Ipv6(ip) => self.neighbours.learn_v6(ip, p.source_mac, self.ipv6),
            PeerAddress::Mac(_) => {}
        }
    }

    /// ARP (the payload after the Ethernet header): learn the sender, answer requests for
    /// our IPv4 address.
    pub(super) fn handle_arp(&mut self, a: &[u8]) {
        let mut out = [0u8; neighbour::REPLY_MAX];
        let port = self.addresses();
        let r = neighbour::arp(&mut self.neighbours, &port, a, &mut out);
        if self.count_and_send(r, &out) {
            self.counters.tx_arp_replies += 1;
        }
    }

    /// ICMPv6 (the IPv6 packet): learn the sender, answer neighbour solicitations for our
    /// IPv6 address.
    pub(super) fn handle_icmpv6(&mut self, ip: &[u8], src_mac: [u8; 6]) {
        let mut out = [0u8; neighbour::REPLY_MAX];
        let port = self.addresses();
        let r = neighbour::icmpv6(&mut self.neighbours, &port, ip, src_mac, &mut out);
        if self.count_and_send(r, &out) {
            self.counters.tx_nd_adverts += 1;
        }
    }

    /// The port's own addresses, which ARP / ND answers are about.
    pub(super) fn addresses(&self) -> PortAddresses {
        PortAddresses {
            mac: self.mac,
            ipv4: self.ipv4,
            ipv6: self.ipv6,
            vlan: self.vlan,
        }
    }

    /// Counts an ARP / ICMPv6 packet as `r` says and sends the reply built in `out`, if
    /// any; whether a reply was sent.
    pub(super) fn count_and_send(&mut self, r: NeighbourReply, out: &[u8]) -> bool {
        let (rx, reply) = match r {
            NeighbourReply::Nothing => return false,
            NeighbourReply::Count(rx) => (rx, None),
            NeighbourReply::Send(rx, len) => (rx, out.get(..len)),
        };
        *match rx {
            RxCount::ArpRequest => &mut self.counters.rx_arp_requests,
            RxCount::ArpOther => &mut self.counters.rx_arp_other,
            RxCount::NdSolicitation => &mut self.counters.rx_nd_solicitations,
            RxCount::NonPtp => &mut self.counters.drops.rx_non_ptp,
        } += 1;
        reply.is_some_and(|f| self.transmit_built(f))
    }
}

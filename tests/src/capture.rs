//! Packet capture with tcpdump and decoding with tshark.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::lab::require;
use crate::{tail, Lab, Node, Proc};

/// What tcpdump keeps: PTP over UDP (both ports) and over Ethernet.
const CAPTURE_FILTER: &str = "udp port 319 or udp port 320 or ether proto 0x88f7";
/// Every PTP frame tshark finds malformed or worth a warning (or worse). `ptp and …` alone
/// would miss frames the dissector rejects outright.
const PROBLEM_FILTER: &str = "(udp.port in {319,320} or eth.type == 0x88f7) and \
                              (_ws.malformed || _ws.expert.severity >= warning)";
/// The PTP frames tshark lists.
const PTP_FILTER: &str = "udp.port in {319,320} or eth.type == 0x88f7";
/// Fields of a [`PtpFrame`], in order.
const FIELDS: [&str; 19] = [
    "frame.number",
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "ptp.v2.messagetype",
    "ptp.v2.flags.twostep",
    "ptp.v2.flags.unicast",
    "ptp.v2.flags.timescale",
    "ptp.v2.flags.utcreasonable",
    "ptp.v2.an.origincurrentutcoffset",
    "ptp.v2.sig.tlv.tlvType",
    "ptp.v2.sig.tlv.durationField",
    "ptp.v2.sdr.origintimestamp.nanoseconds",
    "ptp.v2.fu.preciseorigintimestamp.nanoseconds",
    "ptp.v2.dr.receivetimestamp.nanoseconds",
    "ptp.v2.an.origintimestamp.nanoseconds",
    "ptp.v2.clockidentity",
];

/// A running `tcpdump -U -w FILE` on one node's interface (so it sees both directions).
pub struct Capture {
    proc: Option<Proc>,
    file: PathBuf,
}

impl Lab {
    /// Starts capturing PTP frames on `node`'s interface and waits until tcpdump listens.
    pub fn capture(&self, node: &Node) -> Capture {
        require("tcpdump", "tcpdump");
        require("tshark", "tshark");
        let name = format!("capture-{}", node.ns);
        let file = self.path(&format!("{name}.pcap"));
        let mut proc = self.spawn(
            node,
            &name,
            &[
                "tcpdump".into(),
                "-Z".into(),
                "root".into(),
                "--immediate-mode".into(),
                "-B".into(),
                "4096".into(),
                "-s".into(),
                "0".into(),
                "-U".into(),
                "-i".into(),
                node.iface.clone(),
                "-w".into(),
                file.display().to_string(),
                CAPTURE_FILTER.into(),
            ],
        );
        proc.wait_for_text("listening on", Duration::from_secs(10));
        Capture {
            proc: Some(proc),
            file,
        }
    }
}

impl Capture {
    /// An existing pcap file, to check and decode like a finished capture.
    pub fn open(file: impl Into<PathBuf>) -> Capture {
        Capture {
            proc: None,
            file: file.into(),
        }
    }

    /// The pcap file.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// Stops tcpdump (its file is complete afterwards). Idempotent.
    pub fn stop(&mut self) {
        if let Some(p) = &mut self.proc {
            p.stop();
        }
    }

    /// Stops the capture and decodes it with tshark.
    ///
    /// # Panics
    /// With the message of [`Capture::try_check_tshark`]'s error.
    pub fn check_tshark(&mut self) -> TsharkReport {
        self.try_check_tshark().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Stops the capture, decodes it with tshark, and returns every PTP frame — or an error if
    /// any PTP frame is malformed or carries an expert warning/error (listing them, with tshark's
    /// full decode of the first few), or breaks a rule tshark does not check: a reserved
    /// messageType, or a timestamp with nanoseconds ≥ 10^9.
    pub fn try_check_tshark(&mut self) -> Result<TsharkReport, String> {
        self.stop();
        let file = self.file.display().to_string();
        let problems = tshark(&[
            "-r",
            &file,
            "-Y",
            PROBLEM_FILTER,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "eth.src",
            "-e",
            "_ws.col.Info",
            "-e",
            "_ws.expert.message",
        ]);
        if !problems.trim().is_empty() {
            let first: Vec<&str> = problems
                .lines()
                .take(3)
                .filter_map(|l| l.split('\t').next())
                .collect();
            let detail = tshark(&[
                "-r",
                &file,
                "-Y",
                &format!("frame.number in {{{}}}", first.join(",")),
                "-V",
            ]);
            return Err(format!(
                "tshark flags frames in {file}:\n{}\nfirst ones decoded:\n{}",
                tail(&problems, 30),
                tail(&detail, 200)
            ));
        }
        let frames = self.decode(true);
        for f in &frames {
            if f.message_type().is_none() {
                return Err(format!(
                    "{file}: frame {} from {}: reserved messageType {:#x}",
                    f.number, f.eth_src, f.msg_type
                ));
            }
            if f.nanoseconds.iter().any(|&ns| ns >= 1_000_000_000) {
                return Err(format!(
                    "{file}: frame {} from {}: timestamp nanoseconds ≥ 10^9: {:?}",
                    f.number, f.eth_src, f.nanoseconds
                ));
            }
        }
        Ok(TsharkReport { frames })
    }
}

impl Capture {
    /// Decodes what has been captured so far, without stopping the capture and without checks
    /// (a frame being written may be cut short and is then missing).
    pub fn snapshot(&self) -> TsharkReport {
        TsharkReport {
            frames: self.decode(false),
        }
    }

    /// Polls [`Capture::snapshot`] (every 500 ms) until `f` holds for it.
    ///
    /// # Panics
    /// After `timeout`, naming `what`.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&TsharkReport) -> bool,
    ) -> TsharkReport {
        crate::poll(timeout, Duration::from_millis(500), || {
            let r = self.snapshot();
            f(&r).then_some(r)
        })
        .unwrap_or_else(|| {
            panic!(
                "capture {}: no {what} within {timeout:?}",
                self.file.display()
            )
        })
    }

    fn decode(&self, strict: bool) -> Vec<PtpFrame> {
        let mut args = vec![
            "-r".to_owned(),
            self.file.display().to_string(),
            "-Y".to_owned(),
            PTP_FILTER.to_owned(),
            "-T".to_owned(),
            "fields".to_owned(),
            "-E".to_owned(),
            "occurrence=a".to_owned(),
            "-E".to_owned(),
            "aggregator=,".to_owned(),
        ];
        for f in FIELDS {
            args.push("-e".to_owned());
            args.push(f.to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = if strict {
            tshark(&args)
        } else {
            tshark_lenient(&args)
        };
        text.lines().filter_map(PtpFrame::parse).collect()
    }
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("file", &self.file).finish()
    }
}

/// tshark's stdout whatever its exit status (a capture still being written may end mid-frame).
fn tshark_lenient(args: &[&str]) -> String {
    Command::new("timeout")
        .args(["-k", "2", "60", "tshark"])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["-k", "2", "60", "tshark"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tshark: {e}"));
    assert!(
        out.status.success(),
        "tshark {args:?} failed ({}): {}",
        out.status,
        tail(&String::from_utf8_lossy(&out.stderr), 10)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// PTP message types (IEEE 1588-2019 Table 36).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    /// 0x0
    Sync,
    /// 0x1
    DelayReq,
    /// 0x2
    PdelayReq,
    /// 0x3
    PdelayResp,
    /// 0x8
    FollowUp,
    /// 0x9
    DelayResp,
    /// 0xA
    PdelayRespFollowUp,
    /// 0xB
    Announce,
    /// 0xC
    Signaling,
    /// 0xD
    Management,
}

impl MessageType {
    /// The type for a messageType nibble, `None` if reserved.
    pub fn from_nibble(v: u8) -> Option<MessageType> {
        Some(match v {
            0x0 => MessageType::Sync,
            0x1 => MessageType::DelayReq,
            0x2 => MessageType::PdelayReq,
            0x3 => MessageType::PdelayResp,
            0x8 => MessageType::FollowUp,
            0x9 => MessageType::DelayResp,
            0xA => MessageType::PdelayRespFollowUp,
            0xB => MessageType::Announce,
            0xC => MessageType::Signaling,
            0xD => MessageType::Management,
            _ => return None,
        })
    }
}

/// One PTP frame as tshark decoded it (fields absent from a message are `None` / empty).
#[derive(Clone, Debug, PartialEq)]
pub struct PtpFrame {
    /// Frame number in the pcap (1-based).
    pub number: u64,
    /// Capture time, seconds since the Unix epoch.
    pub time: f64,
    /// Ethernet source, `02:6d:69:00:00:01`.
    pub eth_src: String,
    /// Ethernet destination.
    pub eth_dst: String,
    /// IPv4 source (UDP transport only).
    pub ip_src: Option<String>,
    /// IPv4 destination (UDP transport only).
    pub ip_dst: Option<String>,
    /// The messageType nibble.
    pub msg_type: u8,
    /// flagField twoStepFlag.
    pub two_step: Option<bool>,
    /// flagField unicastFlag.
    pub unicast: Option<bool>,
    /// flagField ptpTimescale.
    pub ptp_timescale: Option<bool>,
    /// flagField currentUtcOffsetValid.
    pub utc_offset_valid: Option<bool>,
    /// Announce currentUtcOffset.
    pub utc_offset: Option<i64>,
    /// Signaling: every TLV's tlvType (4 REQUEST, 5 GRANT, 6 CANCEL, 7 ACKNOWLEDGE_CANCEL
    /// unicast transmission).
    pub sig_tlv_types: Vec<u16>,
    /// Signaling: every durationField (REQUEST and GRANT TLVs), seconds.
    pub sig_durations: Vec<u32>,
    /// Every originTimestamp / preciseOriginTimestamp / receiveTimestamp nanoseconds field.
    pub nanoseconds: Vec<u64>,
    /// sourcePortIdentity.clockIdentity as tshark prints it (`0x026d69fffe000001`).
    pub clock_identity: String,
}

impl PtpFrame {
    fn parse(line: &str) -> Option<PtpFrame> {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < FIELDS.len() {
            return None;
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let flag = |s: &str| match s {
            "1" | "True" | "true" => Some(true),
            "0" | "False" | "false" => Some(false),
            _ => None,
        };
        let list = |s: &str| -> Vec<u64> {
            s.split(',')
                .filter(|v| !v.is_empty())
                .filter_map(|v| v.parse().ok())
                .collect()
        };
        let mut nanoseconds = Vec::new();
        for field in &f[14..18] {
            nanoseconds.extend(list(field));
        }
        Some(PtpFrame {
            number: f[0].parse().ok()?,
            time: f[1].parse().ok()?,
            eth_src: f[2].to_owned(),
            eth_dst: f[3].to_owned(),
            ip_src: opt(f[4]),
            ip_dst: opt(f[5]),
            msg_type: u8::from_str_radix(f[6].trim_start_matches("0x"), 16).ok()?,
            two_step: flag(f[7]),
            unicast: flag(f[8]),
            ptp_timescale: flag(f[9]),
            utc_offset_valid: flag(f[10]),
            utc_offset: f[11].parse().ok(),
            sig_tlv_types: list(f[12]).into_iter().map(|v| v as u16).collect(),
            sig_durations: list(f[13]).into_iter().map(|v| v as u32).collect(),
            nanoseconds,
            clock_identity: f[18].to_owned(),
        })
    }

    /// The message type, `None` if reserved.
    pub fn message_type(&self) -> Option<MessageType> {
        MessageType::from_nibble(self.msg_type)
    }
}

/// Everything tshark decoded from one capture.
#[derive(Clone, Debug, Default)]
pub struct TsharkReport {
    /// Every PTP frame, in capture order.
    pub frames: Vec<PtpFrame>,
}

impl TsharkReport {
    /// Frames sent from `mac`.
    pub fn from_mac<'a>(&'a self, mac: &'a str) -> impl Iterator<Item = &'a PtpFrame> + 'a {
        self.frames.iter().filter(move |f| f.eth_src == mac)
    }

    /// Frames of type `t` sent from `mac`.
    pub fn of<'a>(
        &'a self,
        mac: &'a str,
        t: MessageType,
    ) -> impl Iterator<Item = &'a PtpFrame> + 'a {
        self.from_mac(mac)
            .filter(move |f| f.message_type() == Some(t))
    }

    /// Asserts that `mac` sent Announces and that every one announces the PTP timescale honestly:
    /// ptpTimescale set, currentUtcOffsetValid set, currentUtcOffset `utc_offset`.
    pub fn assert_announces_ptp_timescale(&self, mac: &str, utc_offset: i64) {
        let announces: Vec<&PtpFrame> = self.of(mac, MessageType::Announce).collect();
        assert!(!announces.is_empty(), "no Announce from {mac}");
        for a in announces {
            assert!(
                a.ptp_timescale == Some(true)
                    && a.utc_offset_valid == Some(true)
                    && a.utc_offset == Some(utc_offset),
                "Announce frame {} from {mac}: ptpTimescale {:?}, currentUtcOffsetValid {:?}, \
                 currentUtcOffset {:?} (want true, true, {utc_offset})",
                a.number,
                a.ptp_timescale,
                a.utc_offset_valid,
                a.utc_offset
            );
        }
    }

    /// How many frames of each type `mac` sent.
    pub fn counts(&self, mac: &str) -> BTreeMap<MessageType, usize> {
        let mut m = BTreeMap::new();
        for f in self.from_mac(mac) {
            if let Some(t) = f.message_type() {
                *m.entry(t).or_insert(0) += 1;
            }
        }
        m
    }
}

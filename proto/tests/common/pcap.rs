//! Minimal classic-pcap (not pcapng) reading and writing for tests: Ethernet link type only.

/// One captured frame.
#[derive(Debug, Clone)]
pub struct Record {
    /// Capture time, seconds.
    pub ts_sec: u32,
    /// Capture time, microseconds (or nanoseconds for nanosecond files).
    pub ts_frac: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// Reads a classic pcap file (either byte order, µs or ns magic), Ethernet link type.
pub fn read(bytes: &[u8]) -> Result<Vec<Record>, String> {
    if bytes.len() < 24 {
        return Err("pcap: short global header".into());
    }
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        m => return Err(format!("pcap: bad magic {m:#x} (pcapng is not supported)")),
    };
    let u32at = |b: &[u8], at: usize| {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let linktype = u32at(bytes, 20);
    if linktype != 1 {
        return Err(format!("pcap: link type {linktype}, want 1 (Ethernet)"));
    }
    let mut out = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        if bytes.len() < at + 16 {
            return Err(format!("pcap: short record header at {at}"));
        }
        let incl = u32at(bytes, at + 8) as usize;
        let orig = u32at(bytes, at + 12) as usize;
        if incl != orig {
            return Err(format!(
                "pcap: truncated capture at {at} ({incl} of {orig})"
            ));
        }
        let start = at + 16;
        if bytes.len() < start + incl {
            return Err(format!("pcap: short record at {at}"));
        }
        out.push(Record {
            ts_sec: u32at(bytes, at),
            ts_frac: u32at(bytes, at + 4),
            data: bytes[start..start + incl].to_vec(),
        });
        at = start + incl;
    }
    Ok(out)
}

/// Writes frames as a little-endian, microsecond, Ethernet pcap; frame i is stamped i ms.
pub fn write(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&((i as u32) * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

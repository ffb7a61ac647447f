//! A GNSS receiver's NMEA port, read from a serial line (or a pty): bytes in as they come,
//! whole sentences out, each with the time it arrived on the caller's clock. The sentences
//! label PPS edges (`meridian_proto::servo::gnss::GnssPairing`) into the offsets a servo
//! needs.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use meridian_proto::servo::nmea::{NmeaCounters, NmeaError, NmeaReader, Sentence};

use super::discipline::ClockError;

/// Bytes read per call at most (a second of NMEA at 115 200 baud is ~11 KB).
const READ_CHUNK: usize = 1024;
/// Reads per call at most, so a flooding line cannot hold the caller.
const MAX_READS: usize = 16;

/// An NMEA serial line.
#[derive(Debug)]
pub struct NmeaSerial {
    path: PathBuf,
    file: File,
    reader: NmeaReader,
    buf: [u8; READ_CHUNK],
}

impl NmeaSerial {
    /// Opens `path` raw at `baud`.
    pub fn open(path: &Path, baud: u32) -> Result<Self, ClockError> {
        let file = crate::sys::serial::open_raw(path, baud).map_err(|error| ClockError {
            clock: path.display().to_string(),
            op: "open (raw serial line)",
            error,
        })?;
        Ok(NmeaSerial {
            path: path.to_path_buf(),
            file,
            reader: NmeaReader::new(),
            buf: [0; READ_CHUNK],
        })
    }

    /// The descriptor to poll for input.
    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// What the reader met so far.
    pub fn counters(&self) -> NmeaCounters {
        self.reader.counters()
    }

    /// Reads what is waiting (non-blocking) and calls `f(arrival_ns, sentence)` for every
    /// sentence completed, `arrival_ns` being `now()` right after the read that completed it.
    /// Returns the bytes read.
    pub fn read(
        &mut self,
        now: impl Fn() -> i128,
        mut f: impl FnMut(i128, Result<Sentence, NmeaError>),
    ) -> Result<usize, ClockError> {
        let mut total = 0;
        for _ in 0..MAX_READS {
            match self.file.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => {
                    total += n;
                    let at = now();
                    self.reader.push(&self.buf[..n], |s| f(at, s));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(ClockError {
                        clock: self.path.display().to_string(),
                        op: "read",
                        error,
                    })
                }
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A pty fed sentences receivers sent (published captures whose checksums verify): a
    /// good RMC with fix, the next second's with the first one's checksum (bad), an RMC of a
    /// receiver without fix, a receiver reset cutting a sentence off (and binary noise), then
    /// ZDA and u-blox PUBX,04 — the good ones come out with their arrival times, the rest are
    /// counted.
    #[test]
    fn a_pty_fed_real_sentences() {
        let (mut master, slave) = crate::sys::serial::pty_pair().unwrap();
        let mut port = NmeaSerial::open(&slave, 9_600).unwrap();
        let feed: &[&[u8]] = &[
            b"$GPRMC,201230.00,A,6026.86949,N,02217.14087,E,0.689,,150722,,,A*72\r\n",
            b"$GPRMC,201231.00,A,6026.86949,N,02217.14087,E,0.689,,150722,,,A*72\r\n",
            b"$GPRMC,021953.00,V,,,,,,,070720,,,N*73\r\n",
            b"$GPRMC,2012\x00\xff\xfe\r\n",
            b"$GPZDA,201530.00,04,07,2002,00,00*60\r\n",
            b"$PUBX,04,202604.00,150824,419164.00,2327,18,-672045,-11949.632,21*11\r\n",
        ];
        for chunk in feed {
            master.write_all(chunk).unwrap();
        }
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < 6 && std::time::Instant::now() < deadline {
            let mut poll = crate::dataplane::PollSet::new(&[port.raw_fd()]);
            poll.wait(Some(100_000_000)).unwrap();
            port.read(|| 42, |at, s| got.push((at, s))).unwrap();
        }
        assert!(got.iter().all(|(at, _)| *at == 42));
        let ok: Vec<_> = got.iter().filter_map(|(_, s)| s.as_ref().ok()).collect();
        assert_eq!(ok.len(), 4, "{got:?}");
        assert!(matches!(ok[0], Sentence::Rmc { valid: true, .. }), "{ok:?}");
        assert!(
            matches!(ok[1], Sentence::Rmc { valid: false, .. }),
            "no fix: {ok:?}"
        );
        assert!(matches!(ok[2], Sentence::Zda { .. }), "{ok:?}");
        assert!(
            matches!(
                ok[3],
                Sentence::PubxTime {
                    gps_minus_utc: 18,
                    ..
                }
            ),
            "{ok:?}"
        );
        assert!(
            matches!(got[1].1, Err(NmeaError::Checksum { .. })),
            "{got:?}"
        );
        assert!(
            matches!(got[3].1, Err(NmeaError::Framing)),
            "reset: {got:?}"
        );
        let c = port.counters();
        assert_eq!((c.sentences, c.checksum_errors), (4, 1), "{c:?}");
        assert!(c.garbage >= 1, "the cut-off sentence: {c:?}");
    }

    #[test]
    fn a_missing_device_is_named() {
        let e = NmeaSerial::open(Path::new("/dev/ttyNOPE"), 9_600).unwrap_err();
        assert!(e.to_string().starts_with("/dev/ttyNOPE: open"), "{e}");
    }
}

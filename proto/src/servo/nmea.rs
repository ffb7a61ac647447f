//! NMEA 0183 from a GNSS receiver: the sentences that carry the time of day (RMC, ZDA) and
//! the leap-second count (u-blox `PUBX,04`), checksums verified, every field range-checked.
//! Sans-IO: [`NmeaReader`] takes the serial bytes as they come and hands out whole sentences;
//! [`parse_sentence`] parses one line. Nothing here panics or allocates per sentence.

use thiserror::Error;

/// The longest sentence accepted, bytes (NMEA allows 82; receivers' proprietary ones run
/// longer).
pub const MAX_SENTENCE: usize = 160;

/// A UTC date and time of day as a receiver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year (four digits).
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31 (checked against the month).
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60 (60 during an inserted leap second).
    pub second: u8,
    /// Fraction of the second, ns.
    pub nanos: u32,
}

impl UtcTime {
    /// Seconds since 1970-01-01T00:00:00Z, as POSIX counts them (a leap second 60 counts as
    /// the next day's first second).
    pub fn unix_seconds(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        ) * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// One understood sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentence {
    /// RMC: the time, and whether the receiver has a valid fix (status `A`, and a mode
    /// indicator, where present, other than `N` no fix).
    Rmc {
        /// Date and time.
        time: UtcTime,
        /// Fix valid.
        valid: bool,
    },
    /// ZDA: date and time (no validity of its own).
    Zda {
        /// Date and time.
        time: UtcTime,
    },
    /// u-blox `PUBX,04`: the time and GPS − UTC in seconds (the leap-second count).
    PubxTime {
        /// Date and time.
        time: UtcTime,
        /// GPS − UTC, s (TAI − UTC is 19 more).
        gps_minus_utc: i16,
        /// Whether the count comes from the almanac (`false`: the firmware's default, marked
        /// `D`, which may be stale).
        from_almanac: bool,
    },
    /// A well-formed sentence of another type (GGA, GSV…), ignored.
    Other,
}

/// Why a line is not a usable sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NmeaError {
    /// Not `$…*hh`: no start, no checksum, bad characters.
    #[error("not an NMEA sentence")]
    Framing,
    /// The checksum does not match.
    #[error("checksum {got:02X}, computed {computed:02X}")]
    Checksum {
        /// The sentence's.
        got: u8,
        /// Ours.
        computed: u8,
    },
    /// Longer than [`MAX_SENTENCE`].
    #[error("sentence longer than {MAX_SENTENCE} bytes")]
    TooLong,
    /// A field is missing or out of range.
    #[error("{sentence} field {field}: missing or out of range")]
    Field {
        /// The sentence type.
        sentence: &'static str,
        /// The field.
        field: &'static str,
    },
}

/// Parses one sentence, `$` to the checksum (a trailing CR/LF is ignored).
pub fn parse_sentence(line: &[u8]) -> Result<Sentence, NmeaError> {
    let line = trim_end(line);
    if line.len() > MAX_SENTENCE {
        return Err(NmeaError::TooLong);
    }
    let body = line.strip_prefix(b"$").ok_or(NmeaError::Framing)?;
    let star = body.len().checked_sub(3).ok_or(NmeaError::Framing)?;
    if body[star] != b'*' {
        return Err(NmeaError::Framing);
    }
    let (data, sum) = (&body[..star], &body[star + 1..]);
    if data
        .iter()
        .any(|&c| !(0x20..0x7f).contains(&c) || c == b'$' || c == b'*')
    {
        return Err(NmeaError::Framing);
    }
    let got =
        (hex(sum[0]).ok_or(NmeaError::Framing)? << 4) | hex(sum[1]).ok_or(NmeaError::Framing)?;
    let computed = data.iter().fold(0u8, |a, &c| a ^ c);
    if got != computed {
        return Err(NmeaError::Checksum { got, computed });
    }
    let mut fields = data.split(|&c| c == b',');
    let tag = fields.next().ok_or(NmeaError::Framing)?;
    let mut f: [&[u8]; 12] = [&[]; 12];
    for (slot, v) in f.iter_mut().zip(fields) {
        *slot = v;
    }
    // Talker ID (GP, GN, GL, GA, BD…) then the type; proprietary: P + maker.
    match tag {
        [_, _, b'R', b'M', b'C'] => rmc(&f),
        [_, _, b'Z', b'D', b'A'] => zda(&f),
        b"PUBX" if f[0] == b"04" => pubx04(&f),
        t if t.len() >= 2 && t.iter().all(u8::is_ascii_alphanumeric) => Ok(Sentence::Other),
        _ => Err(NmeaError::Framing),
    }
}

fn trim_end(mut l: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = l {
        l = rest;
    }
    l
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// `n` decimal digits.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')))
}

/// `hhmmss[.fff]`: hour, minute, second, ns.
fn time_of_day(s: &[u8]) -> Option<(u8, u8, u8, u32)> {
    if s.len() < 6 {
        return None;
    }
    let (h, m, sec) = (digits(&s[0..2])?, digits(&s[2..4])?, digits(&s[4..6])?);
    let nanos = match &s[6..] {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
            digits(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    (h < 24 && m < 60 && sec <= 60).then_some((h as u8, m as u8, sec as u8, nanos))
}

fn date(year: u32, month: u32, day: u32) -> Option<(u16, u8, u8)> {
    let (y, m) = (u16::try_from(year).ok()?, u8::try_from(month).ok()?);
    let d = u8::try_from(day).ok()?;
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then_some((y, m, d))
}

fn utc(date: (u16, u8, u8), tod: (u8, u8, u8, u32)) -> UtcTime {
    UtcTime {
        year: date.0,
        month: date.1,
        day: date.2,
        hour: tod.0,
        minute: tod.1,
        second: tod.2,
        nanos: tod.3,
    }
}

/// `ddmmyy` with a two-digit year in 2000–2099 (as receivers report it).
fn ddmmyy(s: &[u8]) -> Option<(u16, u8, u8)> {
    if s.len() != 6 {
        return None;
    }
    date(
        2000 + digits(&s[4..6])?,
        digits(&s[2..4])?,
        digits(&s[0..2])?,
    )
}

fn rmc(f: &[&[u8]; 12]) -> Result<Sentence, NmeaError> {
    let field = |field| NmeaError::Field {
        sentence: "RMC",
        field,
    };
    let tod = time_of_day(f[0]).ok_or(field("time"))?;
    let d = ddmmyy(f[8]).ok_or(field("date"))?;
    let status = match f[1] {
        b"A" => true,
        b"V" => false,
        _ => return Err(field("status")),
    };
    // NMEA 2.3+: mode indicator (A autonomous, D differential, E estimated, N no fix…).
    let mode_ok = !matches!(f[11], b"N" | b"E");
    Ok(Sentence::Rmc {
        time: utc(d, tod),
        valid: status && mode_ok,
    })
}

fn zda(f: &[&[u8]; 12]) -> Result<Sentence, NmeaError> {
    let field = |field| NmeaError::Field {
        sentence: "ZDA",
        field,
    };
    let tod = time_of_day(f[0]).ok_or(field("time"))?;
    let (dd, mm, yyyy) = (f[1], f[2], f[3]);
    if yyyy.len() != 4 || dd.len() != 2 || mm.len() != 2 {
        return Err(field("date"));
    }
    let d = date(
        digits(yyyy).ok_or(field("year"))?,
        digits(mm).ok_or(field("month"))?,
        digits(dd).ok_or(field("day"))?,
    )
    .ok_or(field("date"))?;
    Ok(Sentence::Zda { time: utc(d, tod) })
}

fn pubx04(f: &[&[u8]; 12]) -> Result<Sentence, NmeaError> {
    let field = |field| NmeaError::Field {
        sentence: "PUBX,04",
        field,
    };
    let tod = time_of_day(f[1]).ok_or(field("time"))?;
    let d = ddmmyy(f[2]).ok_or(field("date"))?;
    let (count, from_almanac) = match f[5] {
        [n @ .., b'D'] => (n, false),
        n => (n, true),
    };
    let leap = digits(count)
        .filter(|&n| n <= 255)
        .ok_or(field("leap seconds"))?;
    Ok(Sentence::PubxTime {
        time: utc(d, tod),
        gps_minus_utc: leap as i16,
        from_almanac,
    })
}

/// Counts of what the reader met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NmeaCounters {
    /// Sentences understood (including `Other`).
    pub sentences: u64,
    /// Bad checksums.
    pub checksum_errors: u64,
    /// Malformed lines, over-long lines and bytes outside any sentence.
    pub garbage: u64,
    /// Sentences with a field out of range.
    pub field_errors: u64,
}

/// Assembles sentences from a byte stream (a serial port read in arbitrary pieces).
#[derive(Debug, Clone)]
pub struct NmeaReader {
    buf: [u8; MAX_SENTENCE],
    len: usize,
    /// Inside a sentence (after `$`).
    inside: bool,
    /// The current line was too long: its rest is dropped up to its end.
    skip: bool,
    /// Bytes outside any sentence since the last line end (counted once per run).
    junk: bool,
    counters: NmeaCounters,
}

impl Default for NmeaReader {
    fn default() -> Self {
        NmeaReader {
            buf: [0; MAX_SENTENCE],
            len: 0,
            inside: false,
            skip: false,
            junk: false,
            counters: NmeaCounters::default(),
        }
    }
}

impl NmeaReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// What it met so far.
    pub fn counters(&self) -> NmeaCounters {
        self.counters
    }

    /// Takes `bytes`; calls `f` with every sentence that ends in them (errors counted, and
    /// passed on for logging).
    pub fn push(&mut self, bytes: &[u8], mut f: impl FnMut(Result<Sentence, NmeaError>)) {
        for &b in bytes {
            match b {
                b'$' => {
                    if self.inside {
                        // Cut off by the next sentence (e.g. a receiver reset).
                        self.counters.garbage += 1;
                    }
                    self.buf[0] = b'$';
                    self.len = 1;
                    self.inside = true;
                    self.skip = false;
                }
                b'\r' | b'\n' => {
                    if self.inside {
                        let r = parse_sentence(&self.buf[..self.len]);
                        match &r {
                            Ok(_) => self.counters.sentences += 1,
                            Err(NmeaError::Checksum { .. }) => self.counters.checksum_errors += 1,
                            Err(NmeaError::Field { .. }) => self.counters.field_errors += 1,
                            Err(_) => self.counters.garbage += 1,
                        }
                        f(r);
                    }
                    self.inside = false;
                    self.skip = false;
                    self.junk = false;
                    self.len = 0;
                }
                _ if self.inside => {
                    if self.len == MAX_SENTENCE {
                        self.inside = false;
                        self.skip = true;
                        self.counters.garbage += 1;
                        f(Err(NmeaError::TooLong));
                    } else {
                        self.buf[self.len] = b;
                        self.len += 1;
                    }
                }
                _ => {
                    if !self.skip && !self.junk {
                        self.counters.garbage += 1;
                        self.junk = true;
                    }
                }
            }
        }
    }
}

/// Every parser here, for the fuzz target: never panics.
pub fn fuzz_nmea(data: &[u8]) {
    let _ = parse_sentence(data);
    let mut r = NmeaReader::new();
    r.push(data, |s| {
        if let Ok(Sentence::Rmc { time, .. } | Sentence::Zda { time }) = s {
            let _ = time.unix_seconds();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sentences as receivers sent them (published captures whose checksums verify: a u-blox
    /// logger's RMC and GGA, an NMEA 4.1 RMC with navigational status, u-blox 7 `PUBX,04`
    /// with an almanac leap count and an older one with the firmware default `15D`), and the
    /// NMEA standard's RMC and ZDA examples.
    #[test]
    fn real_sentences() {
        let time = |year, month, day, hour, minute, second, nanos| UtcTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
        };
        let r = parse_sentence(
            b"$GPRMC,201230.00,A,6026.86949,N,02217.14087,E,0.689,,150722,,,A*72\r\n",
        );
        assert_eq!(
            r,
            Ok(Sentence::Rmc {
                time: time(2022, 7, 15, 20, 12, 30, 0),
                valid: true
            })
        );
        let Ok(Sentence::Rmc { time: t, valid }) =
            parse_sentence(b"$GNRMC,130420.80,A,1255.41032,N,07738.83880,E,0.279,,040923,,,A,V*1F")
        else {
            panic!("NMEA 4.1 RMC")
        };
        assert!(valid);
        assert_eq!((t.unix_seconds(), t.nanos), (1_693_832_660, 800_000_000));
        // The standard's example: a two-digit year is taken as 20yy (94 is 2094).
        let r =
            parse_sentence(b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A");
        assert_eq!(
            r,
            Ok(Sentence::Rmc {
                time: time(2094, 3, 23, 12, 35, 19, 0),
                valid: true
            })
        );
        let Ok(Sentence::Zda { time: t }) = parse_sentence(b"$GPZDA,201530.00,04,07,2002,00,00*60")
        else {
            panic!("ZDA")
        };
        assert_eq!(t.unix_seconds(), 1_025_813_730);
        assert_eq!(
            parse_sentence(b"$PUBX,04,202604.00,150824,419164.00,2327,18,-672045,-11949.632,21*11"),
            Ok(Sentence::PubxTime {
                time: time(2024, 8, 15, 20, 26, 4, 0),
                gps_minus_utc: 18,
                from_almanac: true
            })
        );
        assert_eq!(
            parse_sentence(b"$PUBX,04,073731.00,091202,113851.00,1196,15D,1930035,-2660.664,43*71"),
            Ok(Sentence::PubxTime {
                time: time(2002, 12, 9, 7, 37, 31, 0),
                gps_minus_utc: 15,
                from_almanac: false
            })
        );
        assert_eq!(
            parse_sentence(
                b"$GPGGA,201229.00,6026.86958,N,02217.14119,E,1,08,0.96,66.1,M,18.7,M,,*6C"
            ),
            Ok(Sentence::Other)
        );
    }

    #[test]
    fn bad_input_is_an_error_naming_it() {
        assert_eq!(
            parse_sentence(b"$GPZDA,201530.00,04,07,2002,00,00*61"),
            Err(NmeaError::Checksum {
                got: 0x61,
                computed: 0x60
            })
        );
        // No fix: status V, or mode N.
        let line = |body: &str| {
            let sum = body.bytes().fold(0u8, |a, c| a ^ c);
            format!("${body}*{sum:02X}")
        };
        for no_fix in [
            "GPRMC,123519,V,,,,,,,230394,,,A",
            "GPRMC,123519,A,,,,,,,230394,,,N",
        ] {
            let v = parse_sentence(line(no_fix).as_bytes());
            assert!(matches!(v, Ok(Sentence::Rmc { valid: false, .. })), "{v:?}");
        }
        for bad in [&b""[..], b"GPRMC,1*00", b"$GPRMC", b"$*00", b"$GP\x01MC*00"] {
            assert!(parse_sentence(bad).is_err(), "{bad:?}");
        }
        // 31 February; hour 24.
        assert_eq!(
            parse_sentence(line("GPZDA,120000.00,31,02,2024,00,00").as_bytes()),
            Err(NmeaError::Field {
                sentence: "ZDA",
                field: "date"
            })
        );
        assert_eq!(
            parse_sentence(line("GPRMC,240000,A,,,,,,,010124,,").as_bytes()),
            Err(NmeaError::Field {
                sentence: "RMC",
                field: "time"
            })
        );
        // A leap second (60) is a valid time of day.
        assert!(parse_sentence(line("GPZDA,235960.00,31,12,2016,00,00").as_bytes()).is_ok());
        let long = format!("${}", "A".repeat(MAX_SENTENCE + 5));
        assert_eq!(parse_sentence(long.as_bytes()), Err(NmeaError::TooLong));
    }

    /// Bytes in any pieces, garbage between sentences, a receiver reset mid-sentence: every
    /// whole sentence comes out, everything else is counted.
    #[test]
    fn reader_reassembles_and_counts() {
        let stream = b"\xff\x00garbage$GPZDA,201530.00,04,07,2002,00,00*60\r\n\
$GPZDA,201531.00,04,07,20$GPZDA,201532.00,04,07,2002,00,00*62\r\n\
$GPZDA,201533.00,04,07,2002,00,00*99\r\n";
        for piece in [1, 3, 7, stream.len()] {
            let mut r = NmeaReader::new();
            let mut got = Vec::new();
            for chunk in stream.chunks(piece) {
                r.push(chunk, |s| got.push(s));
            }
            let times: Vec<i64> = got
                .iter()
                .filter_map(|s| match s {
                    Ok(Sentence::Zda { time }) => Some(time.unix_seconds()),
                    _ => None,
                })
                .collect();
            assert_eq!(times, [1_025_813_730, 1_025_813_732], "pieces of {piece}");
            let c = r.counters();
            assert_eq!(
                (c.sentences, c.checksum_errors, c.garbage),
                (2, 1, 2),
                "pieces of {piece}: {c:?}"
            );
        }
        let mut r = NmeaReader::new();
        r.push(&[b'$'; 3 * MAX_SENTENCE], |_| {});
        r.push(&[b'x'; 3 * MAX_SENTENCE], |_| {});
        r.push(b"\r\n$GPZDA,201530.00,04,07,2002,00,00*60\n", |s| {
            assert!(s.is_ok())
        });
        assert_eq!(r.counters().sentences, 1);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2016, 12, 31), 17_166);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
    }
}

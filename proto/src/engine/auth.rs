//! PTP integrity protection: the AUTHENTICATION TLV of IEEE 1588-2019 (16.14, Annex P)
//! with immediate security processing, and the security association database it draws
//! its keys from.
//!
//! # On the wire (immediate processing, what linuxptp 4.3+ sends and checks)
//!
//! The TLV is the message's last TLV:
//!
//! ```text
//! tlvType 0x8009 (2) | lengthField (2) | SPP (1) | secParamIndicator 0 (1) | keyID (4, BE) | ICV
//! ```
//!
//! The ICV is HMAC-SHA256 truncated to 16 octets (`SHA256-128`) or whole (`SHA256`, 32
//! octets), computed over the message from its first header octet up to the ICV, with
//! `messageLength` already counting the TLV and its ICV. The correctionField is covered
//! unless the association says `allow_mutable 1` (then it is hashed as zero, so a
//! transparent clock that does not hold the keys can still update it).
//!
//! # The database file
//!
//! The same shape as linuxptp's `sa_file`, so one file serves ptp4l 4.x peers and
//! Meridian:
//!
//! ```text
//! # comment
//! [security_association]
//! spp 0
//! allow_mutable 0            # optional, default 0
//! seqid_window 3             # optional; anti-replay of Sync/Follow_Up, which a slave checks
//! 1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C
//! 2 SHA256 32 B64:7pHUabOorcasjrKOIXlMcG4I/eSIY4KKewKBr8qBsX0=
//! ```
//!
//! Key lines are `id algorithm [length] value`; the value is `ASCII:text`, `HEX:digits`,
//! `B64:base64` or bare text. `AES128`/`AES256` (CMAC) keys are read, so a shared file
//! loads, but cannot be used to sign or verify here: a port configured with one is refused,
//! and a message under one is counted as failed.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::wire::TlvType;

type HmacSha256 = Hmac<Sha256>;

/// Octets of the TLV before its ICV: type, length, SPP, secParamIndicator, keyID.
pub const TLV_FIXED_LEN: usize = 10;
/// Offset of correctionField in the header.
const CORRECTION: core::ops::Range<usize> = 8..16;
/// Offset of messageLength in the header.
const MESSAGE_LENGTH: core::ops::Range<usize> = 2..4;

/// An integrity algorithm of a key (linuxptp's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA256 truncated to 128 bits (`SHA256-128`), 1588-2019 Annex P's default.
    HmacSha256_128,
    /// HMAC-SHA256, 256 bits (`SHA256`).
    HmacSha256,
    /// AES-128-CMAC (`AES128`): read, not supported for signing or checking.
    Aes128Cmac,
    /// AES-256-CMAC (`AES256`): read, not supported for signing or checking.
    Aes256Cmac,
}

impl Algorithm {
    fn parse(s: &str) -> Option<Algorithm> {
        match s.to_ascii_uppercase().as_str() {
            "SHA256-128" => Some(Algorithm::HmacSha256_128),
            "SHA256" => Some(Algorithm::HmacSha256),
            "AES128" => Some(Algorithm::Aes128Cmac),
            "AES256" => Some(Algorithm::Aes256Cmac),
            _ => None,
        }
    }

    /// Octets of the ICV.
    pub fn icv_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            _ => 16,
        }
    }

    /// Whether Meridian can sign and check with it.
    pub fn supported(self) -> bool {
        matches!(self, Algorithm::HmacSha256_128 | Algorithm::HmacSha256)
    }
}

/// One key of an association. Its secret never appears in `Debug` output.
#[derive(Clone)]
pub struct Key {
    /// keyID (1 ..= 2^32-1).
    pub id: u32,
    /// Algorithm.
    pub algorithm: Algorithm,
    secret: Vec<u8>,
    /// The HMAC with the key already absorbed (cloned per message: two fewer SHA-256
    /// blocks than keying it each time). `None` for unsupported algorithms.
    prepared: Option<HmacSha256>,
}

impl Key {
    fn new(id: u32, algorithm: Algorithm, secret: Vec<u8>) -> Key {
        let prepared = if algorithm.supported() {
            HmacSha256::new_from_slice(&secret).ok()
        } else {
            None
        };
        Key {
            id,
            algorithm,
            secret,
            prepared,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.id == o.id && self.algorithm == o.algorithm && self.secret == o.secret
    }
}
impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("secret", &format_args!("<{} octets>", self.secret.len()))
            .finish()
    }
}

/// One security association (Annex P): an SPP and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityAssociation {
    /// Security parameter pointer (0 ..= 255), carried in every TLV under it.
    pub spp: u8,
    /// Hash the correctionField as zero (for paths through transparent clocks without keys).
    pub allow_mutable: bool,
    /// Anti-replay window for Sync/Follow_Up sequenceIds, which slaves check; a grandmaster
    /// receives neither, so it is read and kept for the file's sake.
    pub seqid_window: u16,
    /// Keys by keyID.
    pub keys: Vec<Key>,
}

impl SecurityAssociation {
    /// The key with this keyID.
    pub fn key(&self, id: u32) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// The security association database: every association of the `sa_file`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityDatabase {
    /// Associations, SPPs unique.
    pub associations: Vec<SecurityAssociation>,
}

/// A line of the database file that cannot be used, with its number (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct SadError {
    /// Line number, from 1 (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

fn sad_err(line: usize, problem: impl Into<String>) -> SadError {
    SadError {
        line,
        problem: problem.into(),
    }
}

fn decode_key(value: &str) -> Result<Vec<u8>, String> {
    let (kind, body) = match value.split_once(':') {
        Some((k, b)) if k.eq_ignore_ascii_case("ASCII") => ("ascii", b),
        Some((k, b)) if k.eq_ignore_ascii_case("HEX") => ("hex", b),
        Some((k, b)) if k.eq_ignore_ascii_case("B64") => ("b64", b),
        _ => ("ascii", value),
    };
    match kind {
        "hex" => {
            if body.len() % 2 != 0 {
                return Err("HEX key with an odd number of digits".into());
            }
            (0..body.len())
                .step_by(2)
                .map(|i| {
                    body.get(i..i + 2)
                        .and_then(|d| u8::from_str_radix(d, 16).ok())
                        .ok_or_else(|| "HEX key with a non-hex digit".to_string())
                })
                .collect()
        }
        "b64" => base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("B64 key: {e}")),
        _ => Ok(body.as_bytes().to_vec()),
    }
}

impl SecurityDatabase {
    /// Reads a database in linuxptp's `sa_file` format. The whole file is refused on the
    /// first line that cannot be used (linuxptp drops just that association; a grandmaster
    /// should not start with half its keys).
    pub fn parse(text: &str) -> Result<SecurityDatabase, SadError> {
        let mut db = SecurityDatabase::default();
        // The association being read: its SPP once given, and the line it started on.
        let mut current: Option<(SecurityAssociation, Option<u8>, usize)> = None;
        let finish = |db: &mut SecurityDatabase,
                      c: Option<(SecurityAssociation, Option<u8>, usize)>|
         -> Result<(), SadError> {
            let Some((mut sa, spp, line)) = c else {
                return Ok(());
            };
            let Some(spp) = spp else {
                return Err(sad_err(line, "security_association without an spp"));
            };
            if sa.keys.is_empty() {
                return Err(sad_err(line, "security_association without keys"));
            }
            if db.associations.iter().any(|a| a.spp == spp) {
                return Err(sad_err(line, format!("spp {spp} defined twice")));
            }
            sa.spp = spp;
            db.associations.push(sa);
            Ok(())
        };
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if l.starts_with('[') {
                if !l.eq_ignore_ascii_case("[security_association]") {
                    return Err(sad_err(line, format!("unknown section {l}")));
                }
                finish(&mut db, current.take())?;
                current = Some((
                    SecurityAssociation {
                        spp: 0,
                        allow_mutable: false,
                        seqid_window: 3,
                        keys: Vec::new(),
                    },
                    None,
                    line,
                ));
                continue;
            }
            let Some((sa, spp, _)) = current.as_mut() else {
                return Err(sad_err(line, "setting before [security_association]"));
            };
            let words: Vec<&str> = l.split_whitespace().collect();
            let num = |s: &str, max: u64, what: &str| -> Result<u64, SadError> {
                s.parse::<u64>()
                    .ok()
                    .filter(|v| *v <= max)
                    .ok_or_else(|| sad_err(line, format!("{what} must be 0 ..= {max}")))
            };
            match words.as_slice() {
                ["spp", v] => *spp = Some(num(v, 255, "spp")? as u8),
                ["seqid_window", v] => sa.seqid_window = num(v, 32767, "seqid_window")? as u16,
                ["allow_mutable", v] => sa.allow_mutable = num(v, 1, "allow_mutable")? == 1,
                ["seqnum_length" | "res_length", v] => {
                    // Only 0 (no sequenceNo, no RES) is defined for immediate processing.
                    num(v, 0, words[0])?;
                }
                [id, alg, rest @ ..] if id.bytes().all(|b| b.is_ascii_digit()) => {
                    let id = id
                        .parse::<u32>()
                        .ok()
                        .filter(|v| *v >= 1)
                        .ok_or_else(|| sad_err(line, "key id must be 1 ..= 4294967295"))?;
                    let algorithm = Algorithm::parse(alg)
                        .ok_or_else(|| sad_err(line, format!("unknown algorithm {alg}")))?;
                    // The value may itself contain spaces (ASCII); an optional length first.
                    let after_alg = l
                        .split_once(alg)
                        .map(|(_, r)| r.trim_start())
                        .unwrap_or_default();
                    let (declared, value) = match rest {
                        [len, _, ..] if len.bytes().all(|b| b.is_ascii_digit()) => (
                            Some(num(len, 4096, "key length")? as usize),
                            after_alg[len.len()..].trim_start(),
                        ),
                        [_, ..] => (None, after_alg),
                        [] => return Err(sad_err(line, "key line without a key")),
                    };
                    let secret = decode_key(value).map_err(|e| sad_err(line, e))?;
                    if secret.is_empty() {
                        return Err(sad_err(line, "empty key"));
                    }
                    if let Some(d) = declared {
                        if d != secret.len() {
                            return Err(sad_err(
                                line,
                                format!("key is {} octets, declared {d}", secret.len()),
                            ));
                        }
                    }
                    let aes_len = match algorithm {
                        Algorithm::Aes128Cmac => Some(16),
                        Algorithm::Aes256Cmac => Some(32),
                        _ => None,
                    };
                    if aes_len.is_some_and(|n| n != secret.len()) {
                        return Err(sad_err(line, "AES key of the wrong length"));
                    }
                    if sa.key(id).is_some() {
                        return Err(sad_err(line, format!("key id {id} defined twice")));
                    }
                    sa.keys.push(Key::new(id, algorithm, secret));
                }
                _ => return Err(sad_err(line, format!("cannot read {:?}", words[0]))),
            }
        }
        finish(&mut db, current.take())?;
        if db.associations.is_empty() {
            return Err(sad_err(0, "no security_association"));
        }
        Ok(db)
    }

    /// The association with this SPP.
    pub fn association(&self, spp: u8) -> Option<&SecurityAssociation> {
        self.associations.iter().find(|a| a.spp == spp)
    }

    /// The signer for a port's settings, if they name a supported key.
    pub fn signer(&self, spp: u8, key_id: u32) -> Option<Signer<'_>> {
        let sa = self.association(spp)?;
        let key = sa.key(key_id)?;
        key.prepared.as_ref()?;
        Some(Signer { sa, key })
    }
}

fn icv(
    prepared: &HmacSha256,
    allow_mutable: bool,
    covered: &[u8],
) -> hmac::digest::CtOutput<HmacSha256> {
    let mut mac = prepared.clone();
    if allow_mutable && covered.len() >= CORRECTION.end {
        mac.update(&covered[..CORRECTION.start]);
        mac.update(&[0u8; 8]);
        mac.update(&covered[CORRECTION.end..]);
    } else {
        mac.update(covered);
    }
    mac.finalize()
}

/// Appends AUTHENTICATION TLVs under one key.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    sa: &'a SecurityAssociation,
    key: &'a Key,
}

impl Signer<'_> {
    /// Octets the TLV adds to a message.
    pub fn tlv_len(&self) -> usize {
        TLV_FIXED_LEN + self.key.algorithm.icv_len()
    }

    /// `buf` holds a message of `msg_len` octets followed by [`Self::tlv_len`] spare octets:
    /// writes the TLV there, sets messageLength to the whole, and computes the ICV. Returns
    /// false (nothing meaningful written) if `buf` has the wrong size.
    pub fn sign(&self, buf: &mut [u8], msg_len: usize) -> bool {
        let total = msg_len + self.tlv_len();
        let Some(prepared) = self.key.prepared.as_ref() else {
            return false;
        };
        if buf.len() != total || msg_len < 34 || total > u16::MAX as usize {
            return false;
        }
        buf[MESSAGE_LENGTH].copy_from_slice(&(total as u16).to_be_bytes());
        let t = &mut buf[msg_len..];
        t[0..2].copy_from_slice(&TlvType::AUTHENTICATION.0.to_be_bytes());
        t[2..4].copy_from_slice(&((self.tlv_len() - 4) as u16).to_be_bytes());
        t[4] = self.sa.spp;
        t[5] = 0; // immediate processing: no disclosed key, sequenceNo or RES
        t[6..10].copy_from_slice(&self.key.id.to_be_bytes());
        let icv_at = msg_len + TLV_FIXED_LEN;
        let tag = icv(prepared, self.sa.allow_mutable, &buf[..icv_at]).into_bytes();
        let n = self.key.algorithm.icv_len();
        buf[icv_at..].copy_from_slice(&tag[..n]);
        true
    }
}

/// Why an authenticated port refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No AUTHENTICATION TLV as the last TLV, on a port that requires one.
    Missing,
    /// The TLV's SPP is not the port's.
    WrongSpp,
    /// secParamIndicator asks for delayed processing or optional fields.
    NotImmediate,
    /// keyID unknown to the association.
    UnknownKey,
    /// A CMAC key: not supported.
    UnsupportedAlgorithm,
    /// lengthField is not what the key's ICV needs.
    BadLength,
    /// The ICV does not match.
    BadIcv,
}

/// Checks `message` (exactly `messageLength` octets as received; its TLVs start at
/// `tlv_start`) against the association `spp` of `db`.
///
/// Returns `Ok(true)` if it carries a valid AUTHENTICATION TLV as its last TLV, `Ok(false)`
/// if it carries none (the caller decides whether that is allowed), and the failure
/// otherwise. An AUTHENTICATION TLV that is not the last one counts as none: the ICV would
/// not cover what follows it.
pub fn verify(
    db: &SecurityDatabase,
    spp: u8,
    message: &[u8],
    tlv_start: usize,
) -> Result<bool, AuthFailure> {
    // Find the last TLV.
    let mut at = tlv_start;
    let mut last = None;
    while let Some(h) = message.get(at..at + 4) {
        last = Some(at);
        at += 4 + u16::from_be_bytes([h[2], h[3]]) as usize;
    }
    let Some(t) = last else {
        return Ok(false);
    };
    let tlv = &message[t..];
    if tlv[0..2] != TlvType::AUTHENTICATION.0.to_be_bytes() {
        return Ok(false);
    }
    if tlv.len() < TLV_FIXED_LEN {
        return Err(AuthFailure::BadLength);
    }
    if tlv[4] != spp {
        return Err(AuthFailure::WrongSpp);
    }
    if tlv[5] != 0 {
        return Err(AuthFailure::NotImmediate);
    }
    let sa = db.association(spp).ok_or(AuthFailure::WrongSpp)?;
    let key_id = u32::from_be_bytes([tlv[6], tlv[7], tlv[8], tlv[9]]);
    let key = sa.key(key_id).ok_or(AuthFailure::UnknownKey)?;
    let prepared = key
        .prepared
        .as_ref()
        .ok_or(AuthFailure::UnsupportedAlgorithm)?;
    let n = key.algorithm.icv_len();
    let length = u16::from_be_bytes([tlv[2], tlv[3]]) as usize;
    if length != TLV_FIXED_LEN - 4 + n || tlv.len() != TLV_FIXED_LEN + n {
        return Err(AuthFailure::BadLength);
    }
    let icv_at = t + TLV_FIXED_LEN;
    let expected = icv(prepared, sa.allow_mutable, &message[..icv_at]).into_bytes();
    // Constant time over the compared octets.
    let diff = expected[..n]
        .iter()
        .zip(&message[icv_at..])
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff == 0 {
        Ok(true)
    } else {
        Err(AuthFailure::BadIcv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# linuxptp's configs/sa.cfg, with its AES association
[security_association]
spp 0
allow_mutable 1
1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C
2 SHA256 32 HEX:EE91D469B3A8ADC6AC8EB28E21794C706E08FDE48863828A7B0281AFCA81B17D

[security_association]
spp 1
seqid_window 20
1 AES128 HEX:FAF48EBA01E7C5966A76CB787AED4E7B
2 AES256 B64:PKTF9VQz94qPaoAzW4eE3JtFoQ8Ov1OTQSojalWyMbs=
3 SHA256 26 abcdefghijklmnopqrstuvwxyz
";

    #[test]
    fn reads_linuxptps_sample_file() {
        let db = SecurityDatabase::parse(SAMPLE).unwrap();
        assert_eq!(db.associations.len(), 2);
        let a = db.association(0).unwrap();
        assert!(a.allow_mutable);
        assert_eq!(a.seqid_window, 3);
        assert_eq!(a.key(1).unwrap().algorithm, Algorithm::HmacSha256_128);
        assert_eq!(a.key(2).unwrap().secret.len(), 32);
        let b = db.association(1).unwrap();
        assert_eq!(b.seqid_window, 20);
        assert_eq!(b.key(2).unwrap().secret.len(), 32);
        assert_eq!(b.key(3).unwrap().secret, b"abcdefghijklmnopqrstuvwxyz");
        assert!(db.signer(0, 1).is_some());
        assert!(db.signer(1, 1).is_none(), "CMAC cannot sign here");
        assert!(db.signer(0, 9).is_none());
        // Secrets stay out of logs.
        let dbg = format!("{db:?}");
        assert!(!dbg.contains("248") && dbg.contains("<32 octets>"), "{dbg}");
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            ("spp 0\n", 1, "before"),
            ("[security_association]\n1 SHA256 HEX:00\n", 1, "without an spp"),
            ("[security_association]\nspp 0\n", 1, "without keys"),
            ("[security_association]\nspp 256\n1 SHA256 x\n", 2, "spp"),
            ("[security_association]\nspp 0\n0 SHA256 x\n", 3, "key id"),
            ("[security_association]\nspp 0\n1 MD5 x\n", 3, "algorithm"),
            ("[security_association]\nspp 0\n1 SHA256 HEX:0\n", 3, "odd"),
            ("[security_association]\nspp 0\n1 SHA256 HEX:zz\n", 3, "non-hex"),
            ("[security_association]\nspp 0\n1 SHA256 4 abc\n", 3, "declared 4"),
            ("[security_association]\nspp 0\n1 SHA256 x\n1 SHA256 y\n", 4, "twice"),
            ("[security_association]\nspp 0\n1 AES128 HEX:00\n", 3, "AES"),
            ("[security_association]\nspp 0\nres_length 2\n", 3, "0 ..= 0"),
            ("[security_association]\nspp 0\n1 SHA256 x\n[oops]\n", 4, "unknown section"),
            (
                "[security_association]\nspp 0\n1 SHA256 x\n[security_association]\nspp 0\n2 SHA256 y\n",
                4,
                "twice",
            ),
            ("# nothing\n", 0, "no security_association"),
        ];
        for (text, line, needle) in cases {
            let e = SecurityDatabase::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn ascii_keys_keep_their_spaces() {
        let db =
            SecurityDatabase::parse("[security_association]\nspp 7\n5 sha256-128 a b c\n").unwrap();
        assert_eq!(db.association(7).unwrap().key(5).unwrap().secret, b"a b c");
    }

    /// A Delay_Resp-sized message signed, then checked; every single-bit change of the
    /// covered octets or the ICV is caught.
    #[test]
    fn sign_then_verify_and_every_bit_flip_fails() {
        let db = SecurityDatabase::parse(SAMPLE).unwrap();
        for (spp, key) in [(0u8, 1u32), (0, 2), (1, 3)] {
            let s = db.signer(spp, key).unwrap();
            let msg_len = 54;
            let mut buf = vec![0u8; msg_len + s.tlv_len()];
            for (i, b) in buf[..msg_len].iter_mut().enumerate() {
                *b = i as u8;
            }
            buf[0] = 0x09;
            buf[1] = 0x12;
            assert!(s.sign(&mut buf, msg_len));
            assert_eq!(
                u16::from_be_bytes([buf[2], buf[3]]) as usize,
                buf.len(),
                "messageLength counts the TLV"
            );
            assert_eq!(verify(&db, spp, &buf, msg_len), Ok(true));
            let mutable = db.association(spp).unwrap().allow_mutable;
            for bit in 0..buf.len() * 8 {
                let mut m = buf.clone();
                m[bit / 8] ^= 1 << (bit % 8);
                let r = verify(&db, spp, &m, msg_len);
                let in_correction = CORRECTION.contains(&(bit / 8));
                if mutable && in_correction {
                    assert_eq!(r, Ok(true), "allow_mutable: correctionField not covered");
                } else {
                    assert!(r != Ok(true), "bit {bit} flipped and still valid");
                }
            }
        }
    }

    /// HMAC-SHA256 against RFC 4231 test case 2, through the same path as the ICV.
    #[test]
    fn hmac_matches_rfc4231() {
        let k = Key::new(1, Algorithm::HmacSha256, b"Jefe".to_vec());
        let tag = icv(
            k.prepared.as_ref().unwrap(),
            false,
            b"what do ya want for nothing?",
        )
        .into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn failures_are_told_apart() {
        let db = SecurityDatabase::parse(SAMPLE).unwrap();
        let s = db.signer(0, 1).unwrap();
        let mut buf = vec![0u8; 44 + s.tlv_len()];
        buf[0] = 1;
        buf[1] = 0x12;
        assert!(s.sign(&mut buf, 44));
        // No TLV at all.
        assert_eq!(verify(&db, 0, &buf[..44], 44), Ok(false));
        // Another port's SPP.
        assert_eq!(verify(&db, 1, &buf, 44), Err(AuthFailure::WrongSpp));
        let mut m = buf.clone();
        m[44 + 5] = 4;
        assert_eq!(verify(&db, 0, &m, 44), Err(AuthFailure::NotImmediate));
        let mut m = buf.clone();
        m[44 + 9] = 9;
        assert_eq!(verify(&db, 0, &m, 44), Err(AuthFailure::UnknownKey));
        // Truncated ICV (length field and size disagree with the key).
        let mut m = buf[..buf.len() - 1].to_vec();
        m[44 + 3] -= 1;
        assert_eq!(verify(&db, 0, &m, 44), Err(AuthFailure::BadLength));
        let db1 = SecurityDatabase::parse(SAMPLE).unwrap();
        let mut m = buf.clone();
        m[44 + 4] = 1;
        m[44 + 9] = 1;
        assert_eq!(
            verify(&db1, 1, &m, 44),
            Err(AuthFailure::UnsupportedAlgorithm)
        );
        // A TLV that is not last does not count.
        let mut m = buf.clone();
        m.extend_from_slice(&[0x80, 0x08, 0, 0]);
        assert_eq!(verify(&db, 0, &m, 44), Ok(false));
    }
}

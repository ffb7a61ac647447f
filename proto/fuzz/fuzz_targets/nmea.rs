//! Fuzz the NMEA parser and sentence reader of `meridian_proto::servo::nmea`.
//!
//! Run: `cd proto && RUSTC_BOOTSTRAP=1 cargo fuzz run nmea -- -max_total_time=60`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    meridian_proto::servo::nmea::fuzz_nmea(data);
});

//! Fuzz every parser of `meridian_proto::wire` (frames, messages, TLVs, management data).
//!
//! Run: `cd proto && RUSTC_BOOTSTRAP=1 cargo fuzz run parse -- -max_total_time=60`
//! (cargo-fuzz passes nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    meridian_proto::wire::fuzz_parse(data);
});

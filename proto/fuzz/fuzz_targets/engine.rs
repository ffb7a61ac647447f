//! Fuzz the engine with arbitrary event sequences (frames, timers, time passing, clock
//! steps, TX timestamps, link and clock-status changes), checking its invariants after each
//! (`meridian_proto::engine::fuzz_events`).
//!
//! Run: `cd proto && RUSTC_BOOTSTRAP=1 cargo fuzz run engine -- -max_total_time=60`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    meridian_proto::engine::fuzz_events(data);
});

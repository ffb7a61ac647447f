//! Benchmarks and load generators for Meridian. The benchmarks live in `benches/`; see
//! `bench/README.md` for the figures and the commands that produced them.

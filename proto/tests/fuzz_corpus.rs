//! Replays the `cargo fuzz` corpus (`proto/fuzz/corpus/parse`) through the same entry point
//! the fuzz target uses, so every CI run re-checks every input the fuzzer ever kept.

#[test]
fn replay_fuzz_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        meridian_proto::wire::fuzz_parse(&data);
        n += 1;
    }
    assert!(n >= 50, "corpus at {} has only {n} inputs", dir.display());
    eprintln!("replayed {n} corpus inputs");
}

/// The same for the NMEA target (`proto/fuzz/corpus/nmea`).
#[test]
fn replay_nmea_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/nmea");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        meridian_proto::servo::nmea::fuzz_nmea(&data);
        n += 1;
    }
    assert!(n >= 6, "corpus at {} has only {n} inputs", dir.display());
}

/// The same for the engine target (`proto/fuzz/corpus/engine`): event sequences, the
/// engine's invariants checked after each event.
#[test]
fn replay_engine_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/engine");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        meridian_proto::engine::fuzz_events(&data);
        n += 1;
    }
    assert!(n >= 20, "corpus at {} has only {n} inputs", dir.display());
}

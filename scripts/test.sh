#!/usr/bin/env bash
# Runs every test of Meridian after installing what they need. This is the README's test
# command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo clippy (DPDK data plane and its load generator)"
cargo clippy -p meridian --all-targets --features dpdk --locked -- -D warnings
cargo clippy -p meridian-bench --all-targets --features dpdk --locked -- -D warnings
echo "== fuzz target builds (cargo check)"
(cd proto/fuzz && cargo check --quiet --locked)
echo "== fuzzing: 60 s per target (libFuzzer + ASan through cargo-fuzz; new inputs go to a"
echo "   scratch directory, the committed corpus is only read)"
command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz --version 0.13.2
fuzz_scratch=$(mktemp -d)
for target in parse engine nmea; do
  mkdir -p "$fuzz_scratch/$target"
  # RUSTC_BOOTSTRAP: cargo-fuzz passes -Zsanitizer=address, which stable rustc takes only so.
  # A crash, leak or timeout makes cargo fuzz exit non-zero; its input is kept under
  # proto/fuzz/artifacts/<target>/.
  if ! (cd proto && RUSTC_BOOTSTRAP=1 cargo fuzz run --release --debug-assertions "$target" \
      "$fuzz_scratch/$target" "fuzz/corpus/$target" -- -max_total_time=60 \
      -print_final_stats=1 >"$fuzz_scratch/$target.log" 2>&1); then
    tail -n 60 "$fuzz_scratch/$target.log"
    echo "fuzz target $target failed"
    exit 1
  fi
  echo "$target: $(grep -E '^Done' "$fuzz_scratch/$target.log")"
done
rm -rf "$fuzz_scratch"
echo "== dpdk-sys (DPDK 22.11 bindings and shim; its own workspace)"
(cd dpdk-shim && cargo fmt --check && cargo clippy --all-targets --locked -- -D warnings)
echo "== monitoring: alert rules (promtool check + unit tests), dashboard JSON"
promtool check rules monitoring/prometheus/meridian-alerts.yml
(cd monitoring/prometheus && promtool test rules meridian-alerts.test.yml)
promtool check config --syntax-only monitoring/prometheus/prometheus.yml
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"] and all(t["expr"] for p in d["panels"] for t in p["targets"])' monitoring/grafana/meridian.json
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo build --locked -p meridian --bin meridian
cargo test --workspace --locked --exclude meridian-interop 2>&1 | tee "$log"
# Interop tests run real peers in network namespaces and measure offsets: one at a time, so
# they do not compete for the two cores.
cargo test --locked -p meridian-interop -- --test-threads=1 2>&1 | tee -a "$log"
(cd dpdk-shim && cargo test --locked) 2>&1 | tee -a "$log"
# The appliance with its DPDK data plane (net_pcap/net_null vdevs; each EAL scenario in its
# own process).
cargo test --locked -p meridian --features dpdk 2>&1 | tee -a "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"

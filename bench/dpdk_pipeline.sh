#!/usr/bin/env bash
# DPDK pipeline benchmark: Meridian (DPDK data plane, memif server port) against the DPDK load
# generator (memif client), each busy-polling its own core.
#
#   1. builds release `meridian` (--features dpdk) and `dpdk_loadgen`;
#   2. starts Meridian with a generated configuration and waits until its port is MASTER;
#   3. searches the highest Delay_Req rate answered with < 0.1 % loss (ramp ×2, bisection);
#   4. runs 50 % and 90 % of that rate for PHASE_S seconds each, with RTT percentiles from the
#      load generator and residence-time percentiles (Delay_Req RX stamp → Delay_Resp TX
#      stamp) from Meridian's status before and after each phase;
#   5. stops Meridian (SIGTERM to its PID) and removes its temporary files.
# Steps 3-5 run inside one `dpdk_loadgen pipeline` process (see below why).
#
# Run as root from anywhere: `bash bench/dpdk_pipeline.sh`. Settings (environment):
#   MERIDIAN_LCORES  "E" (everything on core E, default 1) or "RX,E,TX" (needs a Meridian
#                    with [dataplane] rx-lcore / tx-lcore)
#   LOADGEN_LCORE    load generator core (default 0)
#   SLAVES           emulated slaves (default 1000)
#   HOSTS            IPv4/MAC addresses they send from (default: one per slave)
#   STEP_S           seconds per search trial (default 3)
#   PHASE_S          seconds per 50 % / 90 % phase (default 10)
#   SEARCH_START     first rate of the search, Delay_Req/s (default 250000)
#   LOSS_PCT         loss allowed at the maximum, % (default 0.1)
#   BURST            requests sent together, 1-32 (default 1: each as soon as it is due)
#   MEMIF_RSIZE      log2 of the memif ring size, both directions (default 14: 16384 slots,
#                    so that multi-ms preemptions of either poller do not overflow it and
#                    loss means sustained overload; 10 is memif's default, 1024 slots)
#   RING_FULL        what the load generator does when Meridian's RX ring is full: "drop"
#                    (a NIC's RX overrun: counted as loss, default) or "retry" (back-pressure:
#                    the search then finds the saturation throughput)
#   MAX_RATE         skip the search and take this as the maximum (Delay_Req/s)
#   QUIET_WAIT_S     wait up to this long for other processes to leave the CPU (default 180)
#   SKIP_BUILD=1     use the binaries already in target/release
#   METRICS          "on" (default: /metrics on 127.0.0.1:METRICS_PORT, scraped every SCRAPE_S
#                    seconds while the load runs, as a Prometheus would) or "off" (no exporter)
#   METRICS_PORT     default 9473; SCRAPE_S default 1
#
# Both processes busy-poll: another process on either core spoils the figures. The load
# generator reads both threads' run-queue wait (/proc/…/schedstat) over every trial, repeats
# search trials that failed while starved, and reports it; starved phases are repeated here.
set -euo pipefail
cd "$(dirname "$0")/.."

MERIDIAN_LCORES=${MERIDIAN_LCORES:-1}
LOADGEN_LCORE=${LOADGEN_LCORE:-0}
SLAVES=${SLAVES:-1000}
HOSTS=${HOSTS:-$SLAVES}
STEP_S=${STEP_S:-3}
PHASE_S=${PHASE_S:-10}
SEARCH_START=${SEARCH_START:-250000}
LOSS_PCT=${LOSS_PCT:-0.1}
BURST=${BURST:-1}
MEMIF_RSIZE=${MEMIF_RSIZE:-14}
RING_FULL=${RING_FULL:-drop}
MAX_RATE=${MAX_RATE:-}
SKIP_BUILD=${SKIP_BUILD:-0}
QUIET_WAIT_S=${QUIET_WAIT_S:-180}
METRICS=${METRICS:-on}
METRICS_PORT=${METRICS_PORT:-9473}
SCRAPE_S=${SCRAPE_S:-1}
PHASE_RETRIES=2

die() {
    echo "dpdk_pipeline: $*" >&2
    exit 1
}

[[ $EUID -eq 0 ]] || die "run as root (DPDK needs it)"
command -v python3 >/dev/null || die "python3 is needed"

bin=${CARGO_TARGET_DIR:-target}/release
if [[ $SKIP_BUILD != 1 ]]; then
    echo "== build (release)"
    cargo build --release --locked -p meridian --features dpdk --bin meridian
    cargo build --release --locked -p meridian-bench --features dpdk --bin dpdk_loadgen
fi
[[ -x $bin/meridian && -x $bin/dpdk_loadgen ]] || die "binaries missing in $bin"

tmp=$(mktemp -d /tmp/meridian-dpdk-bench.XXXXXX)
mpid=
cleanup() {
    if [[ -n $mpid ]] && kill -0 "$mpid" 2>/dev/null; then
        kill -TERM "$mpid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$mpid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$mpid" 2>/dev/null && kill -KILL "$mpid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock=$tmp/memif.sock
ctl=$tmp/control.sock
cfg=$tmp/meridian.toml

# Lcore layout: one core for everything, or RX / engine / TX threads.
IFS=, read -r l1 l2 l3 <<<"$MERIDIAN_LCORES"
if [[ -n ${l3:-} ]]; then
    layout="lcore = $l2
rx-lcore = $l1
tx-lcore = $l3"
    layout_text="RX on core $l1, engine on core $l2, TX on core $l3"
elif [[ -z ${l2:-} ]]; then
    layout="lcore = $l1"
    layout_text="all on core $l1"
else
    die "MERIDIAN_LCORES must be \"E\" or \"RX,E,TX\" (got $MERIDIAN_LCORES)"
fi

case $METRICS in
    on) metrics_listen="127.0.0.1:$METRICS_PORT" ;;
    off) metrics_listen="" ;;
    *) die "METRICS must be on or off (got $METRICS)" ;;
esac
cat >"$cfg" <<EOF
# Written by bench/dpdk_pipeline.sh.
[clock]
# The flood limiter must not cap the benchmark.
max-requests-per-ms = 100000
max-requests-per-source-per-s = 10000000
utc-offset = 37

[dataplane]
backend = "dpdk"
eal-args = ["--no-huge", "--no-pci", "--no-shconf", "-m", "512"]
$layout

[control]
socket = "$ctl"

[metrics]
listen = "$metrics_listen"

[logging]
level = "info"

[[port]]
interface = "bench0"
transport = "udp-ipv4"
dpdk-device = "net_memif0,role=server,socket=$sock,rsize=$MEMIF_RSIZE"
address = "10.77.0.1"
master-only = true
EOF
if ! "$bin/meridian" check-config "$cfg" >/dev/null 2>"$tmp/check.txt"; then
    cat "$tmp/check.txt" >&2
    die "Meridian rejects the generated configuration (lcore layout \"$MERIDIAN_LCORES\": $layout_text)"
fi

echo "== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (modified)')"
echo "cpu:     $(nproc) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "kernel:  $(uname -r)    DPDK $(pkg-config --modversion libdpdk 2>/dev/null || echo '?')    $(rustc --version 2>/dev/null || true)"
echo "layout:  Meridian $layout_text; load generator on core $LOADGEN_LCORE; $SLAVES slaves on $HOSTS hosts; burst $BURST"
echo "memif:   rings of $((1 << MEMIF_RSIZE)) slots; full RX ring: $RING_FULL"

# Other busy processes skew every figure on a 2-core machine: name them.
busy() {
    top -b -n 2 -d 0.5 -w 200 2>/dev/null | awk -v me="$mpid" '
        /^top -/ { frame++ } frame == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 20 && $1 != me { print "  pid " $1 " " $12 " " $9 "% CPU" }'
}
waited=0
while others=$(busy || true); [[ -n $others && $waited -lt $QUIET_WAIT_S ]]; do
    [[ $waited == 0 ]] && { echo "waiting up to $QUIET_WAIT_S s for other processes to leave the CPU:"; echo "$others"; }
    sleep 5
    waited=$((waited + 6))
done
if [[ -n $others ]]; then
    echo "WARNING: other processes are using the CPU; figures will be low and noisy:"
    echo "$others"
fi

status_json() {
    "$bin/meridian" status --socket "$ctl" --json
}

echo "== start Meridian"
"$bin/meridian" run --config "$cfg" >"$tmp/meridian.log" 2>&1 &
mpid=$!
master=0
for _ in $(seq 200); do
    kill -0 "$mpid" 2>/dev/null || { cat "$tmp/meridian.log" >&2; die "Meridian exited"; }
    if status_json 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
sys.exit(0 if d["ports"] and all(p["state"] == "MASTER" for p in d["ports"]) else 1)' 2>/dev/null; then
        master=1
        break
    fi
    sleep 0.1
done
[[ $master == 1 ]] || { cat "$tmp/meridian.log" >&2; die "port not MASTER after 20 s"; }
echo "Meridian pid $mpid: port MASTER"
scraper=
if [[ $METRICS == on ]]; then
    # A Prometheus stand-in: GET /metrics every SCRAPE_S seconds while Meridian runs.
    (
        n=0
        while kill -0 "$mpid" 2>/dev/null; do
            if exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"; then
                printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
                cat <&3 >/dev/null
                exec 3<&-
                n=$((n + 1))
            fi
            sleep "$SCRAPE_S"
        done
        echo "$n" >"$tmp/scrapes"
    ) &
    scraper=$!
fi
status_json >"$tmp/status0.json"
if python3 -c 'import json,sys; sys.exit(0 if "residence" in json.load(open(sys.argv[1])) else 1)' "$tmp/status0.json"; then
    have_residence=1
else
    have_residence=0
    echo "note: this Meridian reports no residence histogram (\"residence\" in its status); RTT only"
fi

lg=("$bin/dpdk_loadgen")
lg_opts=(--vdev "net_memif0,role=client,socket=$sock,rsize=$MEMIF_RSIZE" --lcore "$LOADGEN_LCORE"
    --file-prefix "mbench-lg-$$" --slaves "$SLAVES" --hosts "$HOSTS" --burst "$BURST" --ring-full "$RING_FULL"
    --meridian-pid "$mpid")

# key=value out of a RESULT/MAX_RATE/RESIDENCE line.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

# One load generator process for the whole benchmark: DPDK 22.11's memif server unmaps a
# departing client's memory from its control thread while Meridian's poll thread may be in a
# burst on it (seen here as a segfault in librte_net_memif), so the client connects once and
# Meridian is stopped (--exec-end) before the client disconnects. The status snapshots
# bracket exactly each measured phase (not the search, the link check or a quiet wait).
snap="$bin/meridian status --socket $ctl --json >$tmp"
stop="$bin/meridian status --socket $ctl --json >$tmp/status1.json; kill -TERM $mpid"
if [[ -z $MAX_RATE ]]; then
    echo "== search for the maximum rate (loss < $LOSS_PCT %, $STEP_S s per trial), then 50 % and 90 % for $PHASE_S s"
    search=(--start "$SEARCH_START" --step "$STEP_S" --loss "$LOSS_PCT")
else
    echo "== maximum given: $MAX_RATE Delay_Req/s; 50 % and 90 % for $PHASE_S s"
    search=(--max-rate "$MAX_RATE")
fi
"${lg[@]}" pipeline "${lg_opts[@]}" "${search[@]}" --phases 50,90 --duration "$PHASE_S" \
    --retry-starved "$PHASE_RETRIES" \
    --exec-before "$snap/before-\$PHASE.json" --exec-after "$snap/after-\$PHASE.json" \
    --exec-end "$stop" 2>"$tmp/loadgen.log" | tee "$tmp/pipeline.txt" || true
grep -q '^PIPELINE_DONE' "$tmp/pipeline.txt" || { cat "$tmp/loadgen.log" >&2; die "the load generator failed"; }
if [[ -z $MAX_RATE ]]; then
    line=$(grep '^MAX_RATE' "$tmp/pipeline.txt" | tail -1)
    MAX_RATE=$(field delay_req_per_s "$line")
    max_msgs="$(field messages_per_s "$line") PTP messages/s (in + out)"
else
    max_msgs="(given)"
fi

# Meridian was sent SIGTERM by --exec-end.
rc=0
wait "$mpid" || rc=$?
mpid=
[[ $rc == 0 ]] || echo "WARNING: Meridian exited with status $rc (see its log below)"

summary=()
for pct in 50 90; do
    r=$(grep "^RESULT phase=$pct " "$tmp/pipeline.txt" | tail -1)
    res="n/a (not reported)"
    if [[ $have_residence == 1 ]]; then
        if "${lg[@]}" residence-diff "$tmp/before-$pct.json" "$tmp/after-$pct.json" | tee "$tmp/res-$pct.txt"; then
            rl=$(grep '^RESIDENCE' "$tmp/res-$pct.txt")
            res="$(field p50_ns "$rl") / $(field p99_ns "$rl") / $(field p999_ns "$rl") (n=$(field count "$rl"))"
        fi
    fi
    summary+=("| $pct % | $(field target "$r") | $(field offered_per_s "$r") | $(field loss_pct "$r") | $(field messages_per_s "$r") | $(field rtt_p50_ns "$r") / $(field rtt_p99_ns "$r") / $(field rtt_p999_ns "$r") (max $(field rtt_max_ns "$r")) | $res | $(field own_wait_ms "$r") / $(field meridian_wait_ms "$r"); $(field steal_ms "$r") |")
done

echo "== Meridian"
if [[ -s $tmp/status1.json ]]; then
    python3 - "$tmp/status1.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
print("rx_messages {rx_messages}  tx_messages {tx_messages}  rx_rate_limited {rx_rate_limited}  "
      "tx_errors {tx_errors}  tx_timestamp_timeouts {tx_timestamp_timeouts}".format(**s))
EOF
fi
grep -o 'DpdkCounters {[^}]*}' "$tmp/meridian.log" | sed 's/^/data plane: /' || true
[[ $rc == 0 ]] || tail -20 "$tmp/meridian.log"

echo
echo "== summary (Meridian: $layout_text; load generator core $LOADGEN_LCORE; $SLAVES slaves on $HOSTS hosts; burst $BURST; memif rings $((1 << MEMIF_RSIZE)); full ring: $RING_FULL)"
echo "maximum with < $LOSS_PCT % loss: $MAX_RATE Delay_Req/s = $max_msgs"
echo
echo "| load | target Delay_Req/s | offered/s | loss % | msgs/s in+out | RTT p50 / p99 / p99.9 ns | residence p50 / p99 / p99.9 ns | CPU taken from the pollers, ms: run-queue wait loadgen / Meridian; hypervisor steal per vCPU |"
echo "|---|---:|---:|---:|---:|---|---|---|"
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# The README's run command: a working grandmaster on a machine without PTP hardware.
#
# Builds Meridian, makes a two-namespace lab joined by a veth pair (addresses inside the
# namespaces only), runs Meridian as grandmaster on one side and a real linuxptp `ptp4l` slave
# on the other, and shows Meridian's live status and the slave's measured offsets until you
# press Ctrl-C (or for --duration SECONDS). The slave runs free: it measures, it never
# adjusts this machine's clock (free_running 1, and CAP_SYS_TIME dropped).
#
# Needs root (network namespaces). Usage: bash scripts/run.sh [--duration SECONDS] [--l2]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=0
transport=udp-ipv4
ptp4l_transport=-4
while (($#)); do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --l2) transport=l2; ptp4l_transport=-2; shift ;;
        *) echo "usage: $0 [--duration SECONDS] [--l2]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "run.sh needs root for network namespaces (sudo bash scripts/run.sh)" >&2; exit 1; }

bash scripts/setup.sh
cargo build --release --locked -p meridian --bin meridian
bin="$PWD/target/release/meridian"

tag="md$$"
gm="$tag-gm"; sl="$tag-sl"
work=$(mktemp -d /tmp/meridian-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$gm" 2>/dev/null || true
    ip netns del "$sl" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$gm"; ip netns add "$sl"
ip link add "$tag-a" type veth peer name "$tag-b"
ip link set "$tag-a" netns "$gm"; ip link set "$tag-b" netns "$sl"
for ns in "$gm" "$sl"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
done
ip netns exec "$gm" ip addr add 10.213.0.1/24 dev "$tag-a"
ip netns exec "$sl" ip addr add 10.213.0.2/24 dev "$tag-b"
ip netns exec "$gm" ip link set "$tag-a" up
ip netns exec "$sl" ip link set "$tag-b" up

cat > "$work/meridian.toml" <<TOML
[clock]
profile = "default-e2e"
priority1 = 128
utc-offset = "auto"

[control]
socket = "$work/control.sock"

[[port]]
interface = "$tag-a"
transport = "$transport"
log-sync-interval = -2
log-announce-interval = 0
log-min-delay-req-interval = -2
TOML
cat > "$work/ptp4l.cfg" <<CFG
[global]
slaveOnly 1
free_running 1
time_stamping software
logging_level ${DEMO_PTP4L_LOGLEVEL:-6}
summary_interval -7
CFG

[ -n "${DEMO_CAPTURE:-}" ] && { ip netns exec "$gm" tcpdump -i "$tag-a" -U -w "$DEMO_CAPTURE" udp port 319 or udp port 320 or ether proto 0x88f7 >/dev/null 2>&1 & pids+=($!); }
ip netns exec "$gm" "$bin" run --config "$work/meridian.toml" 2> "$work/meridian.log" &
pids+=($!)
ip netns exec "$sl" setpriv --bounding-set -sys_time --inh-caps -sys_time -- \
    ptp4l -f "$work/ptp4l.cfg" -i "$tag-b" "$ptp4l_transport" -m > "$work/ptp4l.log" 2>&1 &
pids+=($!)

echo "Meridian grandmaster on $tag-a ($transport); ptp4l slave on $tag-b. Ctrl-C to stop."
start=$(date +%s)
while :; do
    sleep 2
    if ! kill -0 "${pids[0]}" 2>/dev/null; then
        echo "meridian exited:"; cat "$work/meridian.log"; exit 1
    fi
    clear 2>/dev/null || true
    "$bin" status --socket "$work/control.sock" || true
    echo
    echo "ptp4l slave (free-running; offset = its clock minus Meridian's, ns):"
    grep -E "master offset" "$work/ptp4l.log" | tail -n 5 || echo "  (waiting for the slave to lock on)"
    echo
    echo "Meridian log:"; tail -n 3 "$work/meridian.log"
    if [ "$duration" -gt 0 ] && [ $(( $(date +%s) - start )) -ge "$duration" ]; then
        n=$(grep -c "master offset" "$work/ptp4l.log" || true)
        echo "done: the slave reported $n offsets"
        [ "$n" -gt 0 ] || { echo "ptp4l log:"; tail -n 20 "$work/ptp4l.log"; }
        [ "$n" -gt 0 ] || exit 1
        exit 0
    fi
done

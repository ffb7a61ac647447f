#!/usr/bin/env bash
# Boots the deployed root (ansible/tests/run.sh) with systemd-nspawn in a network namespace
# of this script's own (a veth pair md0/md1, 10.78.0.1/.2) and checks the service as systemd
# runs it. Usage: boot-check.sh ROOT WORKDIR
set -euo pipefail
root=$1
work=$2
ns="mdeploy-$$"
log="$work/nspawn.log"
nspawn_pid=""
cleanup() {
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        kill -TERM "$nspawn_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link add md0 type veth peer name md1
ip -n "$ns" addr add 10.78.0.1/24 dev md0
ip -n "$ns" addr add 10.78.0.2/24 dev md1
ip -n "$ns" link set lo up
ip -n "$ns" link set md0 up
ip -n "$ns" link set md1 up

# Never CAP_SYS_TIME in the container, so nothing in it can set this machine's clock: the
# unit's CAP_SYS_TIME (for steering a PHC, which this root has none of) is taken out by a
# drop-in, and chrony (which would run with it on a real box) is masked.
mkdir -p "$root/etc/systemd/system/meridian.service.d"
cat > "$root/etc/systemd/system/meridian.service.d/test-no-sys-time.conf" <<'EOC'
[Service]
AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN
CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN
EOC
ln -sf /dev/null "$root/etc/systemd/system/chrony.service"
rm -f "$root/usr/sbin/policy-rc.d"

timeout 300 systemd-nspawn -q -b -D "$root" --register=no --keep-unit \
    --network-namespace-path="/run/netns/$ns" --console=pipe \
    --drop-capability=CAP_SYS_TIME > "$log" 2>&1 &
nspawn_pid=$!
# timeout → systemd-nspawn → the container's systemd (its PID 1).
leader=""
for _ in $(seq 1 100); do
    nspawn=$(pgrep -P "$nspawn_pid" | head -1 || true)
    # The container's PID 1 once it runs systemd: nspawn forks short-lived helpers first,
    # and entering one of those fails once it has exited.
    if [ -n "$nspawn" ]; then
        for c in $(pgrep -P "$nspawn" || true); do
            [ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && leader=$c
        done
    fi
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || { cat "$log"; echo "boot: no container"; exit 1; }
inside() { nsenter -t "$leader" -m -u -i -n -p -- "$@"; }

# READY=1 makes the unit active: the daemon sends it once the port's state is decided.
state=""
for _ in $(seq 1 90); do
    state=$(inside systemctl is-active meridian.service 2>/dev/null || true)
    [ "$state" = active ] && break
    [ "$state" = failed ] && break
    sleep 1
done
if [ "$state" != active ]; then
    inside systemctl status meridian.service --no-pager || true
    inside journalctl -u meridian.service --no-pager | tail -40 || true
    echo "boot: meridian.service is $state"; exit 1
fi
inside systemctl status meridian.service --no-pager | head -12
inside systemctl show meridian.service -p StatusText -p User -p MainPID
inside meridian status | head -4
inside python3 -c "import urllib.request; t = urllib.request.urlopen('http://10.78.0.1:9473/metrics', timeout=5).read().decode(); assert 'meridian_port_serving{port=\"1\"} 1' in t, t[:400]; print('metrics: meridian_port_serving 1')"
[ "$(inside systemctl show meridian.service -p User --value)" = meridian ]

# Reload: a new priority1, seen by the running daemon.
sed -i 's/^priority1 = .*/priority1 = 66/' "$root/etc/meridian/meridian.toml"
inside systemctl reload meridian.service
ok=""
for _ in $(seq 1 20); do
    if inside meridian status --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["clock"]["priority1"] == 66 else 1)'; then
        ok=1; break
    fi
    sleep 0.5
done
[ -n "$ok" ] || { inside journalctl -u meridian.service --no-pager | tail -20; echo "boot: reload did not apply"; exit 1; }
inside systemctl show meridian.service -p StatusText
echo "boot: systemctl reload applied priority1 = 66"

# The watchdog: a stopped daemon is killed and started again.
pid=$(inside systemctl show meridian.service -p MainPID --value)
inside kill -STOP "$pid"
new=""
for _ in $(seq 1 40); do
    sleep 1
    cur=$(inside systemctl show meridian.service -p MainPID --value)
    st=$(inside systemctl is-active meridian.service || true)
    if [ "$cur" != "$pid" ] && [ "$cur" != 0 ] && [ "$st" = active ]; then new=$cur; break; fi
done
[ -n "$new" ] || { inside journalctl -u meridian.service --no-pager | tail -20; echo "boot: no watchdog restart"; exit 1; }
inside journalctl -u meridian.service --no-pager | grep -i -m1 "watchdog" || true
echo "boot: watchdog restarted the stopped daemon (pid $pid -> $new)"

inside systemctl poweroff || true
for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
rm -f "$root/etc/systemd/system/meridian.service.d/test-no-sys-time.conf" "$root/etc/systemd/system/chrony.service"

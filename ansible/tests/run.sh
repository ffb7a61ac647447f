#!/usr/bin/env bash
# The deployment, tested by real runs (issue 15). Needs root. Called by tests/tests/deploy.rs
# (in the README's test command); runs alone too: `bash ansible/tests/run.sh DEB`.
#
#  1. ansible-lint (production profile, offline) and --syntax-check of site.yml.
#  2. A debootstrapped Debian 12 root; site.yml run into it through the chroot connection:
#     the package from DEB, the host tuning (sysctl, GRUB drop-in, vfio, NIC binding through a
#     stand-in dpdk-devbind.py, IRQ affinity in a stand-in /proc/irq: nothing of this
#     machine's kernel is touched), the configuration, the monitoring files.
#  3. The same run again: changed=0. A bad inventory value: the play fails with Meridian's own
#     error, and the live configuration is the one before.
#  4. The root booted with systemd-nspawn in a network namespace of the test's own:
#     meridian.service becomes active (READY from the daemon), `meridian status` and /metrics
#     answer, `systemctl reload` applies a priority change, and a stopped daemon (SIGSTOP)
#     is restarted by the watchdog.
#  5. The package upgraded over an edited conffile (kept), then purged (gone).
#
# The container never gets CAP_SYS_TIME (so nothing in it can touch this machine's clock):
# a drop-in of the test takes CAP_SYS_TIME out of the unit, and chrony is masked.
set -euo pipefail

deb=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${MERIDIAN_DEPLOY_WORK:-$repo/target/deploy}
mirror=${MERIDIAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
venv=$work/venv
root=$work/root
mkdir -p "$work"
step() { printf '\n== deploy: %s (%ss)\n' "$*" "$SECONDS"; }

step "ansible in a venv"
if ! "$venv/bin/ansible-playbook" --version >/dev/null 2>&1 || ! "$venv/bin/ansible-lint" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
fi
export PATH="$venv/bin:$PATH"
export ANSIBLE_CONFIG="$repo/ansible/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

step "ansible-lint and syntax"
(cd "$repo/ansible" && ansible-lint --offline -q --profile production site.yml roles)
(cd "$repo/ansible" && ansible-playbook --syntax-check -i inventory/example/hosts.yml site.yml >/dev/null)

step "a Debian 12 root"
# Debootstrapped once into root.base (kept between local runs); every run starts from a fresh
# copy of it.
base=$work/root.base
if [ ! -e "$base/.meridian-root-ok" ]; then
    rm -rf "$base"
    debootstrap --variant=minbase \
        --include=python3,python3-apt,systemd,systemd-sysv,dbus,udev,iproute2,procps,gpg \
        bookworm "$base" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log"; exit 1; }
    touch "$base/.meridian-root-ok"
fi
rm -rf "$root"
cp -a "$base" "$root"
# Nothing starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Stand-ins for what needs hardware: dpdk-devbind.py keeping its bindings in a file, and an
# IRQ tree.
install -m 755 "$here/dpdk-devbind-standin.py" "$root/usr/local/bin/dpdk-devbind.py"
rm -f "$root/var/lib/devbind-standin.json"
rm -rf "$root/srv/fake-proc"
for irq in default 24 25; do
    if [ "$irq" = default ]; then
        mkdir -p "$root/srv/fake-proc/irq"; echo 3 > "$root/srv/fake-proc/irq/default_smp_affinity"
    else
        mkdir -p "$root/srv/fake-proc/irq/$irq"; echo 3 > "$root/srv/fake-proc/irq/$irq/smp_affinity"
    fi
done

inv="$work/inventory.yml"
sed -e "s|@ROOT@|$root|g" -e "s|@DEB@|$deb|g" "$here/inventory.yml" > "$inv"
play() { (cd "$repo/ansible" && ansible-playbook -i "$inv" site.yml "$@"); }

step "first run"
play > "$work/run1.log" 2>&1 || { tail -60 "$work/run1.log"; exit 1; }
grep -A4 "PLAY RECAP" "$work/run1.log"

step "second run: nothing changes"
play > "$work/run2.log" 2>&1 || { tail -60 "$work/run2.log"; exit 1; }
grep -A4 "PLAY RECAP" "$work/run2.log"
if grep -E "changed=[1-9]" "$work/run2.log"; then
    grep -B3 -E "^changed:" "$work/run2.log" | head -40
    echo "deploy: the second run changed something"; exit 1
fi

# What the hardware steps did, in the root.
grep -q "gc_thresh3 = 4608" "$root/etc/sysctl.d/60-meridian.conf"
grep -q "isolcpus=1 nohz_full=1 rcu_nocbs=1" "$root/etc/default/grub.d/60-meridian.cfg"
grep -q "hugepages=64" "$root/etc/default/grub.d/60-meridian.cfg"
grep -qx "vfio-pci" "$root/etc/modules-load.d/meridian.conf"
grep -q '"0000:00:08.0": "vfio-pci"' "$root/var/lib/devbind-standin.json"
[ "$(cat "$root/srv/fake-proc/irq/24/smp_affinity")" = 1 ]
[ "$(cat "$root/srv/fake-proc/irq/default_smp_affinity")" = 1 ]
grep -q "reboot" "$work/run1.log"
grep -qx "CPUAffinity=0" "$root/etc/systemd/system/meridian.service.d/cpu-affinity.conf"
grep -q "10.78.0.1:9473" "$root/etc/prometheus/prometheus.yml"
[ -s "$root/var/lib/grafana/dashboards/meridian.json" ]
[ -s "$root/etc/grafana/provisioning/dashboards/meridian.yml" ]
echo "deploy: host tuning, binding, IRQs, monitoring files as expected"
# The installed unit, as systemd reads it in that root: not a word.
# (--man=no: the root has no man(1); the pages themselves are checked by tests/tests/package.rs.)
verify=$(systemd-analyze --root="$root" verify --man=no meridian.service 2>&1 || true)
[ -z "$verify" ] || { echo "deploy: systemd-analyze verify: $verify"; exit 1; }
echo "deploy: systemd-analyze verify is silent"

step "a bad value fails with Meridian's error and leaves the configuration"
before=$(sha256sum "$root/etc/meridian/meridian.toml")
if play -e meridian_priority1=300 > "$work/run3.log" 2>&1; then
    echo "deploy: priority1 = 300 was accepted"; exit 1
fi
grep -q "clock.priority1" "$work/run3.log" || { tail -30 "$work/run3.log"; exit 1; }
[ "$(sha256sum "$root/etc/meridian/meridian.toml")" = "$before" ]
grep -o "failed to validate.*" "$work/run3.log" | head -1 || true
grep -o 'clock.priority1[^"]*' "$work/run3.log" | head -1

step "boot the root"
bash "$here/boot-check.sh" "$root" "$work"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

step "upgrade over an edited conffile, then purge"
in_root() { chroot "$root" "$@"; }
sed -i 's/^priority2 = .*/priority2 = 77/' "$root/etc/meridian/meridian.toml"
cp "$deb" "$root/var/cache/meridian-up.deb"
# The same package, one revision up.
up="$work/meridian-up"
rm -rf "$up"; mkdir -p "$up"
dpkg-deb -R "$deb" "$up/pkg"
sed -i 's/^Version: .*/&.1/' "$up/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -b "$up/pkg" "$root/var/cache/meridian-up.deb" >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive dpkg --force-confold -i /var/cache/meridian-up.deb >"$work/upgrade.log" 2>&1 \
    || { cat "$work/upgrade.log"; exit 1; }
grep -q "^priority2 = 77" "$root/etc/meridian/meridian.toml"
in_root dpkg-query -W -f='${Version}\n' meridian | grep -q '\.1$'
in_root env DEBIAN_FRONTEND=noninteractive dpkg --purge meridian >"$work/purge.log" 2>&1 \
    || { cat "$work/purge.log"; exit 1; }
for f in /usr/bin/meridian /etc/meridian/meridian.toml /lib/systemd/system/meridian.service; do
    [ ! -e "$root$f" ] || { echo "deploy: $f left after purge"; exit 1; }
done
! in_root dpkg-query -W meridian >/dev/null 2>&1 || in_root dpkg-query -W -f='${Status}\n' meridian | grep -q "not-installed"
echo "deploy: upgrade kept the edited conffile; purge removed everything"
step "done"

#!/usr/bin/env python3
"""A stand-in for DPDK's dpdk-devbind.py in the deployment test: it knows one NIC and keeps
its driver binding in /var/lib/devbind-standin.json, printing --status-dev like the real one."""
import json
import sys

STATE = "/var/lib/devbind-standin.json"
NICS = {"0000:00:08.0": "Ethernet Controller E810-C for QSFP 1592"}


def load():
    try:
        with open(STATE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {pci: "ice" for pci in NICS}


def main(argv):
    state = load()
    if argv[:2] == ["--status-dev", "net"]:
        dpdk = [p for p, d in state.items() if d == "vfio-pci"]
        kernel = [p for p, d in state.items() if d != "vfio-pci"]
        print("\nNetwork devices using DPDK-compatible driver\n" + "=" * 44)
        for p in dpdk:
            print(f"{p} '{NICS[p]}' drv=vfio-pci unused=ice")
        print("\nNetwork devices using kernel driver\n" + "=" * 35)
        for p in kernel:
            print(f"{p} '{NICS[p]}' if=eth1 drv={state[p]} unused=vfio-pci")
        return 0
    if len(argv) == 2 and argv[0].startswith("--bind="):
        pci = argv[1]
        if pci not in NICS:
            print(f"Error: unknown device: {pci}", file=sys.stderr)
            return 1
        state[pci] = argv[0].split("=", 1)[1]
        with open(STATE, "w") as f:
            json.dump(state, f)
        return 0
    print(f"stand-in dpdk-devbind.py: unsupported arguments {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

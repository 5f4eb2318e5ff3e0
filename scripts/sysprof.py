"""Where a command's CPU goes, user and system, by process kind.

    python scripts/sysprof.py [--json FILE] -- COMMAND...

Runs COMMAND as a child of a process-accounting subreaper (Linux, root): the kernel's BSD
process accounting (acct(2), version 3 records) writes one record per exiting process with its
user and system CPU, and the subreaper makes every orphan (a postmaster started by pg_ctl, a
background `rm -rf`) its child, so each record's parent chain leads back to this command.
Prints the whole machine's user/system CPU over the run (/proc/stat, which also counts
kernel threads and other users' work) beside the sum over the command's own processes,
grouped by command name (postgres split into the server's children, "backend", and the rest:
postmasters and initdb's runs), with the minor page faults of each group.

Limits: process accounting is one file for the whole machine (run one sysprof at a time);
its times are sampled at the scheduler tick, so a short process often shows 0 and only sums
over many are meaningful; CPU spent by kernel threads (writeback, journal) is in the machine
figure only.

Example, the whole module on disk and on tmpfs, back to back:
    PYTHONPATH=$PWD python scripts/sysprof.py -- python -m pytest -p no:cacheprovider -q tests/x.py
    TMPDIR=/dev/shm PYTHONPATH=$PWD python scripts/sysprof.py -- python -m pytest ... tests/x.py
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
AHZ = 100  # acct v3 times are in AHZ ticks
RECORD = struct.Struct("<BBHIIIIIIf8H16s")
TICK = os.sysconf("SC_CLK_TCK")


def comp_t(value: int) -> int:
    return (value & 0x1FFF) << (3 * (value >> 13))


def cpu_times() -> tuple[float, float, float]:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice) / TICK, (system + irq + softirq) / TICK, (idle + iowait) / TICK


def main(argv: list[str]) -> int:
    out = None
    if argv[:1] == ["--json"]:
        out, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    fd, acct_file = tempfile.mkstemp(prefix="sysprof-", dir="/dev/shm")
    os.close(fd)
    if libc.acct(acct_file.encode()) != 0:
        print(f"acct: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 2
    load0 = os.getloadavg()[0]
    u0, s0, i0 = cpu_times()
    t0 = time.monotonic()
    try:
        rc = subprocess.call(argv)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # orphans reparented to us: wait for them too
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
    finally:
        wall = time.monotonic() - t0
        u1, s1, i1 = cpu_times()
        load1 = os.getloadavg()[0]
        libc.acct(None)
    data = Path(acct_file).read_bytes()
    os.unlink(acct_file)
    records = [RECORD.unpack_from(data, at) for at in range(0, len(data) - 63, 64)]
    parent = {r[6]: r[7] for r in records}
    comm_of = {r[6]: r[-1].rstrip(b"\0").decode(errors="replace") for r in records}
    me = os.getpid()

    def ours(pid: int) -> bool:
        seen = 0
        while pid in parent and seen < 64:
            pid, seen = parent[pid], seen + 1
            if pid == me:
                return True
        return pid == me

    kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    others = [0.0, 0.0]
    for r in records:
        pid, ppid, comm = r[6], r[7], comm_of[r[6]]
        utime, stime = comp_t(r[10]) / AHZ, comp_t(r[11]) / AHZ
        if not ours(pid):
            others[0] += utime
            others[1] += stime
            continue
        if comm == "postgres":
            comm = "postgres (backend)" if comm_of.get(ppid) == "postgres" else "postgres (other)"
        elif ppid == me and comm.startswith("python"):
            comm = "python (top command)"
        k = kinds[comm]
        k[0] += 1
        k[1] += utime
        k[2] += stime
        k[3] += comp_t(r[15])
    total_u = sum(k[1] for k in kinds.values())
    total_s = sum(k[2] for k in kinds.values())
    machine = {"user": u1 - u0, "system": s1 - s0, "idle": i1 - i0}
    print(
        f"wall {wall:.1f}s load {load0:.2f}->{load1:.2f} rc {rc}\n"
        f"machine: user {machine['user']:.1f}s system {machine['system']:.1f}s "
        f"idle {machine['idle']:.1f}s\n"
        f"this command's processes: user {total_u:.1f}s system {total_s:.1f}s; "
        f"other processes that exited meanwhile: user {others[0]:.1f}s system {others[1]:.1f}s"
    )
    print(f"{'process':<24}{'count':>7}{'user s':>9}{'sys s':>9}{'minflt':>10}")
    for name, (count, utime, stime, minflt) in sorted(
        kinds.items(), key=lambda kv: -(kv[1][1] + kv[1][2])
    ):
        if utime + stime >= 0.05 or count >= 50:
            print(f"{name:<24}{count:>7}{utime:>9.2f}{stime:>9.2f}{minflt:>10}")
    if out:
        with open(out, "a") as f:
            row = {
                "command": argv, "wall": wall, "load": [load0, load1], "rc": rc, "machine": machine,
                "user": total_u, "system": total_s, "others": others,
                "kinds": {k: v for k, v in kinds.items()},
            }
            f.write(json.dumps(row) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

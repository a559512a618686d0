#!/usr/bin/env python3
"""How much of the bosun binary's code a running process has mapped, and whose code it is.

    scripts/text-pages.py PID        (as root: it reads /proc/PID/pagemap)

Counts the present pages of the binary's executable mapping and attributes each to the
functions (nm) lying in it, by the first path segment of their names. The binary must keep
its symbol table (a build with CARGO_PROFILE_RELEASE_STRIP=false). Why it matters: the kernel
maps a whole page-cache folio on a fault, so code run once anywhere stays mapped; an idle
agent mapped 14.4 MiB of code while running 2.5 MB of it (docs/benchmarks.md, "Session 15").
"""
import bisect
import collections
import os
import re
import struct
import subprocess
import sys


def main(pid):
    binary = os.readlink(f"/proc/{pid}/exe")
    text = None
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        if len(f) >= 6 and f[5] == binary and f[1].startswith("r-x"):
            text = f
    if text is None:
        sys.exit(f"no executable mapping of {binary} in process {pid}")
    start, end = (int(x, 16) for x in text[0].split("-"))
    offset = int(text[2], 16)
    # The ELF address of the mapping's first byte, from the executable LOAD segment.
    base = None
    for line in subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and "E" in f[6:-1]:
            base = int(f[2], 16) - (int(f[1], 16) - offset)
    pages = (end - start) // 4096
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        pm.seek(start // 4096 * 8)
        data = pm.read(pages * 8)
    present = [i for i in range(pages) if struct.unpack_from("<Q", data, i * 8)[0] >> 63 & 1]
    print(f"{binary}: code pages mapped {len(present)} of {pages} ({len(present) * 4 / 1024:.1f} MiB)")
    nm = subprocess.run(["nm", "--defined-only", "-S", "-C", binary], capture_output=True, text=True).stdout
    syms = sorted(
        (int(f[0], 16), int(f[1], 16), f[3])
        for f in (l.split(" ", 3) for l in nm.splitlines())
        if len(f) == 4 and f[2] in "tT"
    )
    if not syms or base is None:
        print("(no symbol table: build with CARGO_PROFILE_RELEASE_STRIP=false to see whose code)")
        return
    addrs = [s[0] for s in syms]
    by = collections.Counter()
    for i in present:
        lo = base + i * 4096
        hi = lo + 4096
        j = max(bisect.bisect_right(addrs, lo) - 1, 0)
        while j < len(syms) and syms[j][0] < hi:
            a, size, name = syms[j]
            overlap = min(a + size, hi) - max(a, lo)
            if overlap > 0:
                m = re.match(r"<?(?:impl |dyn )?([A-Za-z_][A-Za-z0-9_]*)", name)
                by[m.group(1) if m else "?"] += overlap
            j += 1
    for crate, n in by.most_common(20):
        print(f"{n / 1024:8.0f} KiB  {crate}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: text-pages.py PID")
    main(int(sys.argv[1]))

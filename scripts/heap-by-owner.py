#!/usr/bin/env python3
"""Sums a jemalloc heap profile by who holds the memory.

    jeprof --collapsed target/release/bosun /tmp/jeprof/p.<pid>.<n>.i<n>.heap > heap.folded
    scripts/heap-by-owner.py heap.folded

Each folded stack is counted once, under the first group whose pattern it matches (the order
below matters: a status update's clone runs inside the apply, and so on). How the profile is
taken: docs/benchmarks.md, "Session 15".
"""
import re
import sys

GROUPS = [
    ("checkpoint chunks held by sled", r"Segments::seal"),
    ("sled log buffers", r"Log::reserve"),
    ("objects and their versions", r"command::plan|take_status"),
    ("encoded JSON of versions", r"get_or_init"),
    ("connections (h2, tonic, hyper)", r"h2::|tonic::|hyper"),
    ("sled, other (metrics: never written)", r"sled::"),
    ("Raft log and WAL", r"raft_node|wal::|SledStorage|raft::"),
]


def main(path):
    sums = {name: 0 for name, _ in GROUPS}
    sums["other"] = 0
    total = 0
    for line in open(path):
        stack, _, n = line.rstrip().rpartition(" ")
        n = int(n)
        total += n
        for name, pattern in GROUPS:
            if re.search(pattern, stack):
                sums[name] += n
                break
        else:
            sums["other"] += n
    print(f"{total / 1e6:8.1f} MB  heap in all")
    for name, n in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"{n / 1e6:8.1f} MB  {name}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: heap-by-owner.py FOLDED")
    main(sys.argv[1])

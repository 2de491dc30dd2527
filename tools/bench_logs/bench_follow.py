#!/usr/bin/env python3
"""Throughput and memory of `coreset select --format text` on long logs: does memory stay flat as the log grows?

The log is fail2ban's 1,067 test lines (../shared/data/fail2ban_logs) cycled with every digit redrawn at random
(seeded), so lines keep their kinds but are all different, as a real log's are. For each length the same command
runs once; reported: lines/s, peak RSS (getrusage of the child) and the number of line texts still held at the
end (from the stderr summary: stored elements + reservoir). Peak RSS should not grow with the length of the log:
the selector holds a bounded store and reservoir, and the text of lines it no longer holds is dropped.

Usage: python3 tools/bench_logs/bench_follow.py [--binary .build/release/coreset] [--lengths 20000,100000,400000]
"""
import argparse, os, random, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data", "fail2ban_logs", "fail2ban_logs.raw.txt.zst")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "coreset"))
    ap.add_argument("--lengths", default="20000,100000,400000")
    ap.add_argument("-k", type=int, default=50)
    ap.add_argument("--extra", default="", help="more arguments for coreset select, space separated")
    args = ap.parse_args()
    if not os.path.exists(DATA):
        sys.exit(f"no data at {DATA}")
    raw = subprocess.run(["zstd", "-dc", DATA], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    lines = [l.split("\t", 1)[1] for l in raw.split("\n") if l]
    rng = random.Random(0)
    tmp = tempfile.mkdtemp(prefix="bench-follow-")
    print("| lines | seconds | lines/s | peak RSS (MiB) | MB of log |")
    print("|---|---|---|---|---|")
    for n in [int(x) for x in args.lengths.split(",")]:
        path = os.path.join(tmp, f"log-{n}.log")
        with open(path, "w") as f:
            for i in range(n):
                f.write("".join(str(rng.randrange(10)) if c.isdigit() else c for c in lines[rng.randrange(len(lines))]) + "\n")
        cmd = [args.binary, "select", "--format", "text", "--quiet", "-k", str(args.k)] + args.extra.split() + [path]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        assert len(out.splitlines()) == args.k
        # ru_maxrss of children is the largest of any child so far: lengths run in increasing order.
        print(f"| {n} | {dt:.1f} | {n / dt:.0f} | {peak / 1024:.1f}{'' if peak > before else ' (not above the previous)'} | {os.path.getsize(path) / 1e6:.1f} |")
        os.remove(path)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What `--state` costs, side by side in one run: `coreset run` without checkpoints, with checkpoints every
`--every` records, and the restart of a completed run (which resumes at the end of the input: it
decompresses the whole input again to reach its offset and reloads the state, the worst case of a resume).

Usage: python3 tools/bench_checkpoint.py [--repeat 3] [--every 10000] [--sync] [DATA.svm.zst ...]
Default data: fixtures/adult/adult.train.svm.zst and, when present, ../shared/data/census_kdd/census_kdd.train.svm.zst.
Needs a release build (`swift build -c release`). Runs alternate (plain, checkpointed, plain, ...) so load
from other processes hits both alike; prints medians, the ratio checkpointed / plain, the checkpoint count
and size, and the resume time.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
CORESET = os.path.join(ROOT, ".build", "release", "coreset")


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return t, r.stdout


def value(name, stdout):
    for line in stdout.splitlines():
        if line.startswith(name + "\t"):
            return line.split("\t")[1]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--every", default="10000", help="--checkpoint-every value (records, or e.g. 30s)")
    ap.add_argument("--sync", action="store_true", help="run selection and learning in lockstep")
    args = ap.parse_args()
    data = args.data or [p for p in [os.path.join(ROOT, "fixtures", "adult", "adult.train.svm.zst"),
                                     os.path.join(DATA, "census_kdd", "census_kdd.train.svm.zst")] if os.path.exists(p)]
    if not os.path.exists(CORESET):
        sys.exit("no release build: run `swift build -c release` first")
    load = os.getloadavg()[0]
    print(f"# coreset run, checkpoint every {args.every}, {'--sync' if args.sync else 'two threads'}, "
          f"median of {args.repeat}; load average at start {load:.1f} on {os.cpu_count()} cores")
    print("| data | records | plain s | with --state s | ratio | checkpoints | checkpoint size | resume at end s |")
    print("|---|---|---|---|---|---|---|---|")
    for path in data:
        base = [CORESET, "run", "-q", path] + (["--sync"] if args.sync else [])
        plain, state, resume = [], [], []
        count, size, records = 0, 0, None
        for _ in range(args.repeat):
            t, out = timed(base)
            plain.append(t)
            records = value("records_accepted", out)
            d = tempfile.mkdtemp(prefix="coreset-bench-state-")
            try:
                t, out = timed(base + ["--state", d, "--checkpoint-every", args.every])
                state.append(t)
                size = os.path.getsize(os.path.join(d, "checkpoint.bin"))
                t, out2 = timed(base + ["--state", d, "--checkpoint-every", args.every])
                if value("records_accepted", out2) != records:
                    sys.exit("a resumed run counted different records")
                resume.append(t)
            finally:
                shutil.rmtree(d)
        if args.every.isdigit() and records:
            count = int(records) // int(args.every) + 1  # at least that many (one per batch past each multiple), plus the last
        p, s, r = statistics.median(plain), statistics.median(state), statistics.median(resume)
        print(f"| {os.path.basename(path)} | {records} | {p:.2f} | {s:.2f} | {s / p:.3f} | "
              f"{count if count else '?'} | {size / 1e6:.2f} MB | {r:.2f} |")


if __name__ == "__main__":
    main()

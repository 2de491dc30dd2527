#!/usr/bin/env python3
"""Sample-greedy's reservoir and cell size against sieve++: objective and time, three seeds.

Usage (from the repository root, after `swift build -c release`; needs numpy and `zstd`):

    python3 tools/bench_selection/sample_greedy_grid.py [--data ../shared/data] [--ks 100,1000] [--seeds 0,1,2]

For census_kdd and mnist (train files) and each k, runs `coreset select` with sieve++ (the default before
2026-12-07) and with sample-greedy at several (reference factor, reference size, cell size), each with
`--seed S`, and measures every coreset with `fl_objective.py` (facility location on a held sample of 10,000
records, relative to uniform samples of the same per-class sizes). Prints a markdown table: mean [min-max] over the
seeds of the objective's gain over uniform samples and of the wall seconds of `select`; writes it to
tools/out/sample_greedy_grid.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.join(ROOT, ".build", "release", "coreset")
CONFIGS = [
    ("sieve++ (old default)", ["--algorithm", "sieve++"]),
    ("sample-greedy, factor 2, size 1000, cells 4096", ["--algorithm", "sample-greedy", "--reference-factor", "2", "--reference-size", "1000", "--cell-size", "4096"]),
    ("sample-greedy, factor 4, size 2000, cells 512", ["--algorithm", "sample-greedy", "--reference-factor", "4", "--reference-size", "2000", "--cell-size", "512"]),
    ("sample-greedy, factor 8, size 2000, cells 256", ["--algorithm", "sample-greedy", "--cell-size", "256"]),
    ("sample-greedy, factor 8, size 2000, cells 512 (default)", ["--algorithm", "sample-greedy"]),
    ("sample-greedy, factor 8, size 2000, cells 1024", ["--algorithm", "sample-greedy", "--cell-size", "1024"]),
    ("sample-greedy, factor 8, size 4000, cells 512", ["--algorithm", "sample-greedy", "--reference-size", "4000"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--ks", default="100,1000")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--bin", default=BIN)
    ap.add_argument("--config", action="append", default=[], metavar="NAME=FLAGS",
                    help="measure these configurations instead of the built-in list, e.g. "
                         "'cells 128=--cell-size 128' (repeat; 'default=' is select's defaults)")
    ap.add_argument("--sets", default="census_kdd,mnist")
    args = ap.parse_args()
    configs = [(c.split("=", 1)[0], c.split("=", 1)[1].split()) for c in args.config] or CONFIGS
    seeds = [int(s) for s in args.seeds.split(",")]
    lines = ["| data | k | configuration | objective vs uniform samples | select seconds |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for data in args.sets.split(","):
            path = os.path.join(args.data, data, f"{data}.train.svm.zst")
            for k in [int(x) for x in args.ks.split(",")]:
                files, seconds = [], {}
                for name, flags in configs:
                    for s in seeds:
                        out = os.path.join(tmp, f"{data}_{k}_{len(files)}.svm")
                        t0 = time.monotonic()
                        with open(out, "w") as f:
                            subprocess.run([args.bin, "select", "-k", str(k), "--seed", str(s), *flags, path, "-q"],
                                           stdout=f, check=True)
                        seconds.setdefault(name, []).append(time.monotonic() - t0)
                        files.append((name, out))
                res = subprocess.run([sys.executable, os.path.join(HERE, "fl_objective.py"), path, *[f for _, f in files]],
                                     capture_output=True, text=True, check=True).stdout.splitlines()
                gain = {}
                for (name, _), row in zip(files, res[1:]):
                    gain.setdefault(name, []).append(float(row.split("\t")[3].split("%")[0]))
                for name, _ in configs:
                    g, t = gain[name], seconds[name]
                    lines.append(f"| {data} | {k:,} | {name} | {statistics.mean(g):+.2f}% [{min(g):+.2f}, {max(g):+.2f}] "
                                 f"| {statistics.median(t):.2f} [{min(t):.2f}-{max(t):.2f}] |")
                print("\n".join(lines[-len(configs):]), flush=True)
    os.makedirs(os.path.join(ROOT, "tools", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "tools", "out", "sample_greedy_grid.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

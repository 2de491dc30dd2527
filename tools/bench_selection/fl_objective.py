#!/usr/bin/env python3
"""Facility-location objective of coreset files on a held sample of the data, against uniform samples.

Usage (from the repository root; needs numpy and the `zstd` command):

    coreset select -k 1000 DATA.svm.zst -q > a.svm
    coreset select -k 1000 --algorithm sieve++ DATA.svm.zst -q > b.svm
    python3 tools/bench_selection/fl_objective.py DATA.svm.zst a.svm b.svm

F(S) = sum over a fixed uniform sample of 10,000 records of max over the elements of S of the same class of
max(0, D - ||x - s||), with CRAIG's D = the largest distance between two of the first 500 records (the scale the
selector fixes after its warm-up). Printed per file: elements, F, and F relative to the mean F of five uniform
samples with the first file's per-class sizes. The same objective as `BenchSelection eval` (which also normalises
by lazy greedy), cheap enough to compare many configurations in a minute. Dense in memory: 10,000 x dimension floats.
"""
import argparse
import subprocess

import numpy as np


def parse(lines, dim):
    x = np.zeros((len(lines), dim), dtype=np.float32)
    y = np.zeros(len(lines))
    for r, line in enumerate(lines):
        parts = line.split("#")[0].split()
        y[r] = float(parts[0].split(":")[0])
        for t in parts[1:]:
            i, v = t.split(":")
            if int(i) <= dim:
                x[r, int(i) - 1] = float(v)
    return x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", help="the data the coresets were selected from (LIBSVM, optionally .zst)")
    ap.add_argument("coresets", nargs="+", help="coreset files (LIBSVM, as `coreset select` writes them)")
    ap.add_argument("--sample", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()
    reader = f"zstd -dc '{args.data}'" if args.data.endswith(".zst") else f"cat '{args.data}'"
    lines = [l for l in subprocess.run(reader, shell=True, capture_output=True, text=True, check=True).stdout.splitlines() if l.strip()]
    dim = max(int(t.split(":")[0]) for line in lines for t in line.split("#")[0].split()[1:])
    rng = np.random.default_rng(args.seed)
    sample, sample_y = parse([lines[i] for i in rng.permutation(len(lines))[:args.sample]], dim)
    warm, _ = parse(lines[:500], dim)
    sq = (warm * warm).sum(1)
    scale = np.sqrt(max((sq[:, None] + sq[None, :] - 2 * warm @ warm.T).max(), 0))
    labels = np.array([float(l.split()[0].split(":")[0]) for l in lines])

    def objective(c, cy):
        total = 0.0
        for cls in np.unique(sample_y):
            s, e = sample[sample_y == cls], c[cy == cls]
            if len(e) == 0:
                continue
            d2 = (s * s).sum(1)[:, None] + (e * e).sum(1)[None, :] - 2 * s @ e.T
            total += np.maximum(0, scale - np.sqrt(np.maximum(d2, 0))).max(1).sum()
        return total

    rows = []
    for path in args.coresets:
        with open(path) as f:
            c, cy = parse([l for l in f.read().splitlines() if l.strip()], dim)
        rows.append((path, len(c), objective(c, cy), cy))
    sizes = rows[0][3]
    uniform = []
    for _ in range(5):
        pick = []
        for cls in np.unique(sizes):
            pick += list(rng.choice(np.where(labels == cls)[0], int((sizes == cls).sum()), replace=False))
        c, cy = parse([lines[i] for i in pick], dim)
        uniform.append(objective(c, cy))
    mean = float(np.mean(uniform))
    print(f"uniform samples\t{len(sizes)}\t{mean:.1f}\t(sd {np.std(uniform):.1f} over 5)")
    for path, n, value, _ in rows:
        print(f"{path}\t{n}\t{value:.1f}\t{(value - mean) / mean * 100:+.2f}% vs uniform")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Plots a `--progress-log` file of coreset (one JSON object per progress row).

usage: plot_progress.py LOG [LOG...] [-o plot.png] [--x records|seconds|epoch] [--y average_loss,holdout_loss]
       plot_progress.py --summary LOG     (no matplotlib needed: the columns, rows and last values)

Each log becomes one line per y column, labelled by file name; the default y columns are every
column whose name ends in `loss` (or `records` when there is none, as for stats and select).
"""
import argparse
import json
import os
import sys


def read_rows(path):
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    sys.exit(f"{path}:{number}: not a JSON row: {e}")
    return rows


def columns(rows):
    seen = []
    for r in rows:
        for k in r:
            if k not in seen:
                seen.append(k)
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+")
    ap.add_argument("-o", "--output", default="progress.png")
    ap.add_argument("--x", default=None, help="x column (default: records, else epoch, else seconds)")
    ap.add_argument("--y", default=None, help="comma-separated y columns")
    ap.add_argument("--summary", action="store_true", help="print the columns and last row instead of plotting")
    args = ap.parse_args()

    logs = [(path, read_rows(path)) for path in args.logs]
    if args.summary:
        for path, rows in logs:
            print(f"{path}: {len(rows)} rows; columns: {', '.join(columns(rows))}")
            if rows:
                print("  last: " + ", ".join(f"{k}={v}" for k, v in rows[-1].items()))
        return

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_progress.py: matplotlib is not installed (pip install matplotlib); --summary works without it")

    fig, ax = plt.subplots(figsize=(8, 5))
    for path, rows in logs:
        cols = columns(rows)
        x = args.x or next((c for c in ("records", "epoch", "seconds") if c in cols), cols[0])
        ys = args.y.split(",") if args.y else ([c for c in cols if c.endswith("loss")] or ["records"])
        for y in ys:
            points = [(r[x], r[y]) for r in rows if isinstance(r.get(x), (int, float)) and isinstance(r.get(y), (int, float))]
            if points:
                ax.plot(*zip(*points), marker=".", label=f"{os.path.basename(path)}: {y}")
        ax.set_xlabel(x)
        if x == "records":
            ax.set_xscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

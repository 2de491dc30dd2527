#!/usr/bin/env python3
"""Two builds of `coreset` side by side on the commands of bench_cost: what a change did to reading and selection.

Usage (from the repository root):

    python3 tools/bench_cost/compare_builds.py --old OLD_BINARY --new NEW_BINARY [--repeats 5] [--data ../shared/data]

Build the old binary from a clean copy of the commit before the change, e.g.
    git archive 86768be | tar -x -C /tmp/old && (cd /tmp/old && swift build -c release)

Each command runs with the old and the new binary in turn (old, new, old, new, ...; every run its own process),
`--repeats` times; the table gives the medians, the median of the run-by-run ratios new / old (pairing keeps the
ratio meaningful while the machine's speed drifts), and peak RSS. Commands: `stats`, `select -k K` for K = 100,
1,000, 10,000 in feature space and with `--model M` (a model trained beforehand with the new binary, not timed),
and `run -k K` at 1% and k = 10,000, on census_kdd and mnist (train files). Writes tools/bench_cost/COMPARE.md.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile

from bench_cost import OUT, timed  # the same timing as bench_cost's tables (wall, peak RSS of the child)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATASETS = [("census_kdd", "census_kdd/census_kdd.train.svm.zst", 199_523),
            ("mnist", "mnist/mnist.train.svm.zst", 60_000)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="the binary before the change")
    ap.add_argument("--new", required=True, help="the binary after it")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "COMPARE.md"))
    args = ap.parse_args()
    old, new = os.path.abspath(args.old), os.path.abspath(args.new)
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="compare_builds_")
    load_before = os.getloadavg()[0]
    rows = []
    for name, rel, n in DATASETS:
        path = os.path.join(args.data, rel)
        if not os.path.exists(path):
            sys.stderr.write(f"skipping {name}: {path} is missing\n")
            continue
        model = os.path.join(work, f"{name}.model")
        subprocess.run([new, "train", path, "--epochs", "1", "--model-out", model, "-q"], check=True,
                       stdout=subprocess.DEVNULL)
        commands = [("stats", ["stats", path, "-q"])]
        for k in (100, 1000, 10000):
            commands.append((f"select -k {k}", ["select", "-k", str(k), path, "-q"]))
            commands.append((f"select -k {k} --model", ["select", "-k", str(k), "--model", model, path, "-q"]))
        for label, k in (("1%", n // 100), ("10000", 10000)):
            commands.append((f"run -k {k} ({label})", ["run", "-k", str(k), path, "-q"]))
        for label, cmd in commands:
            times = {"old": [], "new": []}
            peaks = {"old": [], "new": []}
            for _ in range(args.repeats):
                for which, binary in (("old", old), ("new", new)):
                    s, m = timed([binary] + cmd)
                    times[which].append(s)
                    peaks[which].append(m)
            ratios = [b / a for a, b in zip(times["old"], times["new"])]
            row = (name, label, statistics.median(times["old"]), statistics.median(times["new"]),
                   statistics.median(ratios), min(ratios), max(ratios),
                   statistics.median(peaks["old"]), statistics.median(peaks["new"]))
            rows.append(row)
            sys.stderr.write(f"  {name:10s} {label:26s} old {row[2]:.3f} s  new {row[3]:.3f} s  new/old {row[4]:.2f} "
                             f"[{row[5]:.2f}-{row[6]:.2f}]  peak {row[7]:.0f} / {row[8]:.0f} MiB\n")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Two builds side by side",
        "",
        f"Run {now} on {platform.machine()}, {os.cpu_count()} cores, `python3 tools/bench_cost/compare_builds.py "
        f"--old {args.old} --new {args.new} --repeats {args.repeats}`; old and new alternate, each run its own "
        f"process; wall seconds (medians), the median and range of the run-by-run ratio new / old, and peak RSS "
        f"(medians). Load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.",
        "",
        "| data | command | old | new | new / old (median, range) | peak RSS old / new |",
        "|---|---|---|---|---|---|",
    ]
    for name, label, a, b, r, lo, hi, pa, pb in rows:
        lines.append(f"| {name} | `{label}` | {a:.3f} s | {b:.3f} s | {r:.2f}x ({lo:.2f}-{hi:.2f}) | "
                     f"{pa:.0f} / {pb:.0f} MiB |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    sys.stderr.write(f"wrote {args.out}\n")


if __name__ == "__main__":
    main()

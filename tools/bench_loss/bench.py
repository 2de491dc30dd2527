#!/usr/bin/env python3
"""CPU time of two coreset binaries (a baseline and a candidate) on the same commands, run
alternately (A B A B ...) so machine load hits both alike; prints the median of each and the ratio.

    python3 tools/bench_loss/bench.py BASELINE CANDIDATE [--reps 3]

Issue 26: the loss became a protocol (one dynamic call per step instead of an enum switch); this
checks that the learner's hot paths did not slow down. Data: ../shared/data (census_kdd, letter).
"""
import argparse, os, statistics, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
data = os.path.join(root, "..", "shared", "data")
census = os.path.join(data, "census_kdd", "census_kdd.train.svm.zst")
letter = os.path.join(data, "letter", "letter.all.svm.zst")
COMMANDS = [
    ("train census_kdd logistic (20 epochs)", ["train", "-q", "--epochs", "20", census]),
    ("train census_kdd hinge (20 epochs)", ["train", "-q", "--epochs", "20", "--loss", "hinge", census]),
    ("train census_kdd squared (regression, 20 epochs)", ["train", "-q", "--epochs", "20", "--regression", census]),
    ("run census_kdd logistic (--sync)", ["run", "-q", "--sync", census]),
    ("run census_kdd logistic, saga (--sync)", ["run", "-q", "--sync", "--optimizer", "saga", census]),
    ("train letter softmax (20 epochs)", ["train", "-q", "--epochs", "20", letter]),
]


def timed(binary, args):
    """CPU seconds (user + system) of one run: less sensitive than wall time to other processes on a
    shared machine (every command here keeps one core busy)."""
    proc = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"bench_loss: {binary} {' '.join(args)} failed ({status})")
    return usage.ru_utime + usage.ru_stime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("baseline")
    p.add_argument("candidate")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    if not os.path.exists(census):
        sys.exit(f"bench_loss: {census} is missing (../shared/data)")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| command | baseline CPU s (median) | candidate CPU s (median) | candidate / baseline |")
    print("|---|---|---|---|")
    ratios = []
    for name, args in COMMANDS:
        base, cand = [], []
        timed(a.baseline, args)  # warm the page cache
        for _ in range(a.reps):
            base.append(timed(a.baseline, args))
            cand.append(timed(a.candidate, args))
        mb, mc = statistics.median(base), statistics.median(cand)
        ratios.append(mc / mb)
        print(f"| {name} | {mb:.3f} | {mc:.3f} | {mc / mb:.3f} |", flush=True)
    print(f"\ngeometric mean ratio: {statistics.geometric_mean(ratios):.3f}; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

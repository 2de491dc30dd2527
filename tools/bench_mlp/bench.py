#!/usr/bin/env python3
"""Neural-network training on mnist: CREST-style mini-batch coresets vs full data vs random subsets.

Builds tools/bench_mlp in release mode and runs every method in one process, side by side (same
network initialisation, optimizer, step-size schedule and step budget; the order alternates between
rounds). Writes tools/bench_mlp/RESULTS.md, results.jsonl and accuracy_vs_time.png.

Time to target: the first evaluation at which test accuracy reaches (full data's final accuracy in
the same round - 1 point), in training wall seconds, selection and loss checks included, evaluation
excluded. The speed-up is full data's time over the method's.

    python3 tools/bench_mlp/bench.py                       # the default: mlp:128 and mlp:256,128
    python3 tools/bench_mlp/bench.py --configs 128 --rounds 1 --epochs 4   # quicker
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")
METHODS = ["full", "crest", "crest-drop", "random"]


def build():
    env = dict(os.environ)
    # The bench package reads the root package's identity (the checkout's folder name) itself.
    subprocess.run(["swift", "build", "-c", "release"], cwd=HERE, env=env, check=True)
    return os.path.join(HERE, ".build", "release", "BenchMLP")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def time_to(rows, target):
    for r in rows:
        if r["test_accuracy"] >= target:
            return r["seconds"], r["steps"]
    return None, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="128;256,128", help="hidden layers per configuration, ';'-separated")
    ap.add_argument("--epochs", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eta", type=float, default=0.05)
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    train = os.path.join(DATA, "mnist.train.svm.zst")
    test = os.path.join(DATA, "mnist.test.svm.zst")
    if not os.path.exists(train):
        sys.exit(f"bench_mlp: {train} is absent (needs ../shared/data/mnist)")
    binary = build()
    load_before = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for hidden in args.configs.split(";"):
        cmd = [binary, train, test, "--hidden", hidden, "--epochs", str(args.epochs), "--rounds", str(args.rounds),
               "--eval-every", str(args.eval_every), "--eta", str(args.eta), "--methods", args.methods]
        print("+", " ".join(cmd), file=sys.stderr)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        sys.stderr.write(out.stderr)
        for line in out.stdout.splitlines():
            r = json.loads(line)
            r["hidden"] = hidden
            rows.append(r)
    load_after = loadavg()
    with open(os.path.join(HERE, "results.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    methods = args.methods.split(",")
    table = []
    for hidden in args.configs.split(";"):
        for rnd in range(args.rounds):
            series = {m: [r for r in rows if r["hidden"] == hidden and r["round"] == rnd and r["method"] == m] for m in methods}
            full_final = series["full"][-1]["test_accuracy"]
            target = full_final - 0.01
            full_time, full_steps = time_to(series["full"], target)
            for m in methods:
                t, s = time_to(series[m], target)
                last = series[m][-1]
                table.append({"hidden": hidden, "round": rnd, "method": m, "target": target, "seconds": t, "steps": s,
                              "speedup": (full_time / t) if t else None, "final": last["test_accuracy"],
                              "total_seconds": last["seconds"], "selection_seconds": last["selection_seconds"]})

    def fmt(v, d=2):
        return "not reached" if v is None else f"{v:.{d}f}"

    lines = ["# bench_mlp: CREST-style mini-batch coresets vs full data vs random subsets (mnist)", "",
             f"Command: `python3 tools/bench_mlp/bench.py --configs '{args.configs}' --epochs {args.epochs:g} --rounds {args.rounds} "
             f"--eval-every {args.eval_every} --eta {args.eta:g}`", "",
             f"Run {started} on a 2-core machine shared with other builds (load average {load_before} before, {load_after} after): "
             "times are noisy; every method ran in the same process, one after the other, the order alternating between rounds.", "",
             "Setup: mnist train (60,000) -> test (10,000), pixels/255; softmax MLP with ReLU hidden layers, mini-batch B = 128, "
             f"SGD momentum 0.9, L2 1e-5, step size {args.eta:g} decayed exponentially to 5% over the budget of {args.epochs:g} "
             "full-data epochs (the same clock and budget for every method). CREST: 8 random subsets of 512 records per selection "
             "round, each reduced per class to a weighted mini-batch coreset of 128 (facility location on softmax - onehot), "
             "loss model checked every 8 steps on 256 records, reselect when |L - L^| > 0.1 L. Random: the same loop with uniform "
             "mini-batches of the same size. Target: full data's final test accuracy in that round minus 1 point. Times are training "
             "wall seconds with selection and checks counted, test evaluation excluded.", "",
             "| hidden | round | method | time to target (s) | steps to target | speed-up vs full | final accuracy | total s | selection + checks s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in table:
        lines.append(f"| {t['hidden']} | {t['round']} | {t['method']} | {fmt(t['seconds'])} | {t['steps'] if t['steps'] is not None else '-'} | "
                     f"{fmt(t['speedup'])}x | {t['final']:.4f} | {t['total_seconds']:.2f} | {t['selection_seconds']:.2f} |"
                     .replace("not reachedx", "-"))
    lines.append("")
    lines.append("Median speed-up over rounds and configurations (time to target, full / method):")
    lines.append("")
    for m in methods:
        v = [t["speedup"] for t in table if t["method"] == m and t["speedup"] is not None]
        missed = sum(1 for t in table if t["method"] == m and t["speedup"] is None)
        lines.append(f"- {m}: {statistics.median(v):.2f}x" + (f" ({missed} runs never reached the target)" if missed else "") if v
                     else f"- {m}: never reached the target")
    lines.append("")
    lines.append("Plot: `accuracy_vs_time.png` (test accuracy against training wall time; the first round solid). "
                 "Raw evaluations: `results.jsonl`. The reading of the committed run is in the README, "
                 "section \"CREST vs full data vs random subsets\".")
    lines.append("")
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench_mlp: matplotlib is absent, no plot", file=sys.stderr)
        return
    configs = args.configs.split(";")
    fig, axes = plt.subplots(1, len(configs), figsize=(6 * len(configs), 4.5), squeeze=False)
    colors = {"full": "black", "crest": "tab:red", "crest-drop": "tab:orange", "random": "tab:blue"}
    for ax, hidden in zip(axes[0], configs):
        for m in methods:
            for rnd in range(args.rounds):
                s = [r for r in rows if r["hidden"] == hidden and r["round"] == rnd and r["method"] == m]
                ax.plot([r["seconds"] for r in s], [r["test_accuracy"] for r in s], color=colors.get(m),
                        alpha=1 if rnd == 0 else 0.4, label=m if rnd == 0 else None)
        targets = [t["target"] for t in table if t["hidden"] == hidden and t["method"] == "full"]
        ax.axhline(statistics.mean(targets), color="gray", linestyle="--", label="target (full - 1 pt)")
        ax.set_ylim(0.9, 1.0)
        ax.set_xlabel("training wall time, s (selection included)")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"mnist, mlp:{hidden}")
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "accuracy_vs_time.png"), dpi=110)


if __name__ == "__main__":
    main()

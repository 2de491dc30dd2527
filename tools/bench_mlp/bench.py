#!/usr/bin/env python3
"""Neural-network training on mnist and fashion-mnist: CREST-style mini-batch coresets vs full-data SGD.

Builds tools/bench_mlp in release mode and, per data set, network and seed, runs every method in one
process, one after the other, on equal terms: the same network initialisation, optimizer (SGD, momentum
0.9, L2 1e-5), step-size schedule (0.05 decayed exponentially to 5% over the budget), batch size B = 128
and step budget (8 full-data epochs); each step is one SGD step on one mini-batch of at most B records.
Full-data mini-batch SGD and uniform random mini-batches are the same procedure (shuffled passes draw
uniform mini-batches without replacement), so they are one row. Writes tools/bench_mlp/RESULTS.md,
results.jsonl and accuracy_vs_time.png.

Target: full data's final test accuracy (same seed) minus 1 point. Time to target: the first evaluation
at or above it, in CPU seconds of the training thread (selection, checks and skipped work all counted,
test evaluation excluded); the speed-up is full data's time over the method's, median of the seeds.
Full data runs the whole budget first; the other methods stop at the target.

    python3 tools/bench_mlp/fashion_mnist.py       # once: the fashion-mnist files (dataset-fashion-mnist)
    python3 tools/bench_mlp/bench.py               # mnist + fashion-mnist, mlp:512,256, seeds 1-3
    python3 tools/bench_mlp/bench.py --datasets mnist --configs 128 --seeds 1 --epochs 4   # quicker
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
DATASETS = {
    "mnist": os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist", "mnist.{}.svm.zst"),
    "fashion-mnist": os.path.join(HERE, "data", "fashion_mnist", "fashion_mnist.{}.svm.zst"),
}
METHODS = ["full", "full-skip", "full-sb", "crest-sb", "crest-cached", "crest-cached-sb", "crest-prune-sb", "crest-pprune-sb",
           "crest-cached-noskip", "crest-fresh"]
LABELS = {
    "full": "full data = random mini-batches",
    "full-skip": "full data + skip fitted backward passes",
    "full-sb": "full data + sampled backward passes (bench loop)",
    "crest-sb": "sampled backward passes (sampled without pruning)",
    "crest-cached": "CREST cached proxies + drop learned + skip (earlier default)",
    "crest-cached-sb": "CREST cached proxies + drop + skip + sampled backward",
    "crest-prune-sb": "InfoBatch pruning + sampled backward passes (`sampled`, the default)",
    "crest-pprune-sb": "proportional pruning + sampled backward passes (`sampled --prune-factor 2`)",
    "crest-cached-noskip": "CREST cached proxies + drop learned, no skip",
    "crest-fresh": "CREST fresh subsets + loss model (first design)",
}
# Evaluation protocols: the same evaluations (every --eval-every steps over the whole budget, for every
# method) read two ways. "raw": the network's own weights. "averaged": an exponential moving average of
# the weights (beta = --ema), which takes out most of the step-to-step noise of test accuracy.
PROTOCOLS = [("raw", "raw_accuracy", "the network's weights"), ("averaged", "test_accuracy", "weight average")]


def build():
    subprocess.run(["swift", "build", "-c", "release"], cwd=HERE, check=True)
    return os.path.join(HERE, ".build", "release", "BenchMLP")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def reach(rows, target, key):
    for r in rows:
        if r.get(key, r["test_accuracy"]) >= target:
            return r
    return None


def final_accuracy(full):
    """Full data's final accuracy: its own weights' at the end of the budget (the target's definition)."""
    return full[-1].get("raw_accuracy", full[-1]["test_accuracy"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="mnist,fashion-mnist")
    ap.add_argument("--configs", default="512,256", help="hidden layers per configuration, ';'-separated")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=float, default=8)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eta", type=float, default=0.05)
    ap.add_argument("--ema", type=float, default=0.99, help="beta of the weight average read by the 'averaged' protocol")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--append", action="store_true", help="keep the rows of results.jsonl for other data sets, networks and seeds")
    ap.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md and the plot from results.jsonl")
    args = ap.parse_args()
    datasets = args.datasets.split(",")
    for d in datasets:
        if not os.path.exists(DATASETS[d].format("train")):
            hint = " (python3 tools/bench_mlp/fashion_mnist.py)" if d == "fashion-mnist" else ""
            sys.exit(f"bench_mlp: {DATASETS[d].format('train')} is absent{hint}")
    cmdline = (f"python3 tools/bench_mlp/bench.py --datasets {args.datasets} --configs '{args.configs}' --seeds {args.seeds} "
               f"--epochs {args.epochs:g} --eval-every {args.eval_every} --eta {args.eta:g} --ema {args.ema:g} --methods {args.methods}" + (" --append" if args.append else ""))
    results_path = os.path.join(HERE, "results.jsonl")
    methods = args.methods.split(",")
    configs = args.configs.split(";")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    if args.append and os.path.exists(results_path):
        with open(results_path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = loadavg()
    if not args.report_only:
        binary = build()
        if not args.append:
            open(results_path, "w").close()
        for d in datasets:
            for hidden in configs:
                for seed in seeds:
                    cmd = [binary, DATASETS[d].format("train"), DATASETS[d].format("test"), "--hidden", hidden,
                           "--epochs", str(args.epochs), "--eval-every", str(args.eval_every), "--eta", str(args.eta),
                           "--methods", ",".join(methods), "--seed", str(seed), "--stop-at-target", "1",
                           "--ema", str(args.ema), "--dense-until", str(10 ** 9)]
                    print("+", " ".join(cmd), file=sys.stderr, flush=True)
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
                    sys.stderr.write(out.stderr)
                    rows = [r for r in rows if not (r["dataset"] == d and r["hidden"] == hidden and r["seed"] == seed)]
                    fresh = []
                    for line in out.stdout.splitlines():
                        r = json.loads(line)
                        r["dataset"], r["hidden"], r["started"], r["command"] = d, hidden, started, cmdline
                        fresh.append(r)
                    rows += fresh
                    # Written after every process, so an interrupted bench keeps what it measured.
                    with open(results_path, "w") as f:
                        for r in rows:
                            f.write(json.dumps(r) + "\n")
    load_after = loadavg()
    # The report covers every row of results.jsonl (several invocations with --append).
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows)]
    configs = list(dict.fromkeys(r["hidden"] for r in rows))
    seeds = sorted(set(r["seed"] for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    runs = sorted(set(r.get("started", "?") for r in rows))

    def series(d, hidden, seed, m):
        return [r for r in rows if r["dataset"] == d and r["hidden"] == hidden and r["seed"] == seed and r["method"] == m]

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def fmt(v, d=2, suffix=""):
        return "-" if v is None else f"{v:.{d}f}{suffix}"

    def build_table(key):
        table = []
        for d in datasets:
            for hidden in configs:
                for m in methods:
                    per_seed = []
                    for seed in seeds:
                        full = series(d, hidden, seed, "full")
                        if not full or not series(d, hidden, seed, m):
                            continue
                        target = final_accuracy(full) - 0.01
                        f, hit = reach(full, target, key), reach(series(d, hidden, seed, m), target, key)
                        per_seed.append({"target": target, "full_final": final_accuracy(full), "hit": hit,
                                         "speedup": f["seconds"] / hit["seconds"] if f and hit and hit["seconds"] > 0 else None})
                    if per_seed:
                        table.append({"dataset": d, "hidden": hidden, "method": m, "seeds": per_seed})
        return table

    written = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = ["# bench_mlp: the network learner (sampled steps, CREST-style coresets) vs full-data mini-batch SGD (mnist, fashion-mnist)", "",
             "Commands: " + "; ".join(f"`{c}`" for c in dict.fromkeys(r.get("command", "?") for r in rows)) + " (after `python3 tools/bench_mlp/fashion_mnist.py`, which needs Debian's `dataset-fashion-mnist`).", "",
             f"Runs started {', '.join(runs)} (this report written {written}) on a 2-core machine shared with other agents' builds "
             + (f"(load average {load_before} before, {load_after} after). " if not args.report_only else
                f"({load_after} load average when this report was written). ") +
             "Times are CPU seconds of the training thread, so the load inflates them less than wall time (kept in results.jsonl); "
             "all methods of one data set, network and seed ran in one process, one after the other.", "",
             f"Setup: train 60,000 -> test 10,000, pixels/255; softmax MLP, ReLU hidden layers; every method: mini-batch B = 128, SGD "
             f"momentum 0.9, L2 1e-5, step size {args.eta:g} decayed exponentially to 5% over a budget of {args.epochs:g} full-data epochs "
             "(the same clock, in steps, for all). Each step is one SGD step on at most B records. Full-data mini-batch SGD (shuffled passes) "
             "and uniform random mini-batches are the same procedure, so one row. Target: full data's final accuracy (its own weights at "
             "the end of the budget, same seed) minus 1 point; time to target counts selection, checks, skipped work and the upkeep of the "
             "weight average; full runs the whole budget, the others stop once both readings below reached the target.", "",
             f"Evaluations: every {args.eval_every} steps over the whole budget, the same schedule for every method, read two ways: "
             "**raw** (the network's own weights, the earlier protocol) and **averaged** (an exponential moving average of the weights, "
             f"beta {args.ema:g}, kept by the bench for every method alike, full data included). On fashion-mnist the raw test accuracy "
             "moves by +-0.5 point from one evaluation to the next near the target, so the raw crossing is partly luck; the average "
             "takes most of that noise out. Where the two protocols disagree on a verdict, the protocol decides it (see NOTES.md).", "",
             "Methods: **full-skip**: full data, a record whose loss is below 0.05 at its forward pass skips its backward pass. "
             "**crest-pprune-sb** (`--minibatches sampled --prune-factor 2`, opt-in): plain shuffled "
             "passes, each step the next B records; proportional pruning (a record whose error e = 1 - p_y was cached from its last forward "
             "pass is kept in its step with probability q = min(1, max(0.1, e / (2 mean e))) and weighs 1/q; a record left out costs no "
             "forward pass; the first pass is plain) and sampled backward passes (after a record's forward pass its backward pass is taken "
             "with probability q = min(1, g / (2 mean g)), g = w (1 - p_y), and its gradient weighted 1/q); both unbiased; no drops, no skip, "
             "no facility location. **crest-prune-sb** (`--minibatches sampled`, the default of `coreset run --model mlp`): the same with InfoBatch-style pruning instead (a record whose "
             "cached error is below the pass mean is left out with probability 0.5; kept ones weigh 2). **crest-sb**: the same "
             "without the pruning (full-sb: the same in the bench's own loop). **crest-cached** (the earlier default): each step reduces "
             "the next 512 records to 128 by per-class facility location on last-layer proxies cached from their last forward pass, "
             "weights = nearest counts, records with loss < 0.1 at 2 visits in a row leave the passes, plus the skip. "
             "**crest-cached-sb**: the same plus the sampled backward passes. "
             "**crest-cached-noskip**, **crest-fresh**: see NOTES.md.", ""]
    for name, key, what in PROTOCOLS:
        if name == "averaged" and not any("raw_accuracy" in r for r in rows):
            continue  # rows from runs without a weight average: only the raw reading exists
        table = build_table(key)
        lines += [f"## Protocol: {name} ({what})", "",
                  "| data set | hidden | method | speed-up vs full (median) | per seed | time to target s (median) | steps to target (median) | target (median) |",
                  "|---|---|---|---|---|---|---|---|"]
        for t in table:
            s_ = t["seeds"]
            hits = [x["hit"] for x in s_]
            per = " / ".join(fmt(x["speedup"], 2, "x") for x in s_)
            lines.append(f"| {t['dataset']} | {t['hidden']} | {LABELS.get(t['method'], t['method'])} | "
                         f"**{fmt(med([x['speedup'] for x in s_]), 2, 'x')}** | {per} | "
                         f"{fmt(med([h['seconds'] if h else None for h in hits]))} | "
                         f"{fmt(med([h['steps'] if h else None for h in hits]), 0)} | {fmt(med([x['target'] for x in s_]), 4)} |")
        lines.append("")
    table = build_table("raw_accuracy")
    lines.append("Full data's final accuracy per seed: " + "; ".join(
        f"{t['dataset']} mlp:{t['hidden']} " + " / ".join(f"{x['full_final']:.4f}" for x in t["seeds"])
        for t in table if t["method"] == "full") + ".")
    lines.append("")
    lines.append("Plot: `accuracy_vs_time.png` (test accuracy against training CPU time, seed 1; solid: averaged, dotted: raw). "
                 "Raw evaluations: `results.jsonl` (not committed). What each approach gave, the sweeps behind the defaults and where "
                 "the time goes: `NOTES.md`.")
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
    panels = [(d, h) for d in datasets for h in configs if any(r["dataset"] == d and r["hidden"] == h for r in rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    colors = {"full": "black", "full-skip": "tab:gray", "full-sb": "tab:olive", "crest-sb": "tab:green", "crest-cached": "tab:red",
              "crest-cached-sb": "tab:purple", "crest-prune-sb": "tab:brown", "crest-pprune-sb": "tab:pink", "crest-cached-noskip": "tab:orange", "crest-fresh": "tab:blue"}
    for ax, (d, hidden) in zip(axes[0], panels):
        seed = seeds[0]
        full = series(d, hidden, seed, "full")
        if not full:
            continue
        target = final_accuracy(full) - 0.01
        for m in methods:
            s = series(d, hidden, seed, m)
            ax.plot([r["seconds"] for r in s], [r["test_accuracy"] for r in s], color=colors.get(m), label=m)
            if any("raw_accuracy" in r for r in s):
                ax.plot([r["seconds"] for r in s], [r.get("raw_accuracy") for r in s], color=colors.get(m), linestyle=":", linewidth=0.8)
        ax.axhline(target, color="gray", linestyle="--", label="target (full - 1 pt)")
        ax.set_ylim(target - 0.06, final_accuracy(full) + 0.01)
        first = reach(full, target, "test_accuracy")
        ax.set_xlim(0, 2.5 * (first or full[-1])["seconds"])
        ax.set_xlabel("training CPU time, s (selection included)")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{d}, mlp:{hidden}, seed {seed}")
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "accuracy_vs_time.png"), dpi=110)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What selection costs against reading: `coreset select` and `coreset run` side by side with their yardsticks.

Usage (from the repository root):

    python3 tools/bench_cost/bench_cost.py [--data ../shared/data] [--repeats 3] [--quick] [--skip-build]

Yardsticks (issue 22): `zstd -dc FILE | wc -l` and `coreset stats FILE` (reading), and `coreset run --memory
reservoir` (a uniform replay memory of the same k). Against them, on census_kdd and mnist (train files):

  select, feature space   `select -k K` at its defaults (sample-greedy) and with `--algorithm sieve++` (the
                          default before 2026-12-07: Sieve-Streaming++ with the candidate screen), K = 100 ... 20,000;
  select, gradient space  the same with `--model M` (a model trained by `coreset train` beforehand, not timed);
  run                     `run -k K` at its defaults, and with `--algorithm sieve++`, against `run -k K --memory
                          reservoir`, K = 1%, 10% of the stream and 10,000: wall time and peak RSS.

Every command is run `--repeats` times, interleaved (configuration by configuration within a round), each its own
process; the tables give medians and ratios of medians. Selection time is counted whole: the wall time of the
command from the compressed file to the written coreset. Writes tools/bench_cost/RESULTS.md and
tools/bench_cost/cost_vs_k.png (matplotlib, when installed); raw rows in tools/out/bench_cost/rows.json.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tools", "out", "bench_cost")
BIN = os.path.join(ROOT, ".build", "release", "coreset")
DATASETS = [("census_kdd", "census_kdd/census_kdd.train.svm.zst"), ("mnist", "mnist/mnist.train.svm.zst")]
KS = [100, 300, 1000, 3000, 10000, 20000]
QUICK_KS = [100, 1000, 10000]
RUN_KS = ["1%", "10%", "10000"]


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def timed(cmd, shell=False):
    """Wall seconds and peak RSS (MiB) of one child process; stdout discarded."""
    t0 = time.monotonic()
    # stderr to a file, not a pipe: a child that writes more than a pipe holds would block before wait4 returns.
    with open(os.path.join(OUT, "last_stderr.txt"), "w+b") as errf:
        p = subprocess.Popen(cmd, shell=shell, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.monotonic() - t0
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(err)
        raise SystemExit(f"failed ({code}): {cmd if shell else ' '.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024.0


def run_k(label, n):
    """The k of a run label: "1%" of n records, or a count."""
    return max(1, n * int(label[:-1]) // 100) if label.endswith("%") else int(label)


def expensive(name, n):
    """The k of a command that costs minutes at large k (the sieve++ select, a coreset run), else 0."""
    parts = name.split()
    if parts[0] == "select" and "sieve++" in name:
        return int(parts[1][2:])
    if parts[0] == "run" and "reservoir" not in name:
        return run_k(parts[1][2:], n)
    return 0


def records_in(path):
    out = subprocess.run(f"zstd -dc '{path}' | wc -l", shell=True, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="k = 100, 1000, 10000 only")
    ap.add_argument("--ks", help="comma-separated budgets instead of the default grid")
    ap.add_argument("--datasets", help="comma-separated subset of census_kdd,mnist")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--bin", help="the coreset binary to time (implies --skip-build; default .build/release/coreset)")
    ap.add_argument("--once-above", type=int, default=3000,
                    help="above this k, run the sieve++ select and the coreset runs once (not --repeats times)")
    ap.add_argument("--old-max-k", type=int, default=10000,
                    help="skip `select --algorithm sieve++` above this k (census_kdd at k = 20,000 takes minutes a run)")
    ap.add_argument("--old-run-max-k", type=int, default=10000,
                    help="skip `run --algorithm sieve++` above this k (census_kdd at 10%% took 17 minutes a run)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    global BIN
    if args.bin:
        BIN, args.skip_build = os.path.abspath(args.bin), True
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True)
    ks = [int(x) for x in args.ks.split(",")] if args.ks else QUICK_KS if args.quick else KS
    datasets = [d for d in DATASETS if not args.datasets or d[0] in args.datasets.split(",")]
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()[0]
    rows = {}  # (data, name) -> list of (seconds, rss)

    def add(data, name, cmd, shell=False):
        s, m = timed(cmd, shell=shell)
        rows.setdefault((data, name), []).append((s, m))
        log(f"  {data:10s} {name:40s} {s:8.2f} s {m:8.1f} MiB")

    plan = {}
    for data, rel in datasets:
        path = os.path.join(args.data, rel)
        if not os.path.exists(path):
            log(f"skip {data}: {path} is missing")
            continue
        n = records_in(path)
        model = os.path.join(OUT, f"{data}.model.json")
        # The model for gradient space: one epoch of `coreset train`, not timed.
        subprocess.run([BIN, "train", path, "--epochs", "1", "--model-out", model, "-q"], check=True,
                       stdout=subprocess.DEVNULL)
        cmds = [("zstd -dc | wc -l", f"zstd -dc '{path}' | wc -l", True), ("stats", [BIN, "stats", path, "-q"], False),
                # The same on one parsing thread, and select without reading ahead: what the parallel reading gives
                # (helper threads run only with a core of their own: with plain text on 2 cores, not with .zst).
                ("stats one thread", [BIN, "stats", path, "-q", "--no-parallel-parsing"], False),
                ("select k=1000 one thread", [BIN, "select", "-k", "1000", path, "-q", "--no-parallel-parsing"], False)]
        plain = os.path.join(OUT, f"{data}.svm")
        subprocess.run(f"zstd -dcf '{path}' > '{plain}'", shell=True, check=True)
        cmds += [("stats plain", [BIN, "stats", plain, "-q"], False),
                 ("stats plain one thread", [BIN, "stats", plain, "-q", "--no-parallel-parsing"], False),
                 ("select k=1000 plain", [BIN, "select", "-k", "1000", plain, "-q"], False),
                 ("select k=1000 plain one thread", [BIN, "select", "-k", "1000", plain, "-q", "--no-parallel-parsing"], False)]
        old = ["--algorithm", "sieve++"]
        for k in ks:
            cmds.append((f"select k={k}", [BIN, "select", "-k", str(k), path, "-q"], False))
            cmds.append((f"select k={k} --model", [BIN, "select", "-k", str(k), "--model", model, path, "-q"], False))
            if k <= args.old_max_k:
                cmds.append((f"select k={k} sieve++", [BIN, "select", "-k", str(k), *old, path, "-q"], False))
                cmds.append((f"select k={k} --model sieve++",
                             [BIN, "select", "-k", str(k), "--model", model, *old, path, "-q"], False))
        for label in RUN_KS:
            k = run_k(label, n)
            cmds.append((f"run k={label} reservoir", [BIN, "run", "-k", str(k), "--memory", "reservoir", path, "-q"], False))
            cmds.append((f"run k={label}", [BIN, "run", "-k", str(k), path, "-q"], False))
            if k <= args.old_run_max_k:
                cmds.append((f"run k={label} sieve++", [BIN, "run", "-k", str(k), *old, path, "-q"], False))
        plan[data] = (n, cmds)
    for r in range(args.repeats):
        log(f"round {r + 1} of {args.repeats}")
        for data, (n, cmds) in plan.items():
            for name, cmd, shell in cmds:
                # The unscreened selection at the largest budgets takes minutes a run: once is enough to
                # show the trend (the table says how many runs each median has).
                if r > 0 and expensive(name, plan[data][0]) > args.once_above:
                    continue
                add(data, name, cmd, shell)

    def med(data, name, i=0):
        v = rows.get((data, name))
        return statistics.median(x[i] for x in v) if v else None

    raw = {f"{d}|{nm}": v for (d, nm), v in rows.items()}
    with open(os.path.join(OUT, "rows.json"), "w") as f:
        json.dump({"started": started.isoformat(), "rows": raw, "records": {d: plan[d][0] for d in plan}}, f, indent=1)

    md = ["# Selection cost against reading", "",
          f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
          f"`python3 tools/bench_cost/bench_cost.py{' --quick' if args.quick else ''}`; "
          f"medians of {args.repeats} interleaved runs, wall seconds of the whole command (selection counted); "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after (a shared machine: ratios within "
          f"the run hold, absolute times carry the load).", ""]
    for data, (n, _) in plan.items():
        stats = med(data, "stats")
        md += [f"## {data} ({n:,} records)", "",
               f"Reading: `zstd -dc | wc -l` {med(data, 'zstd -dc | wc -l'):.3f} s, `coreset stats` {stats:.3f} s "
               f"({stats / med(data, 'zstd -dc | wc -l'):.1f}x); parsing on one thread (`--no-parallel-parsing`): "
               f"`stats` {med(data, 'stats one thread'):.3f} s ({stats / med(data, 'stats one thread'):.2f}x the time in halves), "
               f"`select -k 1000` {med(data, 'select k=1000 one thread'):.2f} s"
               + (f" ({med(data, 'select k=1000') / med(data, 'select k=1000 one thread'):.2f}x the time reading ahead and in halves)."
                  if med(data, 'select k=1000') else ".")
               + f" Plain text: `stats` {med(data, 'stats plain'):.3f} s against {med(data, 'stats plain one thread'):.3f} s on one "
               f"thread ({med(data, 'stats plain') / med(data, 'stats plain one thread'):.2f}x), `select -k 1000` "
               f"{med(data, 'select k=1000 plain'):.2f} s against {med(data, 'select k=1000 plain one thread'):.2f} s "
               f"({med(data, 'select k=1000 plain') / med(data, 'select k=1000 plain one thread'):.2f}x).", "",
               "| k | select (default) | x stats | sieve++ (old) | x stats | old / new | --model | x stats | --model sieve++ | x stats |",
               "|---|---|---|---|---|---|---|---|---|---|"]
        for k in ks:
            a, b = med(data, f"select k={k}"), med(data, f"select k={k} sieve++")
            c, d = med(data, f"select k={k} --model"), med(data, f"select k={k} --model sieve++")
            if b is None:
                md.append(f"| {k:,} | {a:.2f} s | {a / stats:.1f}x | not run | | | {c:.2f} s | {c / stats:.1f}x | not run | |")
                continue
            once = "" if len(rows[(data, f"select k={k} sieve++")]) > 1 else " (1 run)"
            md.append(f"| {k:,} | {a:.2f} s | {a / stats:.1f}x | {b:.2f} s{once} | {b / stats:.1f}x | {b / a:.1f}x "
                      f"| {c:.2f} s | {c / stats:.1f}x | {d:.2f} s{once} | {d / stats:.1f}x |")
        md += ["", "| run | reservoir | default | x reservoir | sieve++ (old) | x reservoir | peak RSS reservoir / default |",
               "|---|---|---|---|---|---|---|"]
        for label in RUN_KS:
            k = run_k(label, n)
            r0, r1 = med(data, f"run k={label} reservoir"), med(data, f"run k={label}")
            r2 = med(data, f"run k={label} sieve++")
            m0, m1 = med(data, f"run k={label} reservoir", 1), med(data, f"run k={label}", 1)
            once = "" if len(rows[(data, f"run k={label}")]) > 1 else " (1 run)"
            old = f"{r2:.2f} s | {r2 / r0:.1f}x" if r2 else "not run | "
            md.append(f"| k = {label} ({k:,}) | {r0:.2f} s | {r1:.2f} s{once} | {r1 / r0:.1f}x | {old} "
                      f"| {m0:.0f} / {m1:.0f} MiB ({m1 / m0:.1f}x) |")
        md.append("")
    if plot(plan, ks, med, os.path.join(HERE, "cost_vs_k.png")):
        md += ["![seconds per 1,000 records against k](cost_vs_k.png)", ""]
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


def plot(plan, ks, med, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - the tables stand without the picture
        log(f"note: matplotlib unavailable ({e}); no plot")
        return False
    fig, axes = plt.subplots(1, len(plan), figsize=(6 * len(plan), 4.5), squeeze=False)
    for ax, (data, (n, _)) in zip(axes[0], plan.items()):
        per = 1000.0 / n
        for name, style in [("select k={}", "o-"), ("select k={} sieve++", "o--"),
                            ("select k={} --model", "s-"), ("select k={} --model sieve++", "s--")]:
            xs = [k for k in ks if med(data, name.format(k)) is not None]
            ax.plot(xs, [med(data, name.format(k)) * per for k in xs], style, label=name.format("K").replace("select k=K", "select") or "select")
        ax.axhline(med(data, "stats") * per, color="k", lw=1, label="coreset stats")
        ax.axhline(med(data, "zstd -dc | wc -l") * per, color="grey", lw=1, ls=":", label="zstd -dc | wc -l")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("k")
        ax.set_ylabel("seconds per 1,000 records")
        ax.set_title(f"{data} ({n:,} records)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Tuning on the coreset (issue 27, part 1): a grid of settings chosen on a small subset and refitted on all the data,
against the same grid trained on all the data. Everything side by side in one run.

Usage (from the repository root, after `swift build -c release`):

    python3 tools/bench_tuning/bench_tuning.py [--bin .build/release/coreset] [--data ../shared/data]
        [--sets census_kdd,mnist] [--pcts 1,10] [--seeds 0,1,2] [--repeats 3] [--select-args "..."]
        [--out tools/out/bench_tuning] [--tables tools/out/bench_tuning/tables.md]
        [--streams tools/out/streams] [--sources coreset,uniform] [--variants default,no-halving]

Data: the set's train file is split deterministically: every 10th record (line numbers 10, 20, ...) is the
holdout H, the rest is FIT (written uncompressed, so all methods read the same bytes). The set's test file is only
used to score the final models, never to choose. With --streams DIR the sets are the shuffled streams of
`tools/drift/make_streams.py` (DIR/NAME.train.svm, the first 80%, split into FIT and H as above; DIR/NAME.test.svm,
the last 20%, scores), so every data set of ../shared/data can be run, not only the three with a test file:
    python3 tools/drift/make_streams.py --seed 0 && python3 tools/bench_tuning/bench_tuning.py --streams tools/out/streams \
        --sets adult,aer_fertility,census_kdd,fail2ban_logs,letter,magic,mnist,satimage,shuttle --pcts 1

Grid (24 settings): --l2 1e-7,1e-6,1e-5,1e-4,1e-3,1e-2 x --eta0 0.01,0.03,0.1,0.3, 5 epochs (the default).
With --grid mlp (networks; default set mnist): --model 'mlp:32|mlp:64|mlp:128' x --eta0 0.05,0.2 x --l2 1e-5,1e-4
(12 settings, 5 epochs, mini-batches of 128, momentum 0.9: run --model mlp's defaults and eta0 4x larger), sources
coreset and uniform (sieve++ is left out), and the same train variants. --grid mlp-wide: the same widths x --eta0
0.05,0.1,0.2,0.4 x --l2 1e-5,1e-4,1e-3 (36 settings; the refit is one setting, so the speed-up grows with the grid).

Methods (wall times of whole processes, selection or sampling included):
  full      `coreset train FIT GRID --holdout H --model-out M` (the full sweep; run --repeats times)
  coreset   `coreset select -k K --seed S FIT | coreset train - GRID --holdout H --refit FIT --model-out M`
            (select's default algorithm, sample-greedy: a uniform reservoir per class, lazy greedy at read-out)
  coreset-sieve++  the same with `select --algorithm sieve++` (streaming sieves over every record, the default
            before sample-greedy; k = 1% only: at 10% on census_kdd it takes about 150 s)
  uniform   `shuf -n K --random-source=<seeded bytes> FIT | ` the same train (a uniform sample of the same
            size; its records weigh 1)
  (the default train, since 2026-12-07 late: successive halving with --refit, the best quarter again on a 4x sample
            of FIT; at 10% that sample would be most of FIT, so train skips it)
  ... no-halving  the same subset trained with `--no-halving` (the first stage's choice refitted; k = 1% only)
  ... no-l2-scaling  the same subset trained with `--no-l2-scaling` (the listed l2 values as they are)
A pipeline's time is the wall time of the pipe `PICK | coreset train - GRID --holdout H --refit FIT ...` as a
user runs it (train reads FIT while the pick works, so the pipe takes less than the two commands one after the
other); the pick alone is also timed once per seed and shown in brackets.
K is pct% of FIT; each subset pipeline runs once per seed (three seeds); medians are over seeds (or repeats).
After each run (not timed) `coreset eval --model M TEST` gives the final model's test log-loss.

Reported per set and k: median wall time and ratio full / pipeline, final test log-loss and its relative
difference to the full sweep's chosen model, and how often the pipeline chose the full sweep's setting, or a setting
whose full-data holdout loss is within 1% of the full sweep's best (from the full sweep's --sweep-out table).
Target (the issue's): within 1% test log-loss of the full sweep's best, in at least 10x less wall time at k = 1%.

Writes rows to OUT/rows.json and the tables to --tables (and stdout); RESULTS.md holds a run's tables with their
reading. Progress on stderr.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

L2S = "1e-7,1e-6,1e-5,1e-4,1e-3,1e-2"
# How each subset is picked (timed), then every train variant runs on the same subset (timed on its own).
SOURCES = [
    ("coreset", "{bin} select -q -k {k} --seed {seed} {extra} {fit}", None),
    ("coreset-sieve++", "{bin} select -q -k {k} --seed {seed} --algorithm sieve++ {extra} {fit}", 1),
    ("uniform", "shuf -n {k} --random-source=<(yes {seed}) {fit}", None),
]
# (name suffix, train options, only at this pct); --variants names them default, no-l2-scaling, no-halving.
TRAIN_VARIANTS = [("", "", None), (" no-l2-scaling", "--no-l2-scaling", None), (" no-halving", "--no-halving", 1)]
ETA0S = "0.01,0.03,0.1,0.3"
# --grid: the options of each grid, its description, and the sources it runs.
GRIDS = {
    "linear": (f"--l2 {L2S} --eta0 {ETA0S}", f"--l2 {L2S} x --eta0 {ETA0S} (24 settings, 5 epochs)",
               ["coreset", "coreset-sieve++", "uniform"]),
    "mlp": ("--model 'mlp:32|mlp:64|mlp:128' --eta0 0.05,0.2 --l2 1e-5,1e-4",
            "--model mlp:32|mlp:64|mlp:128 x --eta0 0.05,0.2 x --l2 1e-5,1e-4 (12 settings, 5 epochs, mini-batches of 128, momentum 0.9)",
            ["coreset", "uniform"]),
    "mlp-wide": ("--model 'mlp:32|mlp:64|mlp:128' --eta0 0.05,0.1,0.2,0.4 --l2 1e-5,1e-4,1e-3",
                 "--model mlp:32|mlp:64|mlp:128 x --eta0 0.05,0.1,0.2,0.4 x --l2 1e-5,1e-4,1e-3 (36 settings, 5 epochs, mini-batches of 128, momentum 0.9)",
                 ["coreset", "uniform"]),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def prepare(data, name, out, streams=None):
    """FIT and H from the train file (every 10th record to H), uncompressed; returns paths and FIT's size."""
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    fit, hold = os.path.join(d, "fit.svm"), os.path.join(d, "holdout.svm")
    if streams:
        train, test = os.path.join(streams, f"{name}.train.svm"), os.path.join(streams, f"{name}.test.svm")
    else:
        train, test = os.path.join(data, name, f"{name}.train.svm.zst"), os.path.join(data, name, f"{name}.test.svm.zst")
    if not (os.path.exists(fit) and os.path.exists(hold)):
        text = subprocess.run(["zstd", "-dcqf", train], check=True, capture_output=True).stdout.decode()
        lines = [l for l in text.split("\n") if l.strip()]
        with open(fit + ".tmp", "w") as f, open(hold + ".tmp", "w") as h:
            for i, line in enumerate(lines, 1):
                (h if i % 10 == 0 else f).write(line + "\n")
        os.replace(fit + ".tmp", fit)
        os.replace(hold + ".tmp", hold)
    with open(fit) as f:
        n = sum(1 for _ in f)
    return fit, hold, test, n


def timed(cmd):
    """Runs a bash command line (pipefail); returns (seconds, stdout)."""
    t = time.monotonic()
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    s = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError(f"failed ({p.returncode}): {cmd}\n{p.stderr[-2000:]}")
    return s, p.stdout


def summary(text):
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def test_log_loss(binary, model, test):
    _, text = timed(f"{shlex.quote(binary)} eval -q --model {shlex.quote(model)} {shlex.quote(test)}")
    s = summary(text)
    return float(s.get("eval_log_loss", s["eval_loss"]))


def read_table(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def setting_key(l2, eta0, model="linear"):
    return (float(l2), float(eta0)) if model == "linear" else (model, float(l2), float(eta0))


def describe_key(key):
    return f"l2 {key[0]:g}, eta0 {key[1]:g}" if len(key) == 2 else f"{key[0]}, l2 {key[1]:g}, eta0 {key[2]:g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release/coreset")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="linear", help="linear (the 24-setting grid), mlp (12 settings of widths) or mlp-wide (36)")
    ap.add_argument("--sets", default=None, help="default: census_kdd,mnist (linear), mnist (mlp)")
    ap.add_argument("--pcts", default="1,10")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the full sweep")
    ap.add_argument("--select-args", default="", help="extra options for coreset select")
    ap.add_argument("--out", default="tools/out/bench_tuning")
    ap.add_argument("--streams", default=None, help="read NAME.train.svm / NAME.test.svm of make_streams.py from this folder")
    ap.add_argument("--sources", default=None, help="subset sources to run (default: the grid's: coreset, coreset-sieve++, uniform)")
    ap.add_argument("--variants", default="default,no-l2-scaling,no-halving", help="train variants to run")
    ap.add_argument("--tables", default=None, help="where the generated tables go (default: OUT/tables.md, mlp: OUT/tables-mlp.md)")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    os.makedirs(a.out, exist_ok=True)
    grid, grid_text, sources = GRIDS[a.grid]
    if a.sources:
        sources = [x for x in sources if x in a.sources.split(",")]
    variants = [v for v in TRAIN_VARIANTS if (v[0].strip() or "default") in a.variants.split(",")]
    a.sets = a.sets or ("census_kdd,mnist" if a.grid == "linear" else "mnist")
    suffix = "" if a.grid == "linear" else "-" + a.grid
    a.tables = a.tables or os.path.join(a.out, f"tables{suffix}.md")
    rows_path = os.path.join(a.out, f"rows{suffix}.json")
    rows = []
    sections = []
    for name in a.sets.split(","):
        fit, hold, test, n = prepare(a.data, name, a.out, a.streams)
        d = os.path.join(a.out, name)
        q = shlex.quote
        # (a) the full sweep.
        full_times, full_losses = [], []
        table_path = os.path.join(d, f"full_sweep{suffix}.tsv")
        for r in range(a.repeats):
            model = os.path.join(d, f"full{suffix}.json")
            s, text = timed(f"{q(binary)} train -q {q(fit)} {grid} --holdout {q(hold)} --model-out {q(model)} --sweep-out {q(table_path)}")
            loss = test_log_loss(binary, model, test)
            chosen = summary(text)
            full_times.append(s)
            full_losses.append(loss)
            rows.append(dict(set=name, grid=a.grid, method="full", pct=100, seed=r, seconds=s, test_log_loss=loss,
                             model=chosen.get("chosen_model", "linear"), l2=chosen["chosen_l2"], eta0=chosen["chosen_eta0"]))
            log(f"{name} full #{r}: {s:.2f} s, test log-loss {loss:.6f}, chose {chosen.get('chosen_model', 'linear')} l2 {chosen['chosen_l2']} eta0 {chosen['chosen_eta0']}")
        table = read_table(table_path)
        full_holdout = {setting_key(t["l2"], t["eta0"], t.get("model", "linear")): float(t["holdout_loss"]) for t in table}
        best_holdout = min(full_holdout.values())
        full_choice = next(setting_key(t["l2"], t["eta0"], t.get("model", "linear")) for t in table if t["chosen"] == "1")
        full_time = statistics.median(full_times)
        full_loss = statistics.median(full_losses)
        cells = []
        for pct in [int(p) for p in a.pcts.split(",")]:
            k = max(1, round(n * pct / 100))
            acc = {}
            for seed in [int(x) for x in a.seeds.split(",")]:
                for source, head, only_pct in SOURCES:
                    if (only_pct is not None and pct != only_pct) or source not in sources:
                        continue
                    subset = os.path.join(d, f"{source}-{pct}-{seed}.svm")
                    cmd = head.format(bin=q(binary), k=k, seed=seed, fit=q(fit), extra=a.select_args) + f" > {q(subset)}"
                    pick_seconds, _ = timed(cmd)
                    for variant, train_args, variant_pct in variants:
                        if variant_pct is not None and pct != variant_pct:
                            continue
                        method = f"{source}{variant}"
                        model = os.path.join(d, f"{method}-{pct}-{seed}{suffix}.json")
                        # Timed as the user runs it: the pick piped into train, one process after the other
                        # in time only as far as train has to wait for its input (it reads the refit data
                        # meanwhile). The subset file above is the same subset (the pick is seeded).
                        pipe = head.format(bin=q(binary), k=k, seed=seed, fit=q(fit), extra=a.select_args)
                        total, text = timed(f"{pipe} | {q(binary)} train -q - {grid} --holdout {q(hold)} --refit {q(fit)} "
                                            f"--model-out {q(model)} {train_args}")
                        s = total - pick_seconds
                        loss = test_log_loss(binary, model, test)
                        chosen = summary(text)
                        key = setting_key(chosen["chosen_l2"], chosen["chosen_eta0"], chosen.get("chosen_model", "linear"))
                        is_same, is_within = key == full_choice, full_holdout[key] <= 1.01 * best_holdout
                        rows.append(dict(set=name, grid=a.grid, method=method, pct=pct, k=k, seed=seed, seconds=total, pick_seconds=pick_seconds,
                                         train_seconds=s, test_log_loss=loss, model=chosen.get("chosen_model", "linear"),
                                         l2=chosen["chosen_l2"], eta0=chosen["chosen_eta0"], same_as_full=is_same, within_1pct=is_within))
                        acc.setdefault(method, []).append((total, loss, is_same, is_within, pick_seconds))
                        log(f"{name} {method} {pct}% seed {seed}: {total:.2f} s (pick {pick_seconds:.2f} s; {full_time / total:.1f}x), "
                            f"test log-loss {loss:.6f} ({(loss - full_loss) / full_loss * 100:+.2f}%), chose {describe_key(key)} "
                            f"(same {is_same}, within 1% {is_within})")
                        with open(rows_path, "w") as f:
                            json.dump(rows, f, indent=1)
            for method, runs in acc.items():
                t = statistics.median(r[0] for r in runs)
                l = statistics.median(r[1] for r in runs)
                pick = statistics.median(r[4] for r in runs)
                cells.append((pct, k, method, t, full_time / t, l, (l - full_loss) / full_loss,
                              sum(r[2] for r in runs), sum(r[3] for r in runs), len(runs), pick))
        sections.append((name, n, full_time, full_loss, full_choice, cells))
    with open(rows_path, "w") as f:
        json.dump(rows, f, indent=1)
    lines = [
        "# Tuning on the coreset: results", "",
        f"Generated by `python3 tools/bench_tuning/bench_tuning.py {' '.join(shlex.quote(x) for x in sys.argv[1:])}` on "
        f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other jobs: wall times are noisy).", "",
        f"Grid: {grid_text}. Holdout: every 10th train record. "
        "Wall time: whole processes, selection or sampling included (a pipeline: its pick command plus its train); "
        "medians over seeds (pipelines) or repeats (full sweep). Test log-loss of the model written, scored by `coreset eval` on the set's test file.", "",
    ]
    for name, n, full_time, full_loss, full_choice, cells in sections:
        lines += [f"## {name} (FIT = {n} records)", "",
                  f"Full sweep: {full_time:.2f} s, test log-loss {full_loss:.6f}, chose {describe_key(full_choice)}.", "",
                  "| k | records | pipeline | wall s (pick s) | speed-up vs full | test log-loss | vs full's best | chose full's setting | chose within 1% |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for pct, k, method, t, ratio, l, rel, same, within, runs, pick in cells:
            lines.append(f"| {pct}% | {k} | {method} | {t:.2f} ({pick:.2f}) | {ratio:.1f}x | {l:.6f} | {rel * 100:+.2f}% | {same}/{runs} | {within}/{runs} |")
        lines.append("")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.tables:
        with open(a.tables, "w") as f:
            f.write(text)
        log(f"tables written to {a.tables} (tools/bench_tuning/RESULTS.md holds them with their reading)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Replay-memory grid (issue 23): coreset replay against a uniform reservoir and against no replay, on every stream.

Usage (from the repository root):

    python3 tools/bench_replay/bench_replay.py [--bin .build/release/coreset] [--data ../shared/data]
        [--streams all|shuffled|drifting|NAME,NAME,...] [--seeds 0 1 2] [--ks 1 10] [--quick]
        [--timeout SECONDS] [--resume] [--report-only] [--results tools/bench_replay/RESULTS.md]
        [--out tools/out/bench_replay]

Streams: the nine data sets of ../shared/data shuffled, and the drifting streams, all built by
tools/drift/make_streams.py (its docstring says what each one is) into tools/out/streams/seed<S>/. Each stream is
cut in stream order: train on the first 80%, test on the last 20%.

Per stream, seed S and k (a percentage of the training part, k = round(n_train x pct / 100)), three runs of
`coreset run TRAIN --test TEST -q --seed S`, sequentially:

  coreset    `-k K` at its defaults (online learning + replay of the weighted coreset);
  reservoir  `-k K --memory reservoir` (online + replay of a uniform reservoir of the same k);
  online     `--mode online-only` (one pass, no memory). It ignores k and --seed, so it is run once per stream and
             seed and its row serves both k cells;
  coreset_nodrift  `-k K --drift off`: the coreset without the drift guard, to show what the guard does (skip it
             with --no-drift-off). The headline compares the defaults: both memories run with the guard.
  full       `coreset train TRAIN --test TEST -q` (5 epochs over the whole training part, no memory bound), once
             per stream and seed: the headroom column, (reservoir - full) / reservoir, is the most a memory could
             gain on a cell if replaying it were as good as training on everything.

The seed is passed to `coreset run --seed` (selector / reservoir sampling) AND chooses the stream's order (a
different shuffle per seed for the shuffled streams; for the drifting ones, the order within ties of the sort key
and the interleaving of the mnist blocks), so the spread over seeds includes data order. Runs are asynchronous
(ingest, selection and learning on their own threads), so even one seed is not bit-reproducible.

Measured per run (parsed from the `name<TAB>value` lines on stdout): test_loss (log-loss of the final model on the
test part), test_accuracy, progressive_loss (each record scored before it is learned, over the whole training part;
reported for every stream, the headline for drifting ones), the run's own `seconds`, and the wall time and peak RSS
of the process as measured here.

Per cell (stream, k): mean and min-max over seeds for each method; the cell's spread is the larger min-max range of
coreset and reservoir; verdict: coreset WINS when its mean is lower than the reservoir's by more than the spread,
LOSES when higher by more than the spread, else TIE. Summary against the issue's targets: coreset lower than the
reservoir in >= 80% of cells, never worse by more than the spread, >= 3% lower on average (mean relative difference
(coreset - reservoir) / reservoir), lower than online-only in every cell.

--quick: seeds 0, k = 1%, the small streams only (adult, fail2ban_logs, letter, magic, satimage and the drifting
adult_by_age, letter_by_xbox, magic_by_length); flags given explicitly win.

Writes raw rows to tools/out/bench_replay/rows.json (rewritten after every run; --resume reuses rows of the same
binary, stream, seed, k and method), tools/bench_replay/RESULTS.md and tools/bench_replay/rel_diff.png. Progress
on stderr.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import selectors
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "drift"))
import make_streams  # noqa: E402

OUT = os.path.join(ROOT, "tools", "out", "bench_replay")
STREAM_OUT = os.path.join(ROOT, "tools", "out", "streams")
DEFAULT_BIN = os.path.join(ROOT, ".build", "release", "coreset")
METHODS = ["coreset", "reservoir", "online", "coreset_nodrift", "full"]
# Methods that ignore k: run once per stream and seed, shared by both k cells.
K_FREE = {"online", "full"}
METHOD_FLAGS = {"coreset": [], "reservoir": ["--memory", "reservoir"], "online": ["--mode", "online-only"],
                "coreset_nodrift": ["--drift", "off"]}
QUICK_STREAMS = ["adult", "fail2ban_logs", "letter", "magic", "satimage",
                 "adult_by_age", "letter_by_xbox", "magic_by_length"]
NUMERIC = {"test_loss", "test_accuracy", "test_auc", "progressive_loss", "progressive_accuracy", "seconds",
           "records_accepted", "records_skipped", "memory_size", "stored_elements", "reselections",
           "learner_steps", "test_records"}


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rel(path):
    """Path relative to the repository root when inside it, else absolute."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def run_timed(binary, train, test, method, k, seed, timeout, run_args=()):
    """One `coreset run`: the parsed `name<TAB>value` summary, wall seconds and the child's peak RSS (os.wait4)."""
    if method == "full":
        # The headroom: `coreset train` on the whole training part (5 epochs, its defaults), what no memory of
        # k records is expected to beat on a shuffled stream.
        cmd = [binary, "train", train, "--test", test, "-q"]
    else:
        cmd = [binary, "run", train, "--test", test, "-q", "--seed", str(seed)] + METHOD_FLAGS[method]
    if method not in K_FREE:
        cmd += ["-k", str(k)] + list(run_args)
    t0 = time.monotonic()
    with open(os.devnull, "rb") as devnull:
        p = subprocess.Popen(cmd, stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = None if timeout is None else t0 + timeout
    chunks_out, chunks_err = [], []
    # read both pipes as they fill (no deadlock), until both close or the timeout
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, chunks_out)
    sel.register(p.stderr, selectors.EVENT_READ, chunks_err)
    timed_out = False
    while sel.get_map():
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        events = sel.select(timeout=wait)
        if not events and deadline is not None and time.monotonic() >= deadline:
            p.kill()
            timed_out = True
            break
        for key, _ in events:
            data = os.read(key.fileobj.fileno(), 1 << 16)
            if data:
                key.data.append(data)
            else:
                sel.unregister(key.fileobj)
    sel.close()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    p.stderr.close()
    wall = time.monotonic() - t0
    row = {"wall": wall, "rss_mb": usage.ru_maxrss / 1024.0, "cmd": [rel(c) if os.path.isabs(c) else c for c in cmd]}
    if timed_out:
        row["status"] = "timeout"
        return row
    row["status"] = "ok" if p.returncode == 0 else f"exit {p.returncode}"
    for line in b"".join(chunks_out).decode(errors="replace").splitlines():
        name, sep, value = line.partition("\t")
        if not sep:
            continue
        try:
            row[name] = float(value) if name in NUMERIC else value
        except ValueError:
            row[name] = value
    err = b"".join(chunks_err).decode(errors="replace")
    warnings = [l for l in err.splitlines() if l.startswith("warning")]
    if warnings:
        row["warnings"] = warnings[:10]
    if p.returncode != 0:
        row["stderr"] = err[-2000:]
    return row


# ------------------------------------------------------------------------------------------------ summary

def stats(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values), "n": len(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def cells_of(rows, streams, ks):
    """Per (stream, k pct) the per-method stats and the comparison."""
    ok = [r for r in rows if r.get("status") == "ok"]
    cells = []
    for s in streams:
        for pct in ks:
            by = {}
            for m in METHODS:
                rs = [r for r in ok if r["stream"] == s and r["method"] == m
                      and (m in K_FREE or r["k_pct"] == pct)]
                by[m] = rs
            if not by["coreset"] or not by["reservoir"]:
                continue
            cell = {"stream": s, "kind": by["coreset"][0]["kind"], "k_pct": pct, "k": by["coreset"][0]["k"],
                    "n_train": by["coreset"][0]["n_train"]}
            for metric in ("test_loss", "progressive_loss", "wall", "test_accuracy", "rss_mb", "memory_size"):
                cell[metric] = {m: stats([r.get(metric) for r in by[m]]) for m in METHODS}
            for metric in ("test_loss", "progressive_loss"):
                c, r, o = (cell[metric][m] for m in ("coreset", "reservoir", "online"))
                spread = max(c["max"] - c["min"], r["max"] - r["min"])
                diff = c["mean"] - r["mean"]
                verdict = "win" if -diff > spread else ("loss" if diff > spread else "tie")
                seeds_c = {x["seed"]: x.get(metric) for x in by["coreset"]}
                seeds_r = {x["seed"]: x.get(metric) for x in by["reservoir"]}
                paired = [(seeds_c[sd] - seeds_r[sd]) / seeds_r[sd] for sd in sorted(seeds_c) if sd in seeds_r]
                f = cell[metric].get("full")
                cell[metric + "_cmp"] = {
                    # (reservoir - full data) / reservoir: the largest gain a memory could show here if it
                    # matched training on everything.
                    "headroom": None if f is None else (r["mean"] - f["mean"]) / r["mean"],
                    "diff": diff, "rel": diff / r["mean"], "spread": spread, "verdict": verdict,
                    "paired_rel": paired, "paired_wins": sum(1 for x in paired if x < 0),
                    "beats_online": (o is not None and c["mean"] < o["mean"]),
                    "reservoir_beats_online": (o is not None and r["mean"] < o["mean"]),
                }
            wc, wr = cell["wall"]["coreset"], cell["wall"]["reservoir"]
            cell["time_ratio"] = wc["mean"] / wr["mean"] if wr["mean"] > 0 else float("nan")
            cells.append(cell)
    return cells


def summary(cells, metric):
    cs = [c for c in cells if c[metric + "_cmp"] is not None]
    if not cs:
        return None
    cmp = [c[metric + "_cmp"] for c in cs]
    n = len(cs)
    lower = sum(1 for x in cmp if x["diff"] < 0)
    out = {
        "cells": n, "lower": lower, "share_lower": lower / n,
        "wins": sum(1 for x in cmp if x["verdict"] == "win"), "ties": sum(1 for x in cmp if x["verdict"] == "tie"),
        "losses": sum(1 for x in cmp if x["verdict"] == "loss"),
        "mean_rel": statistics.fmean(x["rel"] for x in cmp),
        "median_rel": statistics.median(x["rel"] for x in cmp),
        "beats_online": sum(1 for x in cmp if x["beats_online"]),
        "reservoir_beats_online": sum(1 for x in cmp if x["reservoir_beats_online"]),
    }
    heads = [x["headroom"] for x in cmp if x["headroom"] is not None]
    if heads:
        out["headroom_mean"] = statistics.fmean(heads)
        out["headroom_median"] = statistics.median(heads)
        out["headroom_under_3pct"] = sum(1 for h in heads if h < 0.03)
        out["headroom_cells"] = len(heads)
    out["targets"] = {
        "coreset lower than reservoir in >= 80% of cells": out["share_lower"] >= 0.8,
        "never worse than reservoir by more than the spread": out["losses"] == 0,
        "mean relative difference <= -3%": out["mean_rel"] <= -0.03,
        "coreset lower than online-only in every cell": out["beats_online"] == n,
    }
    return out


def fmt_stat(s, digits=4):
    if s is None:
        return "–"
    if s["n"] == 1:
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def fmt_pct(x):
    return f"{100 * x:+.2f}%"


def table(cells, metric, title):
    lines = [f"| stream | k | coreset | reservoir | online-only | coreset vs reservoir | spread | verdict "
             f"| seeds coreset < reservoir | coreset < online-only | coreset, --drift off | full data (train) | headroom |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        x = c[metric + "_cmp"]
        m = c[metric]
        lines.append(
            f"| {c['stream']} | {c['k_pct']:g}% ({c['k']:,}) | {fmt_stat(m['coreset'])} | {fmt_stat(m['reservoir'])} "
            f"| {fmt_stat(m['online'])} | {fmt_pct(x['rel'])} ({x['diff']:+.4f}) | {x['spread']:.4f} "
            f"| **{x['verdict']}** | {x['paired_wins']}/{len(x['paired_rel'])} "
            f"| {'yes' if x['beats_online'] else 'NO'} | {fmt_stat(m.get('coreset_nodrift'))} "
            f"| {fmt_stat(m.get('full'))} | {'–' if x['headroom'] is None else fmt_pct(x['headroom'])} |")
    return [f"### {title}", ""] + lines + [""]


def time_table(cells):
    lines = ["| stream | k | coreset wall s | reservoir wall s | online-only wall s | coreset / reservoir "
             "| coreset peak RSS MB | reservoir peak RSS MB | coreset memory_size |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        w = c["wall"]
        rss = c["rss_mb"]
        lines.append(f"| {c['stream']} | {c['k_pct']:g}% ({c['k']:,}) | {fmt_stat(w['coreset'], 2)} "
                     f"| {fmt_stat(w['reservoir'], 2)} | {fmt_stat(w['online'], 2)} | {c['time_ratio']:.1f}x "
                     f"| {rss['coreset']['max']:.0f} | {rss['reservoir']['max']:.0f} "
                     f"| {fmt_stat(c['memory_size']['coreset'], 0)} |")
    return lines


def summary_lines(s, label):
    if s is None:
        return []
    t = s["targets"]
    mark = {True: "met", False: "NOT met"}
    return [
        f"**{label}** ({s['cells']} cells)",
        "",
        f"- coreset lower than reservoir (mean over seeds): {s['lower']}/{s['cells']} cells "
        f"= {100 * s['share_lower']:.0f}% (target >= 80%: {mark[t['coreset lower than reservoir in >= 80% of cells']]})",
        f"- verdicts: {s['wins']} win, {s['ties']} tie, {s['losses']} loss "
        f"(target: no loss beyond the spread: {mark[t['never worse than reservoir by more than the spread']]})",
        f"- mean relative difference (coreset - reservoir) / reservoir: {fmt_pct(s['mean_rel'])} "
        f"(median {fmt_pct(s['median_rel'])}; target <= -3%: {mark[t['mean relative difference <= -3%']]})",
        f"- coreset lower than online-only: {s['beats_online']}/{s['cells']} cells "
        f"(target: all: {mark[t['coreset lower than online-only in every cell']]}); "
        f"reservoir lower than online-only: {s['reservoir_beats_online']}/{s['cells']}",
    ] + ([
        f"- headroom, (reservoir - full data) / reservoir with `coreset train` on the whole training part: mean "
        f"{fmt_pct(s['headroom_mean'])} (median {fmt_pct(s['headroom_median'])}); under 3% in "
        f"{s['headroom_under_3pct']}/{s['headroom_cells']} cells, where even a memory as good as all the data "
        f"would miss the -3% target",
    ] if "headroom_mean" in s else []) + [
        "",
    ]


def plot(cells, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001
        log(f"  no plot ({e})")
        return False
    panels = [("test_loss", "test log-loss (last 20%)", cells),
              ("progressive_loss", "progressive loss (drifting streams)", [c for c in cells if c["kind"] != "shuffled"])]
    panels = [p for p in panels if p[2]]
    height = max(2.5, 0.32 * max(len(p[2]) for p in panels) + 1.2)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), height), squeeze=False)
    colors = {"win": "#2a9d4b", "tie": "#9a9a9a", "loss": "#d1432f"}
    for ax, (metric, title, cs) in zip(axes[0], panels):
        labels = [f"{c['stream']} k={c['k_pct']:g}%" for c in cs][::-1]
        cmp = [c[metric + "_cmp"] for c in cs][::-1]
        vals = [100 * x["rel"] for x in cmp]
        # The bar is the relative difference of the means, the whiskers the range of the per-seed differences;
        # the mean's difference need not lie inside that range, so a whisker may be empty (never negative).
        lo = [max(0.0, 100 * (x["rel"] - min(x["paired_rel"]))) if x["paired_rel"] else 0 for x in cmp]
        hi = [max(0.0, 100 * (max(x["paired_rel"]) - x["rel"])) if x["paired_rel"] else 0 for x in cmp]
        y = range(len(cs))
        ax.barh(list(y), vals, color=[colors[x["verdict"]] for x in cmp], xerr=[lo, hi], capsize=2,
                error_kw={"elinewidth": 0.8, "ecolor": "#333"})
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.axvline(-3, color="#2a9d4b", linewidth=0.8, linestyle="--")
        ax.set_xlabel("(coreset - reservoir) / reservoir, %  (< 0: coreset better)")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[v]) for v in ("win", "tie", "loss")]
    fig.legend(handles, ["win (beyond spread)", "tie (within spread)", "loss (beyond spread)"],
               loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("coreset replay vs uniform reservoir, per cell (mean over seeds; whiskers: per-seed paired range)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_results(path, rows, streams, seeds, ks, info):
    cells = cells_of(rows, streams, ks)
    shuffled = [c for c in cells if c["kind"] == "shuffled"]
    drifting = [c for c in cells if c["kind"] != "shuffled"]
    png = os.path.join(os.path.dirname(path), "rel_diff.png")
    has_plot = plot(cells, png) if cells else False
    failed = [r for r in rows if r.get("status") != "ok"]
    full = (set(streams) == set(make_streams.STREAMS) and sorted(seeds) == [0, 1, 2] and sorted(ks) == [1, 10])
    L = ["# Replay memory: coreset vs uniform reservoir vs online-only (issue 23)", ""]
    if not full:
        L += ["> **Subset run, not the full grid**: streams, seeds or k differ from the defaults "
              "(see the command). The full grid: `python3 tools/bench_replay/bench_replay.py`.", ""]
    L += [
        f"Command (repository root): `{info['command']}`",
        "",
        f"- Date: {info['date']} UTC; the whole benchmark {duration(info['seconds'])}, every run sequential.",
        f"- Binary: `{info['bin']}` (sha256 {info['bin_sha'][:12]}, `{info['version']}`); repository at "
        f"{info['commit']}.",
        f"- Machine: {info['machine']}; load average {info['load_before']} before, {info['load_after']} after "
        f"(shared machine: wall times carry that noise).",
        f"- Streams ({len(streams)}): {', '.join(streams)}; built by `tools/drift/make_streams.py --seed S` "
        f"(train = first 80%, test = last 20% in stream order). Seeds: {' '.join(map(str, seeds))} "
        f"(each seed is both `coreset run --seed` and the stream's order). k: {', '.join(f'{k:g}%' for k in ks)} of "
        f"the training part.",
        "- Methods: `coreset run TRAIN --test TEST -q --seed S` with `-k K` (coreset: defaults, online + coreset "
        "replay), `-k K --memory reservoir` (online + uniform reservoir replay), `--mode online-only` (one pass; "
        "run once per stream and seed, shared by both k cells); both memories run at the defaults, drift guard "
        "included. Column 'coreset, --drift off': the coreset run with `--drift off`, the guard's effect.",
        "- Cells: mean over seeds, (min–max) in brackets. Spread = the larger min–max range of coreset and "
        "reservoir. Verdict: win = coreset mean lower by more than the spread, loss = higher by more than the "
        "spread, tie otherwise (with one seed the spread is 0, so every difference is a win or a loss). "
        "'seeds coreset < reservoir' pairs the runs of the same seed (same stream order).",
        f"- Runs: {len(rows)}, failed or timed out: {len(failed)}.",
        "",
        "## Summary (test log-loss)",
        "",
    ]
    L += summary_lines(summary(cells, "test_loss"), "All cells")
    if shuffled and drifting:
        L += summary_lines(summary(shuffled, "test_loss"), "Shuffled streams")
        L += summary_lines(summary(drifting, "test_loss"), "Drifting streams")
    if drifting:
        L += ["## Summary (progressive loss, drifting streams)", ""]
        L += summary_lines(summary(drifting, "progressive_loss"), "Drifting streams")
    if cells:
        ratios = [c["time_ratio"] for c in cells]
        tot_c = sum(c["wall"]["coreset"]["mean"] for c in cells)
        tot_r = sum(c["wall"]["reservoir"]["mean"] for c in cells)
        L += ["## Wall time", "",
              f"Coreset / reservoir wall time per cell: median {statistics.median(ratios):.1f}x, "
              f"range {min(ratios):.1f}x–{max(ratios):.1f}x; summed over cells {tot_c:.1f} s against "
              f"{tot_r:.1f} s ({tot_c / tot_r:.1f}x). Wall time is the whole process (reading, selection, "
              "learning, test evaluation).", ""]
    if has_plot:
        L += ["## Plot", "", "![relative difference per cell](rel_diff.png)", ""]
    L += ["## Grid", ""]
    if cells:
        L += table(cells, "test_loss", "Test log-loss of the final model on the last 20%")
    if drifting:
        L += table(drifting, "progressive_loss", "Progressive loss over the training part (drifting streams)")
    if shuffled:
        L += table(shuffled, "progressive_loss", "Progressive loss over the training part (shuffled streams)")
    if cells:
        L += ["### Wall time and memory", "",
              "Peak RSS: the largest over seeds. memory_size: records in the final replay memory, as `coreset run` "
              "prints it (k unless the coreset fell short).", ""] + time_table(cells) + [""]
    warned = [r for r in rows if r.get("warnings")]
    if warned:
        L += ["## Warnings printed by `coreset run`", ""]
        for r in warned:
            L.append(f"- {r['stream']} seed {r['seed']} {r['method']} k {r.get('k')}: {'; '.join(r['warnings'])}")
        L.append("")
    if failed:
        L += ["## Failed runs", ""]
        for r in failed:
            L.append(f"- {r['stream']} seed {r['seed']} {r['method']} k {r.get('k')}: {r['status']} "
                     f"after {r['wall']:.0f} s")
        L.append("")
    L += [f"Raw rows: `{info['rows']}` (not committed).", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))
    return cells


def duration(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu})"


def load():
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=DEFAULT_BIN, help="coreset binary (default: ./.build/release/coreset)")
    ap.add_argument("--data", default=make_streams.DEFAULT_DATA, help="data folder (default: ../shared/data)")
    ap.add_argument("--streams", default=None,
                    help="comma-separated stream names, or all / shuffled / drifting (default: all)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: 0 1 2)")
    ap.add_argument("--ks", type=float, nargs="+", default=None, help="k in percent of the training part "
                    "(default: 1 10)")
    ap.add_argument("--quick", action="store_true", help="seed 0, k = 1%%, small streams (explicit flags win)")
    ap.add_argument("--run-args", default="",
                    help="extra flags for every run that keeps a memory (coreset, reservoir, --drift off), e.g. "
                         "'--final-epochs 5'; online-only runs ignore them (tools/bench_replay/final_epochs.md)")
    ap.add_argument("--no-drift-off", action="store_true",
                    help="skip the extra coreset run with --drift off (the drift guard's effect column)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per run before it is killed "
                    "(default: none)")
    ap.add_argument("--resume", action="store_true", help="reuse rows of tools/out/bench_replay/rows.json from "
                    "the same binary (sha256)")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"), help="where to write RESULTS.md "
                    "(the plot rel_diff.png goes next to it)")
    ap.add_argument("--out", default=OUT, help="folder of the raw rows.json (default: tools/out/bench_replay)")
    ap.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md from rows.json, run nothing")
    args = ap.parse_args()

    spec = args.streams or ("quick" if args.quick else "all")
    groups = {"all": list(make_streams.STREAMS), "shuffled": make_streams.SHUFFLED,
              "drifting": make_streams.DRIFTING, "quick": QUICK_STREAMS}
    streams = groups.get(spec) or [s for s in spec.split(",") if s]
    for s in streams:
        if s not in make_streams.STREAMS:
            raise SystemExit(f"unknown stream {s!r}; known: {', '.join(make_streams.STREAMS)}")
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    ks = args.ks if args.ks is not None else ([1.0] if args.quick else [1.0, 10.0])

    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no coreset binary at {binary} (build it, or pass --bin)")
    bin_sha = sha256(binary)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    os.makedirs(args.out, exist_ok=True)
    rows_path = os.path.join(args.out, "rows.json")
    old = []
    if (args.resume or args.report_only) and os.path.exists(rows_path):
        with open(rows_path) as f:
            old = json.load(f)
    info = {
        "command": "python3 tools/bench_replay/bench_replay.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "bin": rel(binary), "bin_sha": bin_sha, "version": version,
        "machine": machine_info(), "load_before": load(),
        "rows": rel(rows_path),
    }
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        info["commit"] = f"commit {head}" + (" (work tree modified; the binary may differ from HEAD)" if dirty else "")
    except OSError:
        info["commit"] = "unknown commit"

    if args.report_only:
        rows = [r for r in old if r["stream"] in streams and r["seed"] in seeds
                and (r["method"] in K_FREE or r["k_pct"] in ks)]
        info.update(seconds=0.0, load_after=load())
        write_results(args.results, rows, streams, seeds, ks, info)
        log(f"wrote {rel(args.results)}")
        return

    def key(r):
        return (r["stream"], r["seed"], r["method"], None if r["method"] in K_FREE else r["k_pct"], r["bin_sha"],
                r.get("run_args", ""))

    reuse = {key(r): r for r in old if r.get("status") == "ok"}
    rows = []
    t_start = time.monotonic()
    planned = len(streams) * len(seeds) * ((2 if args.no_drift_off else 3) * len(ks) + 2)
    done = 0
    for s in streams:
        for seed in seeds:
            built = make_streams.build([s], os.path.join(STREAM_OUT, f"seed{seed}"), seed, args.data)[s]
            n_train = built["n_train"]
            jobs = []
            for pct in ks:
                k = max(1, round(n_train * pct / 100.0))
                jobs += [("coreset", pct, k), ("reservoir", pct, k)]
                if not args.no_drift_off:
                    jobs.append(("coreset_nodrift", pct, k))
            jobs += [("online", None, None), ("full", None, None)]
            for method, pct, k in jobs:
                done += 1
                base = {"stream": s, "kind": make_streams.STREAMS[s][0], "seed": seed, "method": method,
                        "k_pct": pct, "k": k, "n_train": n_train, "n_test": built["n_test"], "bin_sha": bin_sha,
                        "run_args": args.run_args}
                prev = reuse.get(key(base))
                if prev is not None:
                    rows.append(prev)
                    log(f"[{done}/{planned}] {s} seed {seed} {method} k={k}: reused")
                    continue
                r = run_timed(binary, built["train_path"], built["test_path"], method, k, seed, args.timeout,
                              shlex.split(args.run_args))
                row = dict(base, **r)
                rows.append(row)
                with open(rows_path, "w") as f:
                    json.dump(rows + [o for o in old if key(o) not in {key(x) for x in rows}], f, indent=1)
                elapsed = (time.monotonic() - t_start) / 60
                if row["status"] == "ok":
                    log(f"[{done}/{planned}] {s} seed {seed} {method:9s} k={k or '-'}: "
                        f"test {row.get('test_loss', float('nan')):.4f} "
                        f"progressive {row.get('progressive_loss', float('nan')):.4f}  {row['wall']:.1f} s "
                        f"({elapsed:.1f} min in)")
                else:
                    log(f"[{done}/{planned}] {s} seed {seed} {method} k={k}: {row['status']} after "
                        f"{row['wall']:.0f} s\n{row.get('stderr', '')}")
    info.update(seconds=time.monotonic() - t_start, load_after=load())
    cells = write_results(args.results, rows, streams, seeds, ks, info)
    s = summary(cells, "test_loss")
    log(f"wrote {rel(args.results)} ({len(rows)} runs, {duration(info['seconds'])})")
    if s:
        log(f"test loss: coreset < reservoir in {s['lower']}/{s['cells']} cells, mean relative difference "
            f"{fmt_pct(s['mean_rel'])}, {s['wins']} win / {s['ties']} tie / {s['losses']} loss, "
            f"coreset < online-only in {s['beats_online']}/{s['cells']}")


if __name__ == "__main__":
    main()

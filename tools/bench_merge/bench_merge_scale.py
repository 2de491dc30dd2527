#!/usr/bin/env python3
"""Merge cost at scale: `coreset merge` (reference-sample greedy, O(n k)) versus `coreset merge --exact` (the
whole union as ground set, O(n^2)), side by side on the same unions; writes tools/bench_merge/SCALE.md.

Usage (from the repository root):
  python3 tools/bench_merge/bench_merge_scale.py [--data ../shared/data] [--binary PATH] [--exact-up-to 16000]
                                                 [--baseline-binary PATH [--baseline-up-to 8000]]  # the merge before

Steps, all sequential (the machine is shared):
 1. builds `coreset` (release, .build-merge-cli) unless --binary is given;
 2. cuts census_kdd train (199,523 records) into 100 contiguous shards and runs `coreset select -k 1000` on each:
    100 coresets of 1,000 elements (the union of all of them is 100,000 elements);
 3. merges the first s coresets for growing s (unions of 4,000 to 100,000 elements), timing each merge as its
    own process: the default merge always, `--exact` (and the --baseline-binary's merge, if given) while the
    union has at most --exact-up-to elements;
 4. per merge: the objective on the whole weighted union (the merge's own exact evaluation, printed on stderr)
    and whether each class's merged weight equals its record count in the shards merged.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tools", "out", "bench_merge_scale")
SHARDS = 100
SHARD_K = 1000
# (coresets merged, k): the measured cells (4,000 and 8,000 at k = 500), then k = 1,000 up to 100,000.
CELLS = [(4, 500), (8, 500), (16, 1000), (25, 1000), (50, 1000), (100, 1000)]


def run(cmd):
    """Runs cmd; returns (wall seconds, process) and leaves its CPU seconds (user + sys) in run.cpu."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return dt, p


def label_counts(path):
    counts = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                label = line.split(None, 1)[0]
                counts[label] = counts.get(label, 0) + 1
    return counts


def merged_weights(path):
    totals = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                # `label ... # id=N weight=W` (coreset 0.1 wrote `label:weight ...`).
                label, _, w = line.split(None, 1)[0].partition(":")
                if not w:
                    w = line.rsplit("weight=", 1)[1].split()[0]
                totals[label] = totals.get(label, 0.0) + float(w)
    return totals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--binary", help="a built coreset binary (default: build one in .build-merge-cli)")
    ap.add_argument("--exact-up-to", type=int, default=16000, help="largest union merged with --exact too")
    ap.add_argument("--baseline-binary", help="another coreset binary (the merge before this change) run on the same cells")
    ap.add_argument("--baseline-up-to", type=int, default=8000, help="largest union merged by --baseline-binary")
    ap.add_argument("--eval-only", action="store_true",
                    help="only evaluate the last run's merged coresets on held-out records (BenchMerge) and rewrite SCALE.md")
    args = ap.parse_args()
    data = os.path.join(args.data, "census_kdd", "census_kdd.train.svm.zst")
    if args.eval_only:
        result = json.load(open(os.path.join(OUT, "results.json")))
        result["eval"] = evaluate(data, result["rows"])
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump(result, f, indent=1)
        write_results(result)
        return
    binary = args.binary
    if not binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "coreset", "--scratch-path",
                        os.path.join(ROOT, ".build-merge-cli")], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, ".build-merge-cli", "release", "coreset")
    os.makedirs(OUT, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    data = os.path.join(args.data, "census_kdd", "census_kdd.train.svm.zst")
    lines = subprocess.run(["zstd", "-dc", data], capture_output=True, check=True).stdout.splitlines(keepends=True)
    n = len(lines)
    shard_paths, coresets, counts = [], [], []
    t_select = 0.0
    for s in range(SHARDS):
        path = os.path.join(OUT, f"shard{s}.svm")
        with open(path, "wb") as f:
            f.writelines(lines[s * n // SHARDS:(s + 1) * n // SHARDS])
        c = os.path.join(OUT, f"coreset{s}.svm")
        dt, _ = run([binary, "select", "-q", "-k", str(SHARD_K), path, "-o", c])
        t_select += dt
        shard_paths.append(path)
        coresets.append(c)
        counts.append(label_counts(path))
    print(f"{SHARDS} shards of ~{n // SHARDS} records selected to k = {SHARD_K} in {t_select:.1f} s", flush=True)

    rows = []
    for s, k in CELLS:
        expected = {}
        for c in counts[:s]:
            for label, v in c.items():
                expected[label] = expected.get(label, 0) + v
        union = s * SHARD_K
        variants = [("reference (default)", binary, []), ("exact", binary, ["--exact"])]
        if args.baseline_binary:
            variants.append(("baseline", args.baseline_binary, []))
        for variant, program, extra in variants:
            if variant != "reference (default)" and union > (args.baseline_up_to if variant == "baseline" else args.exact_up_to):
                continue
            out = os.path.join(OUT, f"merged_{s}_{k}_{variant.split()[0]}.svm")
            dt, p = run([program, "merge", "-k", str(k), *extra, *coresets[:s], "-o", out])
            m = re.search(r"objective ([0-9.]+) of ([0-9.]+)", p.stderr)
            got = merged_weights(out)
            exact_weights = all(abs(got.get(label, 0.0) - v) <= 1e-9 * v for label, v in expected.items())
            row = {"coresets": s, "union": union, "k": k, "variant": variant, "seconds": dt, "cpu_seconds": run.cpu, "path": out,
                   "objective": float(m.group(1)), "ceiling": float(m.group(2)), "weights_exact": exact_weights}
            rows.append(row)
            print(f"union {union:>7,} k {k:>5} {variant:<20} {dt:7.2f} s ({run.cpu:.2f} s CPU)  objective {row['objective']:.1f} "
                  f"(of {row['ceiling']:.1f})  class weights = counts: {exact_weights}", flush=True)
    load_after = os.getloadavg()
    result = {"started": started.isoformat(), "records": n, "select_seconds": t_select, "rows": rows,
              "load_before": load_before, "load_after": load_after, "machine": platform.platform(), "cores": os.cpu_count(),
              "baseline_binary": args.baseline_binary}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    write_results(result)


def evaluate(data, rows):
    """BenchMerge eval (tools/bench_merge, built into .build-merge-bench): the exact facility-location objective of
    each merged coreset on a fixed 10,000-record random sample of the whole file, and its gradient error."""
    bench = os.path.join(ROOT, ".build-merge-bench", "release", "BenchMerge")
    if not os.path.exists(bench):
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(ROOT, ".build-merge-bench")],
                       cwd=HERE, check=True)
    named = [f"{x['union']}_{x['variant'].split()[0]}={x['path']}" for x in rows if x["union"] <= 16000 or x["variant"].startswith("reference")]
    p = subprocess.run([bench, "eval", data, *named], capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def write_results(r):
    by = {(x["union"], x["k"], x["variant"]): x for x in r["rows"]}
    lines = [
        "# Merge cost at scale: reference-sample greedy vs the exact (quadratic) merge",
        "",
        f"Run {r['started'][:16]} UTC on {r['cores']} cores ({r['machine']}); load average before/after "
        f"{r['load_before'][0]:.1f}/{r['load_after'][0]:.1f} (the machine is shared: timings are noisy).",
        f"Rerun: `python3 tools/bench_merge/bench_merge_scale.py` (census_kdd train, {r['records']:,} records, cut into "
        f"{SHARDS} contiguous shards, `coreset select -k {SHARD_K}` on each ({r['select_seconds']:.1f} s for all); the "
        "first s coresets merged, each merge timed as its own process). Objective: the merge's own evaluation on the "
        "whole weighted union, Σ_i w_i max_j s(i, j), same similarity scale for both variants. Raw numbers: "
        "`tools/out/bench_merge_scale/results.json`.",
        "",
        "Variants: default = reference-sample greedy (8 reference elements per merged element, candidates from the "
        "reference, Voronoi weights); exact = `--exact`, the whole union as ground set and candidates (the greedy of "
        "the merge before this change, on the new similarity rows); baseline = the merge before this change, run from "
        f"another build ({r.get('baseline_binary') or 'not given'}).",
        "",
        "Seconds are wall clock (CPU seconds, user + system, in parentheses: what the merge costs whatever else runs).",
        "",
        "| union | k | default: s | exact: s | baseline: s | objective default / exact | objective default / baseline | class weights = counts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, k in CELLS:
        u = s * SHARD_K
        d, e, b = by.get((u, k, "reference (default)")), by.get((u, k, "exact")), by.get((u, k, "baseline"))
        sec = lambda x: f"{x['seconds']:.2f} ({x['cpu_seconds']:.2f} CPU)" if x else "not run (quadratic)"
        ratio = lambda x: f"{d['objective'] / x['objective']:.4f}" if x else f"(objective / ceiling {d['objective'] / d['ceiling']:.4f})"
        ok = all(x["weights_exact"] for x in (d, e, b) if x)
        lines.append(f"| {u:,} | {k} | {sec(d)} | {sec(e)} | {sec(b)} | {ratio(e)} | {ratio(b) if b else '-'} | {'yes' if ok else 'NO'} |")
    if r.get("eval"):
        ev = {c["coreset"]: c for c in r["eval"]["coresets"]}
        lines += ["", "Held out: the exact objective on a fixed 10,000-record random sample of the whole file (D from its first 500 "
                  "records) and the gradient error at a logistic model after 10% of an epoch, by `BenchMerge eval` "
                  "(tools/bench_merge; `--eval-only` reruns it on the last run's coresets):", "",
                  "| union | k | objective: default / exact / baseline | default / exact | gradient error (mid): default / exact |",
                  "|---|---|---|---|---|"]
        for s, k in CELLS:
            u = s * SHARD_K
            d, e, b = ev.get(f"{u}_reference"), ev.get(f"{u}_exact"), ev.get(f"{u}_baseline")
            if not d:
                continue
            f = lambda x, key: f"{x[key]:.1f}" if x else "-"
            lines.append(f"| {u:,} | {k} | {f(d, 'objective')} / {f(e, 'objective')} / {f(b, 'objective')} | "
                         f"{d['objective'] / e['objective']:.4f} | " if e else f"| {u:,} | {k} | {f(d, 'objective')} / - / - | - | ")
            lines[-1] += f"{f(d, 'gradient_error_mid')} / {f(e, 'gradient_error_mid')} |"
    big = by[(SHARDS * SHARD_K, 1000, "reference (default)")]
    lines += ["", f"Target: a union of 100,000 elements to k = 1,000 within 10 s: {big['seconds']:.2f} s wall, "
              f"{big['cpu_seconds']:.2f} s CPU ({'met' if big['seconds'] <= 10 else 'MISSED'} in wall time, "
              f"{'met' if big['cpu_seconds'] <= 10 else 'MISSED'} in CPU time)."]
    with open(os.path.join(HERE, "SCALE.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

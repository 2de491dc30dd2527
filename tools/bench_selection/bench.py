#!/usr/bin/env python3
"""Selection benchmarks, side by side with apricot, in one run; writes tools/bench_selection/RESULTS.md.

Usage (from the repository root):  python3 tools/bench_selection/bench.py [--data ../shared/data] [--quick]

Steps, all sequential (the machine is shared):
 1. builds BenchSelection (release) in .build-sel-bench;
 2. apricot `partial_fit` (batches of 1000) on the first records of each data set, capped (see CAPS),
    each run in its own process;
 3. `BenchSelection stream` per data set, k and algorithm: end to end from the .zst, its own process;
 4. `BenchSelection eval` per data set: objective on a fixed 10k sample vs lazy greedy, gradient errors.
Raw JSON goes to tools/out/bench_selection/.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tools", "out", "bench_selection")
BIN = os.path.join(ROOT, ".build-sel-bench", "release", "BenchSelection")
ALGS = ["sieve", "sieve++", "three-sieves"]
KS = [100, 1000]
# apricot's input cap per k: at k=1000 it needs ~12 GB whatever the input size, at ~60 records/s.
CAPS = {100: 10000, 1000: 3000}
# Selection threads: one, and one per core (`CoresetSelector.useThreads`, `select --threads`).
THREADS = sorted({1, os.cpu_count() or 1})
# A smaller reference reservoir (`--reference-size`) at this k, on one thread per core: selection's cost per
# record is proportional to it, so this is the speed/quality trade-off users can choose.
SMALL_REFERENCE = (100, 500)
# Runs of each streaming configuration (the machine is shared: single runs vary 1.3-2x).
REPEATS = 3
DATASETS = [("mnist", "mnist/mnist.train.svm.zst"), ("census_kdd", "census_kdd/census_kdd.train.svm.zst")]


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(ROOT, ".build-sel-bench")],
                       cwd=HERE, check=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    results = {}
    for name, rel in DATASETS:
        path = os.path.join(args.data, rel)
        r = results[name] = {"apricot": {}, "stream": {}, "eval": None}
        adir = os.path.join(OUT, f"apricot_{name}")
        for k in KS:
            print(f"apricot {name} k={k}", flush=True)
            r["apricot"][k] = run_json([sys.executable, os.path.join(HERE, "apricot_run.py"), path, str(k), str(CAPS[k]), adir])
        # Each configuration runs REPEATS times, the rounds interleaved so that a change in the machine's load
        # hits every configuration alike; the table gives the run with the median records/s.
        for k in KS:
            runs = [(a, t, None) for a in ALGS for t in THREADS]
            if k == SMALL_REFERENCE[0]:
                runs += [(a, THREADS[-1], SMALL_REFERENCE[1]) for a in ALGS]
            measured = {}
            for rep in range(REPEATS):
                for a, t, R in runs:
                    print(f"stream {name} k={k} {a} threads={t}{f' reference={R}' if R else ''} (round {rep + 1})", flush=True)
                    measured.setdefault((a, t, R), []).append(
                        run_json([BIN, "stream", path, str(k), a, str(t)] + ([str(R)] if R else [])))
            for (a, t, R), ms in measured.items():
                ms.sort(key=lambda m: m["records_per_s"])
                median = dict(ms[len(ms) // 2])
                median["records_per_s_all"] = [m["records_per_s"] for m in ms]
                r["stream"][(k, f"{a}, R = {R}" if R else a, t)] = median
        print(f"eval {name}", flush=True)
        r["eval"] = run_json([BIN, "eval", path, adir])
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump({"apricot": r["apricot"], "stream": {f"{k} {a} {t}": v for (k, a, t), v in r["stream"].items()},
                       "eval": r["eval"]}, f, indent=1)
    load_after = os.getloadavg()
    write_results(results, args, started, load_before, load_after)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_results(results, args, started, lb, la):
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    L = []
    L.append("# Selection benchmarks\n")
    L.append("Reproduce (from the repository root): `python3 tools/bench_selection/bench.py` "
             "(needs zstd, `pip install apricot-select scikit-learn`; about 15 minutes).\n")
    L.append(f"- Date: {started:%Y-%m-%d %H:%M} UTC")
    L.append(f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}; "
             f"shared with other jobs: load average {lb[0]:.1f} before, {la[0]:.1f} after, so absolute speeds are noisy")
    L.append("- Ours: `SelectorConfiguration(k:, algorithm:, space: .feature)` defaults (ε = 0.1, R = 1000 references per "
             "class, warm-up 500, Euclidean CRAIG similarity, proportional budgets), release build; on one thread and with "
             f"`useThreads({THREADS[-1]})` (classes dealt to worker threads, as `select --threads`; the output is identical). "
             "apricot runs on one thread (numba; measured: NUMBA_NUM_THREADS=1 and 2 give the same speed). "
             f"Rows `…, R = {SMALL_REFERENCE[1]}` at k = {SMALL_REFERENCE[0]}: the same with `--reference-size {SMALL_REFERENCE[1]}` "
             "(selection's cost per record is proportional to R; the objective and gradient tables show what it costs).")
    L.append(f"- apricot {apricot_version()}: `FacilityLocationSelection(k, metric='euclidean', random_state=0).partial_fit` on "
             f"batches of 1000 of the FIRST {CAPS[100]:,} records (k=100) / {CAPS[1000]:,} records (k=1000) only — it is too "
             "slow and at k=1000 too memory-hungry (~12 GB) for more on a shared machine. Its records/s is measured on that "
             "prefix (partial_fit loop only, loading excluded) and assumed to hold for the whole stream (its per-record cost is "
             "flat once its 1000-row reservoir is full, so the extrapolation is, if anything, kind to it).\n")
    for name, r in results.items():
        e = r["eval"]
        L.append(f"## {name} ({e['records']:,} records, {e['dimension']} features)\n")
        L.append("### Throughput and peak memory (end to end from the .zst)\n")
        L.append(f"Ours: median of {REPEATS} interleaved runs (all runs' records/s in brackets); apricot: one run.\n")
        L.append("| k | algorithm | threads | records/s | peak RSS MiB | stored elements (bound) | x apricot records/s | apricot memory / ours |")
        L.append("|---|---|---|---|---|---|---|---|")
        for k in KS:
            a = r["apricot"][k]
            L.append(f"| {k} | apricot (first {a['records']:,} records) | 1 | {a['records_per_s']:,.0f} | {a['peak_rss_mib']:,.0f} | | 1 | 1 |")
            small = [f"{a}, R = {SMALL_REFERENCE[1]}" for a in ALGS] if k == SMALL_REFERENCE[0] else []
            for alg in ALGS + small:
                for t in (THREADS if alg in ALGS else THREADS[-1:]):
                    s = r["stream"][(k, alg, t)]
                    every = ", ".join(f"{x:,.0f}" for x in s.get("records_per_s_all", []))
                    L.append(f"| {k} | {alg} | {s['threads']} | {s['records_per_s']:,.0f} ({every}) | {s['peak_rss_mib']:,.0f} | {s['stored']:,} ({s['bound']:,}) | "
                             f"{s['records_per_s'] / a['records_per_s']:,.1f}x | {a['peak_rss_mib'] / s['peak_rss_mib']:,.1f}x |")
        L.append("")
        L.append(f"### Objective on a fixed random sample of {e['eval_sample']:,} records\n")
        L.append(f"F(S) = Σ over the sample of max over selected records of the same class of max(0, D − ‖x − y‖), D = {e['D']:.4g} "
                 "(fixed from the first 500 records, as the selector does). Greedy: lazy greedy per class with the sample as "
                 f"ground set and {e['greedy_candidates']:,} random stream records (including the sample) as candidates, "
                 "same per-class budgets as the streaming coresets. `ratio` = F / F_greedy; it is inflated by the constant "
                 "|V|·D part of F, so `normalized` = (F − F_random) / (F_greedy − F_random) is also given (0 = uniform "
                 "random, 1 = greedy). apricot selects on its capped prefix, across classes (it ignores labels).\n")
        L.append("| k | method | F | ratio to greedy | normalized |")
        L.append("|---|---|---|---|---|")
        for row in e["objective"]:
            L.append(f"| {row['k']} | {row['method']} | {row['F']:.6g} | {row['ratio']:.4f} | {row['normalized']:.3f} |")
        L.append("")
        L.append("### Gradient error at two models (the quantity CRAIG bounds)\n")
        L.append("‖Σ_i ∇_i(θ) − Σ_j γ_j ∇_j(θ)‖ of the weighted coreset, as a multiple of the same error of uniform random "
                 "subsets of size k weighted n/k (mean of 10 draws); lower is better, 1 = random. "
                 "Loss: L2-logistic (census) / softmax (mnist), trained with CoresetKit's `Learner` (SGD defaults): "
                 "mid = one pass over a random 10%, optimum = 20 shuffled epochs over everything with the step decayed exponentially to 1% of eta0 (as `coreset train`). "
                 "`feature` = the feature-space coreset above; `gradient` = a selector in gradient space given the model "
                 "with `updateModel` before the stream, with its default weights (`--weighting gradient-match`: CRAIG's "
                 "nearest counts fitted to the class gradient sums streamed at the model) and with CRAIG's nearest counts "
                 "(`--weighting nearest`; same elements).\n")
        models = [g for g in e["gradient"] if "k" not in g]
        for m in models:
            L.append(f"- {m['model']}: mean loss {m['mean_loss']:.4f}; ‖full gradient‖/n = {m['full_gradient_norm_over_n']:.4g} "
                     f"(at θ = 0: {m['at_zero_over_n']:.4g})")
        L.append("")
        L.append("| model | k | algorithm | random's relative error | feature-space x random | gradient-space, nearest weights x random | gradient-space (default: gradient-match) x random |")
        L.append("|---|---|---|---|---|---|---|")
        for g in e["gradient"]:
            if "k" in g:
                nearest = f"{g['gradient_nearest_x_random']:.2f}" if "gradient_nearest_x_random" in g else ""
                L.append(f"| {g['model']} | {g['k']} | {g['algorithm']} | {g['random_relative']:.3f} | "
                         f"{g['feature_x_random']:.2f} | {nearest} | {g['gradient_x_random']:.2f} |")
        L.append("")
    # Hand-written sections (from the first "## Reading of") are kept below the regenerated tables.
    path = os.path.join(HERE, "RESULTS.md")
    kept = ""
    if os.path.exists(path):
        old = open(path).read()
        at = old.find("\n## Reading of")
        if at >= 0:
            kept = old[at:]
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n" + kept)
    print("wrote", os.path.join(HERE, "RESULTS.md"))


def apricot_version():
    try:
        import apricot
        return apricot.__version__
    except Exception:
        return "?"


if __name__ == "__main__":
    main()

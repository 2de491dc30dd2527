#!/usr/bin/env python3
"""Merge benchmark: shard coresets merged versus one stream over the union; writes tools/bench_merge/RESULTS.md.

Usage (from the repository root):  python3 tools/bench_merge/bench_merge.py [--data ../shared/data] [--ks 100,1000]

Steps, all sequential (the machine is shared):
 1. builds `coreset` (release, .build-merge-cli) and the BenchMerge evaluator (release, .build-merge-bench);
 2. splits census_kdd train (199,523 records) into 4 contiguous shards (plain LIBSVM files, as four days of logs);
 3. per k: `coreset select -k K` on each shard, then `coreset merge -k K` of the four coresets, versus
    `coreset select -k K` on the whole file in one stream (same k, same algorithm: sieve++ by default,
    feature space, default options), each timed on its own;
 4. `BenchMerge eval`: exact objective on a fixed 10k sample and gradient error at two models, for the
    union's coreset, the merged one and uniform random subsets of the same size.
Raw JSON and coresets go to tools/out/bench_merge/.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tools", "out", "bench_merge")
CLI = os.path.join(ROOT, ".build-merge-cli", "release", "coreset")
EVAL = os.path.join(ROOT, ".build-merge-bench", "release", "BenchMerge")
SHARDS = 4


def timed(cmd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return dt, p


def split(data, out_dir):
    """Contiguous shards of (nearly) equal line counts: exactly the input's lines, decompressed by zstd."""
    text = subprocess.run(["zstd", "-dc", data], capture_output=True, check=True).stdout.splitlines(keepends=True)
    n = len(text)
    paths = []
    for s in range(SHARDS):
        path = os.path.join(out_dir, f"shard{s}.svm")
        with open(path, "wb") as f:
            f.writelines(text[s * n // SHARDS:(s + 1) * n // SHARDS])
        paths.append(path)
    return n, paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--ks", default="100,1000")
    ap.add_argument("--algorithm", default="sieve++")
    ap.add_argument("--seeds", default="0,1,2", help="reservoir seeds of `coreset select`: one full run per seed")
    ap.add_argument("--spaces", default="feature,gradient",
                    help="feature: no model (CRAIG's feature space); gradient: select and merge with --model, a model "
                         "`coreset train` fitted on the whole file (5 epochs)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--eval-only", action="store_true", help="evaluate the coresets of the last run again (tools/out/bench_merge/results.json)")
    args = ap.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    spaces = args.spaces.split(",")
    os.makedirs(OUT, exist_ok=True)
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "coreset", "--scratch-path",
                        os.path.join(ROOT, ".build-merge-cli")], cwd=ROOT, check=True)
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(ROOT, ".build-merge-bench")],
                       cwd=HERE, check=True)
    data = os.path.join(args.data, "census_kdd", "census_kdd.train.svm.zst")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    if args.eval_only:
        last = json.load(open(os.path.join(OUT, "results.json")))
        ev = evaluate(data, last["runs"], last["spaces"])
        last["eval"] = ev
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump(last, f, indent=1, sort_keys=True)
        write_results(last, sorted({r["k"] for r in last["runs"].values()}), last["seeds"], last["spaces"])
        return
    records, shards = split(data, OUT)
    model = os.path.join(OUT, "model.json")
    if "gradient" in spaces:
        timed([CLI, "train", "-q", data, "--model-out", model])
    runs = {}
    for space, k, seed in [(sp, k, s) for sp in spaces for k in ks for s in seeds]:
        model_args = ["--model", model] if space == "gradient" else []
        common = ["-q", "-k", str(k), "--algorithm", args.algorithm, "--seed", str(seed), *model_args]
        tag = f"{space}_k{k}_s{seed}"
        union = os.path.join(OUT, f"union_{tag}.svm")
        t_union, _ = timed([CLI, "select", *common, data, "-o", union])
        shard_coresets, t_shards = [], []
        for s, path in enumerate(shards):
            c = os.path.join(OUT, f"shard{s}_{tag}.svm")
            t, _ = timed([CLI, "select", *common, path, "-o", c])
            shard_coresets.append(c)
            t_shards.append(t)
        merged = os.path.join(OUT, f"merged_{tag}.svm")
        t_merge, p = timed([CLI, "merge", "-k", str(k), *model_args, *shard_coresets, "-o", merged])
        runs[tag] = {"space": space, "k": k, "seed": seed, "union_seconds": t_union, "shard_seconds": t_shards, "merge_seconds": t_merge,
                     "merge_summary": p.stderr.strip(), "union": union, "merged": merged}
        print(f"{space} k={k} seed={seed}: union {t_union:.2f}s, shards {sum(t_shards):.2f}s (slowest {max(t_shards):.2f}s), merge {t_merge:.2f}s", flush=True)
    ev = evaluate(data, runs, spaces)
    load_after = os.getloadavg()
    result = {"started": started.isoformat(), "records": records, "runs": runs, "eval": ev,
              "load_before": load_before, "load_after": load_after, "machine": platform.platform(),
              "cores": os.cpu_count(), "algorithm": args.algorithm, "seeds": seeds,
              "spaces": spaces}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    write_results(result, ks, seeds, spaces)


def evaluate(data, runs, spaces):
    """BenchMerge eval over every coreset of the runs; gradient-space ones at the model they were chosen with."""
    named = []
    for tag, run in runs.items():
        named += [f"union_{tag}={run['union']}", f"merged_{tag}={run['merged']}"]
    model = ["--model", os.path.join(OUT, "model.json")] if "gradient" in spaces else []
    p = subprocess.run([EVAL, "eval", data, *model, *named], capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("evaluation failed")
    return json.loads(p.stdout.strip().splitlines()[-1])


def write_results(r, ks, seeds, spaces):
    rows = {c["coreset"]: c for c in r["eval"]["coresets"]}

    def ratio(c):
        return c["gradient_error_mid"] / c["random_gradient_error_mid"], c["gradient_error_optimum"] / c["random_gradient_error_optimum"]

    lines = [
        "# Merge benchmark: four shard coresets merged vs one stream over the union",
        "",
        f"Run {r['started'][:16]} UTC on {r['cores']} cores ({r['machine']}); load average before/after "
        f"{r['load_before'][0]:.1f}/{r['load_after'][0]:.1f} (other builds were running: timings are noisy).",
        f"Rerun: `python3 tools/bench_merge/bench_merge.py` (census_kdd train, {r['records']:,} records, split into 4 "
        f"contiguous shards; `coreset select --algorithm {r['algorithm']} --seed S` per shard then `coreset merge`, versus "
        "`coreset select --seed S` on the whole file; same k, same algorithm, default options otherwise; one run per "
        f"reservoir seed S in {seeds}). Raw numbers: `tools/out/bench_merge/results.json`.",
        "",
        "Objective: exact per-class facility location on a fixed 10,000-record random sample (D from the first 500 records, "
        "as in tools/bench_selection), in the space the coresets were chosen in (for `gradient`, the loss gradients at the "
        "model they were chosen with); uniform random subsets of the same size (mean of 5) for scale. Gradient error: "
        "‖Σ_i ∇_i − Σ_j w_j ∇_j‖ at a logistic model after 10% of one epoch (mid) and after 5 epochs (optimum), also "
        "shown as a multiple of uniform random subsets' error (weights n/k, mean of 10 draws).",
        "",
        "Spaces: `feature` selects and merges without a model (CRAIG's feature space); `gradient` passes `--model`, a "
        "logistic model `coreset train` fitted on the whole file (5 epochs), to every `select` and to `merge`.",
        "",
        "| space | k | seed | objective: union / merged / random | merged / union (target >= 0.95) | grad. error mid, x random: union / merged | merged / union (target <= 1.25) | grad. error optimum, x random: union / merged | merged / union (target <= 1.25) | class weights = counts |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for space, k in [(sp, k) for sp in spaces for k in ks]:
        objs, mids, opts = [], [], []
        for seed in seeds:
            tag = f"{space}_k{k}_s{seed}"
            u, m = rows[f"union_{tag}"], rows[f"merged_{tag}"]
            obj = m["objective"] / u["objective"]
            g_mid = m["gradient_error_mid"] / u["gradient_error_mid"]
            g_opt = m["gradient_error_optimum"] / u["gradient_error_optimum"]
            objs.append(obj); mids.append(g_mid); opts.append(g_opt)
            exact = all(abs(v) < 1e-6 for v in m["class_weight_minus_count"].values())
            (um, uo), (mm, mo) = ratio(u), ratio(m)
            lines.append(f"| {space} | {k} | {seed} | {u['objective']:.1f} / {m['objective']:.1f} / {m['random_objective']:.1f} | {obj:.4f} | "
                         f"{um:.3f} / {mm:.3f} | {g_mid:.3f} | {uo:.3f} / {mo:.3f} | {g_opt:.3f} | {'yes' if exact else 'NO'} |")
        mean = lambda v: sum(v) / len(v)
        lines.append(f"| {space} | {k} | mean | | **{mean(objs):.4f}** | | **{mean(mids):.3f}** | | **{mean(opts):.3f}** | |")
        summary.append((space, k, mean(objs), mean(mids), mean(opts), min(objs), max(mids + opts)))
    lines += ["", "Time (seconds, release build, one process each; seeds averaged):", "",
              "| space | k | union, one stream | 4 shards, sequential (slowest shard) | merge | slowest shard + merge, / union |",
              "|---|---|---|---|---|---|"]
    for space, k in [(sp, k) for sp in spaces for k in ks]:
        rs = [r["runs"][f"{space}_k{k}_s{s}"] for s in seeds]
        mean = lambda v: sum(v) / len(v)
        tu = mean([x["union_seconds"] for x in rs]); ts = mean([sum(x["shard_seconds"]) for x in rs])
        tmax = mean([max(x["shard_seconds"]) for x in rs]); tm = mean([x["merge_seconds"] for x in rs])
        lines.append(f"| {space} | {k} | {tu:.2f} | {ts:.2f} ({tmax:.2f}) | {tm:.2f} | {(tmax + tm) / tu:.2f} |")
    lines += ["", "Merge summaries (stderr of `coreset merge`, seed 0):", ""]
    for space, k in [(sp, k) for sp in spaces for k in ks]:
        lines.append(f"- {space}, k = {k}: `{r['runs'][f'{space}_k{k}_s{seeds[0]}']['merge_summary']}`")
    lines += ["", "Verdict against the issue's targets (objective within 5% of the union's, gradient error within 1.25x), on the means over seeds:", ""]
    for space, k, obj, g_mid, g_opt, worst_obj, worst_grad in summary:
        lines.append(f"- {space}, k = {k}: objective {obj:.4f} ({'met' if obj >= 0.95 else 'MISSED'}; worst seed {worst_obj:.4f}); "
                     f"gradient error {g_mid:.3f} mid / {g_opt:.3f} optimum ({'met' if max(g_mid, g_opt) <= 1.25 else 'MISSED'}; worst seed {worst_grad:.3f})")
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

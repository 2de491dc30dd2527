#!/usr/bin/env python3
"""Downstream learners on a coreset (issue 27.2): scikit-learn, XGBoost and LightGBM trained with `sample_weight`
on the coreset of `coreset select`, on a uniform sample of the same size, and on all the data.

Usage (from the repository root; the venv holds scikit-learn, xgboost, lightgbm, matplotlib):

    python3 -m venv tools/out/venv-bench
    tools/out/venv-bench/bin/pip install numpy scipy scikit-learn xgboost-cpu lightgbm matplotlib
    tools/out/venv-bench/bin/python tools/bench_downstream/bench_downstream.py [--bin .build/release/coreset]
        [--data ../shared/data] [--datasets all|NAME,...] [--seeds 0 1 2] [--ks 1 10]
        [--learners logreg,svc,hgb,xgb,lgbm] [--methods coreset,coreset_gradient,...] [--quick]
        [--resume] [--report-only] [--results tools/bench_downstream/RESULTS.md]

Data: the nine data sets of ../shared/data as the shuffled streams of tools/drift/make_streams.py (the seed is
the shuffle; train on the first 80%, test on the last 20%; adult, census_kdd and mnist concatenate the package's
train and test files first). k = round(n_train x pct / 100) for pct in --ks.

Methods (training sets), each a set of rows of the training part with weights:
  full              every training row, weight 1. For SVC capped: a uniform sample of --svc-cap rows
                    (default 10,000) with weights n/cap stands in for "full" when the training part is larger
                    (all but fail2ban_logs and satimage); the tables mark those cells "full*". SVC is not
                    trained on coreset or uniform sets above the cap (k = 10% of aer_fertility and census_kdd).
  uniform           k rows drawn uniformly without replacement (seeded), every weight n/k, so the total weight
                    is n as for the coreset (the constant scale only matters through C for LR/SVC).
  coreset*          `coreset select TRAIN -k K --seed S -q` plus the flags of the variant (METHODS below); rows
                    found by the element id (= stream position) and weighted by the file's `weight=`.
Learners (one thread each, OMP_NUM_THREADS=1): LogisticRegression(max_iter=1000), SVC(rbf, probability=True),
HistGradientBoostingClassifier, XGBClassifier (hist), LGBMClassifier, all at their library defaults.

Measured: test log-loss (probabilities floored at 1e-6 and renormalised, so a class a small training set lacks
costs 13.8 nats, not infinity), accuracy, training seconds (the fit alone) and, for coresets, the wall seconds
of `coreset select`. Test parts above --test-cap rows (default 10,000) are cut to their first --test-cap rows
(they are shuffled already). Per cell (data set, k, learner): means and min-max over seeds; the fraction of the
gap closed, (L_uniform - L_coreset) / (L_uniform - L_full) on the means, counted only when the gap is larger
than its spread (max of the uniform and full min-max ranges) and than 0.005; a verdict coreset vs uniform: WORSE
when its mean is higher by more than the larger min-max range of the two, BETTER when lower by more, else TIE.

Rows go to tools/out/bench_downstream/rows.json (rewritten after every data set; --resume reuses rows made by
the same binary). RESULTS.md and gap_closed.png are written next to this script. Progress on stderr.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
# SVC(probability=True) is deprecated in scikit-learn 1.9 in favour of CalibratedClassifierCV; it still works.
warnings.filterwarnings("ignore", category=FutureWarning)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "drift"))
sys.path.insert(0, os.path.join(ROOT, "tools", "bench_replay"))
import make_streams  # noqa: E402
from bench_replay import log, rel, sha256  # noqa: E402  (the same helpers as the replay benchmark)

OUT = os.path.join(ROOT, "tools", "out", "bench_downstream")
STREAM_OUT = os.path.join(ROOT, "tools", "out", "streams")
DEFAULT_BIN = os.path.join(ROOT, ".build", "release", "coreset")
DATASETS = make_streams.SHUFFLED
QUICK_DATASETS = ["adult", "letter", "magic", "satimage", "fail2ban_logs"]
LEARNERS = ["logreg", "svc", "hgb", "xgb", "lgbm"]
PROB_FLOOR = 1e-6

# Coreset variants: the flags added to `coreset select TRAIN -k K --seed S -q`. coreset is today's default
# (feature space); coreset_fit fits a linear model in one online pass first and selects in gradient space at
# it; coreset_gradient does the same with two commands ("{model}" is `coreset train TRAIN --epochs 1`, made
# once per data set and seed: one shuffled pass, decayed to 1%).
# coreset_sampled keeps coreset's cells and weights but writes a record drawn from each cell (a stratified
# sample) instead of its medoid.
METHODS = {
    "coreset": [],
    "coreset_sampled": ["--representatives", "sampled"],
    "coreset_fit": ["--fit-model"],
    "coreset_fit_sampled": ["--fit-model", "--representatives", "sampled"],
    "coreset_gradient": ["--model", "{model}"],
}
DEFAULT_METHODS = ["coreset", "coreset_sampled", "coreset_fit"]




# ---------------------------------------------------------------------------------------------- data

def load_part(path, n_features=None):
    from sklearn.datasets import load_svmlight_file
    X, y = load_svmlight_file(path, zero_based=False, n_features=n_features, dtype=np.float32)
    return X.tocsr(), y


def same_width(*parts):
    """The parts with as many columns as the widest (a feature absent from one part is zero there)."""
    import scipy.sparse as sp
    d = max(X.shape[1] for X in parts)
    return [sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d)) for X in parts]


def read_coreset(path):
    """(ids, weights) of a LIBSVM coreset written by `coreset select`: the `# id=N weight=W` comments."""
    ids, weights = [], []
    with open(path) as f:
        for line in f:
            if "id=" not in line or line.startswith("#"):
                continue
            comment = line.split("#", 1)[1]
            fields = dict(tok.split("=", 1) for tok in comment.split() if "=" in tok)
            ids.append(int(fields["id"]))
            weights.append(float(fields["weight"]))
    return np.array(ids, dtype=np.int64), np.array(weights)


def run_select(binary, train, k, seed, flags, out_path):
    cmd = [binary, "select", train, "-k", str(k), "--seed", str(seed), "-q", "-o", out_path] + list(flags)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:500]}")
    return wall, [rel(c) if os.path.isabs(c) else c for c in cmd], p.stderr.strip()


def quick_model(binary, train, out_path):
    """A quick linear model of the training part (one epoch of `coreset train`), for gradient space."""
    cmd = [binary, "train", train, "--epochs", "1", "-q", "--model-out", out_path]
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:500]}")
    return time.monotonic() - t0


# ---------------------------------------------------------------------------------------------- learners

def make_learner(name, seed):
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression
        return LogisticRegression(max_iter=1000)
    if name == "svc":
        from sklearn.svm import SVC
        return SVC(kernel="rbf", probability=True, random_state=seed)
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(random_state=seed)
    if name == "xgb":
        from xgboost import XGBClassifier
        return XGBClassifier(tree_method="hist", n_jobs=1, random_state=seed)
    if name == "lgbm":
        from lightgbm import LGBMClassifier
        return LGBMClassifier(n_jobs=1, random_state=seed, verbose=-1)
    raise ValueError(name)


def available_learners(names):
    ok = []
    for n in names:
        mod = {"logreg": "sklearn", "svc": "sklearn", "hgb": "sklearn", "xgb": "xgboost", "lgbm": "lightgbm"}[n]
        try:
            __import__(mod)
            ok.append(n)
        except ImportError:
            log(f"  learner {n}: {mod} is not installed; skipped")
    return ok


def int32_indices(X):
    """Row selection can leave int64 index arrays, which libsvm (SVC) refuses."""
    X = X.tocsr()
    if X.indices.dtype != np.int32 or X.indptr.dtype != np.int32:
        X = X.copy()
        X.indices = X.indices.astype(np.int32)
        X.indptr = X.indptr.astype(np.int32)
    return X


def fit_predict(name, seed, X, y, w, X_test, classes):
    """Fit on (X, y, w); return (test probabilities over `classes`, fit seconds)."""
    present = np.unique(y)
    P = np.full((X_test.shape[0], len(classes)), 0.0)
    col = {c: i for i, c in enumerate(classes)}
    if len(present) == 1:  # one class only: a constant prediction
        P[:, col[present[0]]] = 1.0
        return P, 0.0
    model = make_learner(name, seed)
    dense = name == "hgb"
    Xf = X.toarray() if dense else int32_indices(X)
    Xt = X_test.toarray() if dense else int32_indices(X_test)
    # XGBoost wants labels 0..m-1: encode the classes present, map the columns back.
    y_fit = np.searchsorted(present, y) if name == "xgb" else y
    t0 = time.monotonic()
    model.fit(Xf, y_fit, sample_weight=w)
    fit_seconds = time.monotonic() - t0
    proba = model.predict_proba(Xt)
    fitted = present if name == "xgb" else model.classes_
    for j, c in enumerate(fitted):
        P[:, col[c]] = proba[:, j]
    return P, fit_seconds


def score(P, y_test, classes):
    P = np.maximum(P, PROB_FLOOR)
    P = P / P.sum(axis=1, keepdims=True)
    idx = np.searchsorted(classes, y_test)
    loss = float(-np.mean(np.log(P[np.arange(len(y_test)), idx])))
    acc = float(np.mean(classes[np.argmax(P, axis=1)] == y_test))
    return loss, acc


# ---------------------------------------------------------------------------------------------- grid

def training_sets(args, binary, dataset, seed, paths, X, n, pct_list, work):
    """Yield (method, pct or None, rows, weights, extra) for every training set of one data set and seed."""
    rng = np.random.default_rng(seed)
    yield "full", None, np.arange(n), np.ones(n), {}
    model_path = None
    for pct in pct_list:
        k = max(1, int(round(n * pct / 100)))
        rows = np.sort(np.random.default_rng([seed, pct]).choice(n, size=k, replace=False))
        yield "uniform", pct, rows, np.full(k, n / k), {"k": k}
        selected = {}  # base method -> its select's (wall, cmd, err): METHOD/flat and /sqrt reuse the file
        for method in args.methods:
            base, _, reweighting = method.partition("/")
            flags = list(METHODS[base])
            extra = {"k": k}
            if any("{model}" in f for f in flags):
                if model_path is None:
                    model_path = os.path.join(work, f"{dataset}.seed{seed}.model.json")
                    extra_model = quick_model(binary, paths["train_path"], model_path)
                    model_seconds = extra_model
                extra["model_seconds"] = model_seconds
                flags = [f.replace("{model}", model_path) for f in flags]
            out_path = os.path.join(work, f"{dataset}.seed{seed}.k{pct}.{base}.svm")
            if base not in selected:
                selected[base] = run_select(binary, paths["train_path"], k, seed, flags, out_path)
            wall, cmd, err = selected[base]
            ids, weights = read_coreset(out_path)
            # METHOD/flat: the same rows, every weight the total over their count (the uniform sample's
            # weights); METHOD/sqrt: weights tempered to their square roots, scaled to the same total.
            if reweighting == "flat":
                weights = np.full(len(weights), weights.sum() / len(weights))
            elif reweighting == "sqrt":
                weights = np.sqrt(weights) * (weights.sum() / np.sqrt(weights).sum())
            elif reweighting:
                raise ValueError(f"unknown reweighting {reweighting!r} in {method!r} (flat or sqrt)")
            if ids.max(initial=-1) >= n:
                raise RuntimeError(f"{out_path}: id {ids.max()} is past the {n} training rows")
            extra.update(select_seconds=wall, select_cmd=cmd, elements=int(len(ids)),
                         weight_total=float(weights.sum()), weight_max_over_mean=float(weights.max() / weights.mean()))
            if err:
                extra["select_stderr"] = err[:300]
            yield method, pct, ids, weights, extra
    del rng


def run_grid(args, binary, rows, done):
    learners = available_learners(args.learners)
    binary_hash = sha256(binary)[:16]
    work = os.path.join(OUT, "work")
    os.makedirs(work, exist_ok=True)
    grid_t0 = last_save = time.monotonic()
    for seed in args.seeds:
        built = make_streams.build(args.datasets, os.path.join(STREAM_OUT, f"seed{seed}"), seed, args.data)
        for dataset in args.datasets:
            paths = built[dataset]
            t0 = time.monotonic()
            X, y = load_part(paths["train_path"])
            X_test, y_test = load_part(paths["test_path"])
            X, X_test = same_width(X, X_test)
            X_test, y_test = X_test[: args.test_cap], y_test[: args.test_cap]
            classes = np.unique(np.concatenate([y, y_test]))
            n = X.shape[0]
            log(f"{dataset} seed {seed}: {n} train rows, {X_test.shape[0]} test rows, {X.shape[1]} features, "
                f"{len(classes)} classes")
            for method, pct, idx, w, extra in training_sets(args, binary, dataset, seed, paths, X, n, args.ks, work):
                for learner in learners:
                    key = (dataset, seed, pct, method, learner)
                    if key in done:
                        continue
                    if f"{dataset}:{learner}" in args.skip:
                        continue
                    sub_idx, sub_w, capped = idx, w, False
                    cap = args.svc_cap if learner == "svc" else args.full_cap
                    if len(idx) > cap:
                        if method != "full":
                            continue  # a kernel SVM on this many rows is past the grid's time budget
                        sub_idx = np.sort(np.random.default_rng([seed, 7]).choice(n, size=cap, replace=False))
                        sub_w = np.full(len(sub_idx), n / len(sub_idx))
                        capped = True
                    P, fit_seconds = fit_predict(learner, seed, X[sub_idx], y[sub_idx], sub_w, X_test, classes)
                    loss, acc = score(P, y_test, classes)
                    row = dict(dataset=dataset, seed=seed, pct=pct, method=method, learner=learner,
                               test_loss=loss, test_accuracy=acc, fit_seconds=fit_seconds, train_rows=int(len(sub_idx)),
                               n_train=n, capped=capped, binary=binary_hash, **extra)
                    rows.append(row)
                    done[key] = row
                    if time.monotonic() - last_save > 30:
                        save_rows(rows)
                        last_save = time.monotonic()
                    log(f"  {method:18s} {'' if pct is None else str(pct) + '%':4s} {learner:6s} loss {loss:.4f} "
                        f"acc {acc:.4f} fit {fit_seconds:.2f}s")
            save_rows(rows)
            log(f"  {dataset} seed {seed}: {time.monotonic() - t0:.0f}s (grid {time.monotonic() - grid_t0:.0f}s)")


ROWS_PATH = os.path.join(OUT, "rows.json")


def save_rows(rows):
    os.makedirs(os.path.dirname(ROWS_PATH), exist_ok=True)
    tmp = ROWS_PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=0)
    os.replace(tmp, ROWS_PATH)


# ---------------------------------------------------------------------------------------------- report

def mean(xs):
    return statistics.fmean(xs) if xs else float("nan")


def spread(xs):
    return (max(xs) - min(xs)) if xs else float("nan")


def cells(rows, methods):
    """{(dataset, pct, learner): {method: [rows]}}, with full rows copied into every pct."""
    by = {}
    pcts = sorted({r["pct"] for r in rows if r["pct"] is not None})
    for r in rows:
        targets = pcts if r["pct"] is None else [r["pct"]]
        for p in targets:
            by.setdefault((r["dataset"], p, r["learner"]), {}).setdefault(r["method"], []).append(r)
    return by


def summarize(cell, method):
    full, uni, core = cell.get("full", []), cell.get("uniform", []), cell.get(method, [])
    if not (full and uni and core):
        return None
    lf, lu, lc = ([r["test_loss"] for r in x] for x in (full, uni, core))
    gap = mean(lu) - mean(lf)
    gap_spread = max(spread(lu), spread(lf))
    counted = gap > max(gap_spread, 0.005)
    pair_spread = max(spread(lu), spread(lc))
    diff = mean(lc) - mean(lu)
    verdict = "WORSE" if diff > pair_spread else ("BETTER" if -diff > pair_spread else "tie")
    return dict(full=mean(lf), uniform=mean(lu), coreset=mean(lc), uniform_spread=spread(lu),
                coreset_spread=spread(lc), gap=gap, closed=(mean(lu) - mean(lc)) / gap if gap != 0 else float("nan"),
                counted=counted, verdict=verdict, capped=any(r["capped"] for r in full),
                acc_full=mean([r["test_accuracy"] for r in full]), acc_uniform=mean([r["test_accuracy"] for r in uni]),
                acc_coreset=mean([r["test_accuracy"] for r in core]),
                fit_full=mean([r["fit_seconds"] for r in full]), fit_coreset=mean([r["fit_seconds"] for r in core]),
                fit_uniform=mean([r["fit_seconds"] for r in uni]),
                select=mean([r.get("select_seconds", 0) + r.get("model_seconds", 0) for r in core]),
                seeds=len(core))


def learner_summary(by, method, learners, pct=None):
    out = {}
    for learner in learners:
        closed, worse, n_cells, pooled_num, pooled_den = [], [], 0, 0.0, 0.0
        for (d, p, l), cell in by.items():
            if l != learner or (pct is not None and p != pct):
                continue
            s = summarize(cell, method)
            if s is None:
                continue
            n_cells += 1
            if s["verdict"] == "WORSE":
                worse.append(f"{d} {p}%")
            if s["counted"]:
                closed.append(s["closed"])
                pooled_num += s["uniform"] - s["coreset"]
                pooled_den += s["gap"]
        out[learner] = dict(mean_closed=mean(closed), median_closed=statistics.median(closed) if closed else float("nan"),
                            pooled=pooled_num / pooled_den if pooled_den else float("nan"), counted=len(closed),
                            cells=n_cells, worse=worse)
    return out


def pct_str(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def plot(by, methods, learners, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        log(f"  no plot ({e})")
        return False
    pcts = sorted({p for (_, p, _) in by})
    fig, axes = plt.subplots(1, len(pcts), figsize=(7 * len(pcts), 4.5), squeeze=False)
    width = 0.8 / max(1, len(methods))
    for ax, p in zip(axes[0], pcts):
        for m_i, method in enumerate(methods):
            vals = []
            for learner in learners:
                closed = [summarize(c, method) for (d, pp, l), c in by.items() if pp == p and l == learner]
                closed = [s["closed"] for s in closed if s and s["counted"]]
                vals.append(np.clip(mean(closed), -2, 1.5) if closed else 0)
            ax.bar(np.arange(len(learners)) + m_i * width, vals, width, label=method)
        ax.axhline(0.5, color="k", ls="--", lw=0.8)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(learners)) + width * (len(methods) - 1) / 2)
        ax.set_xticklabels(learners)
        ax.set_title(f"k = {p}%: mean gap closed over data sets (clipped to [-2, 1.5])", fontsize=10)
        ax.set_ylabel("(L_uniform - L_coreset) / (L_uniform - L_full)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def report(rows, args, results_path):
    methods = [m for m in args.methods if any(r["method"] == m for r in rows)]
    learners = [l for l in LEARNERS if any(r["learner"] == l for r in rows)]
    by = cells(rows, methods)
    stem = os.path.splitext(os.path.basename(results_path))[0]
    png_name = "gap_closed.png" if stem == "RESULTS" else f"gap_closed_{stem}.png"
    png = os.path.join(os.path.dirname(results_path), png_name)
    has_plot = plot(by, methods, learners, png)
    L = []
    L.append("# Downstream learners on a coreset: results (issue 27.2)")
    L.append("")
    L.append(f"Written {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
             f"`{' '.join(['tools/bench_downstream/bench_downstream.py'] + sys.argv[1:])}` on {platform.node()} "
             f"({os.cpu_count()} cores, shared), from {len(rows)} rows. Setup and definitions: README.md here.")
    L.append("")
    L.append("## Summary per learner and method")
    L.append("")
    L.append("Gap closed = (L_uniform - L_coreset) / (L_uniform - L_full), on means over seeds, in cells whose gap "
             "exceeds its spread and 0.005 (counted / cells). Target: mean >= 50% per learner, no WORSE cell.")
    L.append("")
    L.append("| method | learner | mean gap closed | median | pooled | counted/cells | WORSE than uniform (beyond spread) |")
    L.append("|---|---|---|---|---|---|---|")
    for method in methods:
        summ = learner_summary(by, method, learners)
        for learner in learners:
            s = summ[learner]
            L.append(f"| {method} | {learner} | {pct_str(s['mean_closed'])} | {pct_str(s['median_closed'])} | "
                     f"{pct_str(s['pooled'])} | {s['counted']}/{s['cells']} | "
                     f"{len(s['worse'])}: {', '.join(s['worse']) if s['worse'] else '-'} |")
    L.append("")
    pcts = sorted({p for (_, p, _) in by})
    L.append("Mean gap closed (WORSE cells) per k:")
    L.append("")
    L.append("| method | learner | " + " | ".join(f"k = {p}%" for p in pcts) + " |")
    L.append("|---|---|" + "---|" * len(pcts))
    for method in methods:
        per = {p: learner_summary(by, method, learners, p) for p in pcts}
        for learner in learners:
            L.append(f"| {method} | {learner} | " + " | ".join(
                f"{pct_str(per[p][learner]['mean_closed'])} ({len(per[p][learner]['worse'])})" for p in pcts) + " |")
    L.append("")
    if has_plot:
        L.append(f"![gap closed per learner]({png_name})")
        L.append("")
    for method in methods:
        L.append(f"## Per cell: {method}")
        L.append("")
        L.append("Test log-loss means (± half the min-max range over seeds), accuracy, fit seconds (coreset / full), "
                 "select seconds (with --fit-model's pass). full* = the full data capped: a uniform sample of "
                 "--svc-cap (SVC) or --full-cap rows, weights n/cap.")
        L.append("")
        L.append("| data | k | learner | full | uniform | coreset | closed | verdict | acc full/unif/core | "
                 "fit core / full (s) | select (s) |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for key in sorted(by):
            s = summarize(by[key], method)
            if s is None:
                continue
            d, p, l = key
            closed = pct_str(s["closed"]) if s["counted"] else f"({pct_str(s['closed'])})"
            L.append(f"| {d} | {p}% | {l} | {s['full']:.4f}{'*' if s['capped'] else ''} | {s['uniform']:.4f} "
                     f"(±{s['uniform_spread'] / 2:.4f}) | {s['coreset']:.4f} (±{s['coreset_spread'] / 2:.4f}) | "
                     f"{closed} | {s['verdict']} | {s['acc_full']:.3f}/{s['acc_uniform']:.3f}/{s['acc_coreset']:.3f} | "
                     f"{s['fit_coreset']:.3f} / {s['fit_full']:.2f} | {s['select']:.2f} |")
        L.append("")
    with open(results_path, "w") as f:
        f.write("\n".join(L) + "\n")
    log(f"wrote {rel(results_path)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=DEFAULT_BIN)
    ap.add_argument("--data", default=make_streams.DEFAULT_DATA)
    ap.add_argument("--datasets", default="all")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--ks", type=float, nargs="+", default=None, help="k as percent of the training part")
    ap.add_argument("--learners", default=",".join(LEARNERS))
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help=f"of {', '.join(METHODS)}; METHOD/flat or METHOD/sqrt: its rows with equal or square-root weights")
    ap.add_argument("--svc-cap", type=int, default=10000,
                    help="SVC: full data above this many rows is a uniform sample of this many; smaller sets above it are skipped")
    ap.add_argument("--full-cap", type=int, default=10**9,
                    help="other learners: full data above this many rows is a uniform sample of this many (weights n/cap)")
    ap.add_argument("--skip", default="", help="dataset:learner pairs not run, e.g. mnist:hgb")
    ap.add_argument("--reuse-any-binary", action="store_true",
                    help="--resume also reuses coreset rows made by another binary (when the change cannot alter them)")
    ap.add_argument("--test-cap", type=int, default=10000)
    ap.add_argument("--quick", action="store_true", help="seed 0, k 1%%, the small data sets")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--rows", nargs="+", default=[os.path.join(OUT, "rows.json")],
                    help="rows file (written; --resume reads it); --report-only reports on all the files given")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args()
    if args.quick:
        args.seeds = args.seeds or [0]
        args.ks = args.ks or [1]
        if args.datasets == "all":
            args.datasets = ",".join(QUICK_DATASETS)
    args.seeds = args.seeds if args.seeds is not None else [0, 1, 2]
    args.ks = [int(k) if float(k).is_integer() else k for k in (args.ks or [1, 10])]
    args.datasets = DATASETS if args.datasets == "all" else args.datasets.split(",")
    args.learners = args.learners.split(",")
    args.methods = args.methods.split(",")
    args.skip = set(filter(None, args.skip.split(",")))
    for m in args.methods:
        if m.partition("/")[0] not in METHODS or m.partition("/")[2] not in ("", "flat", "sqrt"):
            ap.error(f"unknown method {m!r}; known: {', '.join(METHODS)}")
    global ROWS_PATH
    ROWS_PATH = os.path.abspath(args.rows[0])
    rows = []
    if args.resume or args.report_only:
        for path in args.rows if args.report_only else args.rows[:1]:
            if os.path.exists(path):
                with open(path) as f:
                    rows.extend(json.load(f))
    if not args.report_only:
        binary = os.path.abspath(args.bin)
        if not os.path.exists(binary):
            sys.exit(f"no coreset binary at {binary} (swift build -c release, or --bin)")
        bh = sha256(binary)[:16]
        rows = [r for r in rows if r["binary"] == bh or r["method"] in ("full", "uniform") or args.reuse_any_binary]
        rows = [r for r in rows if r["train_rows"] <= (args.svc_cap if r["learner"] == "svc" else args.full_cap)]
        done = {(r["dataset"], r["seed"], r["pct"], r["method"], r["learner"]): r for r in rows}
        run_grid(args, binary, rows, done)
    report(rows, args, args.results)


if __name__ == "__main__":
    main()

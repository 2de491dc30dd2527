#!/usr/bin/env python3
"""Loads `coreset select` output in the tools people train with, by the README's recipes, and checks it.

usage: check_formats.py [CORESET_BINARY]   (default: .build/debug/coreset)

On a synthetic stream with +1/-1 labels (known rows, known total weight), for each output format:
- LIBSVM (the default) with scikit-learn's load_svmlight_file(zero_based=False), the weights from the
  `# id=N weight=W` comments; XGBoost's DMatrix(X, label, weight) from the same; XGBoost's own text
  reader of the file;
- VW (--output-format vw) with Vowpal Wabbit's own parser: importance weight and feature numbers;
- JSON Lines with a strict parser (no NaN/Infinity), CSV with the csv module.
Every element must be its input row (by id = stream position), with the same feature numbers in every
format, and the weights must total the stream's record count. Exits 0 with "skipped" when scikit-learn
(or numpy) is not installed; XGBoost and VW checks are skipped one by one when their package is missing.
"""
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from sklearn.datasets import load_svmlight_file
    from sklearn.linear_model import LogisticRegression
except ImportError as e:
    print(f"skipped: {e.name} is not installed (pip install scikit-learn)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N, D, K = 2000, 30, 60
problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def synthetic_stream():
    rng = random.Random(24)
    lines = []
    for _ in range(N):
        positive = rng.random() < 0.3
        features = sorted(rng.sample(range(1, D + 1), 6))
        values = [round(rng.uniform(-2, 2) + (1 if positive and j <= 5 else 0), 4) for j in features]
        lines.append(("+1" if positive else "-1") + "".join(f" {j}:{v}" for j, v in zip(features, values)))
    return "\n".join(lines) + "\n"


def coreset_weights(path):
    """The README's recipe: the weight of each element is in its comment, `# id=N weight=W`."""
    return np.array([float(l.split("weight=")[1].split()[0]) for l in open(path) if "weight=" in l])


def coreset_ids(path):
    return [int(l.split("id=")[1].split()[0]) for l in open(path) if "id=" in l]


def strict_json(line):
    def reject(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(line, parse_constant=reject)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/coreset")
    work = tempfile.mkdtemp(prefix="coreset-formats-")
    source = os.path.join(work, "stream.svm")
    with open(source, "w") as f:
        f.write(synthetic_stream())
    X_in, y_in = load_svmlight_file(source, zero_based=False, n_features=D)
    X_in = X_in.toarray()

    paths = {}
    for fmt in ["libsvm", "vw", "jsonl", "csv"]:
        paths[fmt] = os.path.join(work, "coreset." + fmt)
        args = [binary, "select", "-q", "-k", str(K), "--threads", "1", source, "-o", paths[fmt]]
        if fmt != "libsvm":
            args += ["--output-format", fmt]
        subprocess.run(args, check=True)

    # scikit-learn: the default output, as the README says.
    X, y = load_svmlight_file(paths["libsvm"], zero_based=False, n_features=D)
    w = coreset_weights(paths["libsvm"])
    ids = coreset_ids(paths["libsvm"])
    X = X.toarray()
    check(X.shape == (K, D) and len(w) == K and len(ids) == K, f"sklearn: shapes {X.shape}, {len(w)} weights, {len(ids)} ids")
    check(abs(w.sum() - N) < 1e-6 * N, f"sklearn: weights total {w.sum()}, not {N}")
    for row, i in enumerate(ids):
        check(np.allclose(X[row], X_in[i], rtol=1e-6, atol=0) and y[row] == y_in[i], f"sklearn: element id={i} is not input row {i}")
    LogisticRegression().fit(X, y, sample_weight=w)
    print(f"ok: scikit-learn {__import__('sklearn').__version__}: load_svmlight_file, {K} elements, weight {w.sum():.3f}")

    # XGBoost: the same arrays, with weights.
    try:
        import xgboost as xgb
    except ImportError:
        print("skipped: xgboost is not installed")
    else:
        dm = xgb.DMatrix(X, label=(y > 0).astype(float), weight=w)
        check(np.allclose(dm.get_weight(), w), "xgboost: weights not kept")
        xgb.train({"objective": "binary:logistic", "max_depth": 2}, dm, num_boost_round=3)
        print(f"ok: xgboost {xgb.__version__}: DMatrix(X, label, weight) of {dm.num_row()} rows")

    # VW: its own parser reads the label, the importance weight and the feature numbers (LIBSVM's).
    try:
        import vowpalwabbit
    except ImportError:
        print("skipped: vowpalwabbit is not installed")
    else:
        ws = vowpalwabbit.Workspace("--quiet --noconstant --loss_function logistic")
        lines = [l for l in open(paths["vw"]) if l.strip()]
        check(len(lines) == K, f"vw: {len(lines)} lines")
        total = 0.0
        for line in lines:
            ex = ws.parse(line)
            i = int(ex.get_tag())
            row = X_in[i]
            features = dict(ex.iter_features())
            expected = {j + 1: row[j] for j in np.nonzero(row)[0]}
            check(set(features) == set(expected) and all(abs(features[j] - expected[j]) <= 1e-6 * abs(expected[j]) for j in expected),
                  f"vw: element '{i} has features {features}, input row {i} has {expected}")
            check(ex.get_simplelabel_label() == y_in[i], f"vw: label of '{i}")
            total += ex.get_simplelabel_weight()
            ws.learn(ex)
            ws.finish_example(ex)
        check(abs(total - N) < 1e-6 * N, f"vw: importance weights total {total}, not {N}")
        ws.finish()
        print(f"ok: vowpalwabbit {vowpalwabbit.__version__}: {len(lines)} examples, importance weight {total:.3f}")

    # JSON Lines: strict JSON, LIBSVM's feature numbers.
    total = 0.0
    for line in open(paths["jsonl"]):
        try:
            o = strict_json(line)
        except ValueError as e:
            problems.append(f"jsonl: {e}: {line.strip()}")
            continue
        row = X_in[o["id"]]
        check(o["indices"] == [int(j) + 1 for j in np.nonzero(row)[0]], f"jsonl: indices of id={o['id']}")
        check(np.allclose(o["values"], row[np.nonzero(row)[0]], rtol=1e-6, atol=0), f"jsonl: values of id={o['id']}")
        check(o["label"] == y_in[o["id"]], f"jsonl: label of id={o['id']} is {o['label']!r}")
        total += o["weight"]
    check(abs(total - N) < 1e-6 * N, f"jsonl: weights total {total}")
    print("ok: JSON Lines: strict JSON, LIBSVM's feature numbers")

    # CSV: columns f1..fD, dense.
    rows = list(csv.reader(open(paths["csv"])))
    check(rows[0] == ["id", "label", "weight"] + [f"f{j}" for j in range(1, D + 1)], f"csv: header {rows[0][:6]}...")
    for r in rows[1:]:
        check(np.allclose([float(v) for v in r[3:]], X_in[int(r[0])], rtol=1e-6, atol=0), f"csv: row id={r[0]}")
    print("ok: CSV: columns f1..fD")

    if problems:
        for p in problems[:20]:
            print("FAIL: " + p, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Gradient error of weighted coresets at a saved binary logistic model, relative to the full gradient.

Usage: shard_gradient_error.py DATA.svm[.zst] MODEL.json CORESET.svm [CORESET.svm ...]

For the model's w (and bias), the full data gradient G = sum_i (p_i - y_i) [x_i, 1] over DATA is compared
with each coreset's sum_j gamma_j (p_j - y_j) [x_j, 1] (LIBSVM `label ... # id=N weight=W` lines, as `coreset select`
writes them); printed: ||G - G_coreset|| / ||G||, and the same for uniform random subsets of the same size
weighted n/k (mean of 10 draws, seeded). The L2 term is left out: a coreset approximates the data part.
Needs numpy and scikit-learn (load_svmlight_file). Labels: 1 is positive, anything else negative.
"""
import io
import json
import subprocess
import sys

import numpy as np
from sklearn.datasets import load_svmlight_file


def load_data(path, n_features):
    raw = subprocess.run(["zstd", "-dcf", path], capture_output=True, check=True).stdout
    X, y = load_svmlight_file(io.BytesIO(raw), n_features=n_features)
    return X.tocsr(), (y == 1).astype(np.float64)


def load_coreset(path, n_features):
    labels, weights, lines = [], [], []
    for line in open(path):
        line, _, comment = line.partition("#")
        line = line.strip()
        if not line:
            continue
        first, _, rest = line.partition(" ")
        label, _, weight = first.partition(":")
        # `label ... # id=N weight=W`; coreset 0.1 wrote `label:weight ...`.
        if not weight and "weight=" in comment:
            weight = comment.split("weight=", 1)[1].split()[0]
        labels.append(float(label))
        weights.append(float(weight) if weight else 1.0)
        lines.append(f"0 {rest}")
    X, _ = load_svmlight_file(io.BytesIO("\n".join(lines).encode()), n_features=n_features)
    return X.tocsr(), (np.array(labels) == 1).astype(np.float64), np.array(weights)


def gradient(X, y, gamma, w, b):
    r = gamma * (1 / (1 + np.exp(-(X @ w + b))) - y)
    return np.concatenate([X.T @ r, [r.sum()]])


def main():
    data, model_path, coresets = sys.argv[1], sys.argv[2], sys.argv[3:]
    m = json.load(open(model_path))["model"]
    assert m["configuration"]["loss"] == "logistic", "binary logistic models only"
    w, b = np.array(m["weights"]), m["bias"][0]
    d = len(w)
    X, y = load_data(data, d)
    full = gradient(X, y, np.ones(len(y)), w, b)
    norm = np.linalg.norm(full)
    rng = np.random.default_rng(12345)
    random_cache = {}
    for path in coresets:
        Xc, yc, gc = load_coreset(path, d)
        err = np.linalg.norm(full - gradient(Xc, yc, gc, w, b)) / norm
        k = len(yc)
        if k not in random_cache:
            errs = []
            for _ in range(10):
                idx = rng.integers(0, len(y), size=k)
                errs.append(np.linalg.norm(full - gradient(X[idx], y[idx], np.full(k, len(y) / k), w, b)) / norm)
            random_cache[k] = float(np.mean(errs))
        print(json.dumps({"coreset": path, "size": k, "total_weight": float(gc.sum()), "relative_error": float(err),
                          "random_relative_error": random_cache[k], "x_random": float(err / random_cache[k])}))


main()

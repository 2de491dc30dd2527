#!/usr/bin/env python3
"""pycoreset.select (in-process, through libCoresetC) against `coreset select` (a process reading the
file), side by side on the same data and settings; checks that both choose the same rows and weights.

    swift build -c release && python/build_wheel.sh   # or any libCoresetC.so in CORESET_LIBRARY
    tools/out/venv-ci/bin/python tools/bench_python/bench.py [-k 1000] [--data fixtures/adult/adult.train.svm.zst]

Needs numpy, scipy, scikit-learn and pycoreset installed (as .ci/run's venv has) and the `zstd` command.
"""
import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "fixtures/adult/adult.train.svm.zst"))
    ap.add_argument("-k", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", default=str(ROOT / ".build/release/coreset"))
    args = ap.parse_args()
    os.environ.setdefault("CORESET_LIBRARY", str(ROOT / ".build/release/libCoresetC.so"))
    import pycoreset

    text = subprocess.run(["zstd", "-dc", args.data], check=True, capture_output=True).stdout
    t = time.perf_counter()
    X, y = load_svmlight_file(io.BytesIO(text))
    load = time.perf_counter() - t
    X = X.tocsr()
    y = (y > 0).astype(int)
    print(f"{Path(args.data).name}: {X.shape[0]} rows, {X.shape[1]} features, {X.nnz} non-zeros; "
          f"load_svmlight_file {load:.2f} s (not counted below)", file=sys.stderr)

    rows = []
    for r in range(args.repeat):
        t = time.perf_counter()
        indices, weights = pycoreset.select(X, y, args.k)
        py = time.perf_counter() - t
        t = time.perf_counter()
        out = subprocess.run([args.cli, "select", "-k", str(args.k), "--threads", "1", "--output-format", "jsonl", args.data],
                             check=True, capture_output=True).stdout
        cli = time.perf_counter() - t
        rows.append((py, cli))
        print(f"run {r + 1}: pycoreset.select {py:.2f} s, coreset select {cli:.2f} s", file=sys.stderr)
    elements = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    cli_ids = np.array([e["id"] for e in elements])
    cli_weights = np.array([e["weight"] for e in elements])
    order = np.argsort(indices)
    same = np.array_equal(np.sort(cli_ids), indices[order])
    max_dw = float(np.max(np.abs(cli_weights[np.argsort(cli_ids)] - weights[order]))) if same else float("nan")
    py_med, cli_med = np.median([r[0] for r in rows]), np.median([r[1] for r in rows])
    print(f"| data | k | pycoreset.select (s, median of {args.repeat}) | coreset select --threads 1 (s) | same rows | max weight difference |")
    print("|---|---|---|---|---|---|")
    print(f"| {Path(args.data).name} | {args.k} | {py_med:.2f} | {cli_med:.2f} | {'yes' if same else 'NO'} | {max_dw:.2e} |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

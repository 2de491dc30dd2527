#!/usr/bin/env python3
"""Ingest speed, side by side in one run: `zstd -dc | wc -l`, `coreset stats`, scikit-learn's
load_svmlight_file, and Vowpal Wabbit's parser (`--noop` on the same data in VW text format).

Usage: python3 tools/bench_ingest.py [--repeat 3] [DATA.svm.zst ...]
Default data: ../shared/data/census_kdd/census_kdd.train.svm.zst and mnist.train.svm.zst.
Needs: zstd, GNU time (/usr/bin/time), `pip install scikit-learn vowpalwabbit`.
Prints MB/s of decompressed text (best of --repeat runs), ratios to `zstd -dc | wc -l`, and peak memory.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
DEFAULT = [os.path.join(DATA, "census_kdd", "census_kdd.train.svm.zst"), os.path.join(DATA, "mnist", "mnist.train.svm.zst")]
CORESET = os.path.join(ROOT, ".build", "release", "coreset")


def timed(cmd, shell=False):
    """Wall seconds and peak RSS (MiB, of the measured command via GNU time) of one run."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        wrapped = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + (["sh", "-c", cmd] if shell else cmd)
        t0 = time.perf_counter()
        subprocess.run(wrapped, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        rss = int(tf.read().strip().splitlines()[-1]) / 1024
    return t, rss


def best(cmd, repeat, shell=False):
    runs = [timed(cmd, shell) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(CORESET):
        subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT], check=True)
    print(f"{'data':<28} {'tool':<34} {'seconds':>8} {'MB/s':>8} {'x zstd|wc':>10} {'peak MiB':>9}")
    for path in args.files:
        if not os.path.exists(path):
            print(f"skip {path}: not found", file=sys.stderr)
            continue
        name = os.path.basename(path)
        text = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
        mb = len(text) / 1e6
        with tempfile.TemporaryDirectory() as tmp:
            svm = os.path.join(tmp, "data.svm")
            with open(svm, "wb") as f:
                f.write(text)
            vw = os.path.join(tmp, "data.vw")
            with open(vw, "w") as f:
                for line in text.decode().splitlines():
                    label, _, feats = line.partition(" ")
                    f.write(f"{label} |f {feats}\n")
            vw_mb = os.path.getsize(vw) / 1e6
            base, base_rss = best(f"zstd -dc '{path}' | wc -l", args.repeat, shell=True)
            rows = [("zstd -dc | wc -l", base, mb, base_rss)]
            t, rss = best([CORESET, "stats", "--quiet", path], args.repeat)
            rows.append(("coreset stats (.zst)", t, mb, rss))
            t, rss = best(["python3", "-c", f"from sklearn.datasets import load_svmlight_file; load_svmlight_file('{svm}')"], 1)
            rows.append(("sklearn load_svmlight_file (plain)", t, mb, rss))
            t, rss = best(["python3", "-c", f"import vowpalwabbit; w = vowpalwabbit.Workspace('--noop --quiet -d {vw}'); w.finish()"], args.repeat)
            rows.append(("vowpalwabbit --noop (plain VW)", t, vw_mb, rss))
            for tool, t, size, rss in rows:
                print(f"{name:<28} {tool:<34} {t:>8.3f} {size / t:>8.1f} {t / base:>10.2f} {rss:>9.1f}")
            ours = rows[1][1]
            print(f"{name:<28} ratios: coreset/zstd|wc time {ours / base:.2f}x; coreset vs VW parser speed {(mb / ours) / (vw_mb / rows[3][1]):.1f}x; "
                  f"vs sklearn {(mb / ours) / (mb / rows[2][1]):.1f}x")


if __name__ == "__main__":
    main()

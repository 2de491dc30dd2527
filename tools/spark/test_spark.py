#!/usr/bin/env python3
"""End-to-end test of coreset_spark.py: real Spark (local mode), the real binary, real data.

Heavy (pyspark is a ~450 MB download, Java 17 must be installed), so it is opt-in:
  CORESET_SPARK_TEST=1 swift test --filter SparkIntegrationTests     # from the repository root
  python3 tools/spark/test_spark.py [--data ../shared/data] [-k 500]

Steps:
 1. a virtual environment with pyspark 4.3.0 (tools/out/spark-venv, or $CORESET_SPARK_VENV), created once;
 2. `swift build -c release --static-swift-stdlib --product coreset` (.build-spark), since pipe's children
    get an empty environment;
 3. census_kdd train (199,523 records) cut into 8 contiguous shards, each compressed with zstd (Hadoop could
    not read them: the job hands the paths to our binary);
 4. the Spark job, one partition per shard, on local[2];
 5. checks: per-class merged weights equal the label counts of the input; the Spark result is byte-identical
    to the same pipeline run locally (select per shard, then merge); the merged coreset's facility-location
    objective on a fixed 2,000-record sample is within 5% of one `coreset select` over the whole file (same k).
Ends with the line 'N passed, M failed' and exits non-zero on any failure.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tools", "out", "spark-test")
SHARDS = 8


def log(msg):
    print(f"[spark-test] {msg}", flush=True)


def ensure_venv():
    venv = os.environ.get("CORESET_SPARK_VENV", os.path.join(ROOT, "tools", "out", "spark-venv"))
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    if subprocess.run([python, "-c", "import pyspark"], capture_output=True).returncode != 0:
        log("installing pyspark 4.3.0 (a large download)")
        subprocess.run([python, "-m", "pip", "install", "-q", "pyspark==4.3.0"], check=True)
    return python


def build_binary():
    scratch = os.path.join(ROOT, ".build-spark")
    log("building the static coreset binary")
    subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "coreset",
                    "--scratch-path", scratch], cwd=ROOT, check=True)
    return os.path.join(scratch, "release", "coreset")


def parse_libsvm(line):
    data, _, comment = line.partition("#")
    body = data.split()
    head = body[0].split(":")
    x = {}
    for tok in body[1:]:
        i, v = tok.split(":")
        x[int(i)] = float(v)
    # A coreset line carries its weight in the comment (`# id=N weight=W`); coreset 0.1 wrote `label:weight`.
    if len(head) > 1:
        weight = float(head[1])
    elif "weight=" in comment:
        weight = float(comment.split("weight=", 1)[1].split()[0])
    else:
        weight = 1.0
    return head[0], weight, x


def sqnorm(x):
    return sum(v * v for v in x.values())


def dot(a, b):
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(i, 0.0) for i, v in a.items())


def objective(selected, sample, d):
    """Per-class facility location Σ_sample max_selected max(0, D − ‖x − y‖)."""
    by_class = {}
    for label, _, x in selected:
        by_class.setdefault(label, []).append((x, sqnorm(x)))
    total = 0.0
    for label, _, x in sample:
        xn = sqnorm(x)
        best = 0.0
        for y, yn in by_class.get(label, []):
            best = max(best, d - math.sqrt(max(0.0, xn + yn - 2 * dot(x, y))))
        total += best
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("-k", type=int, default=500)
    args = ap.parse_args()
    data = os.path.join(args.data, "census_kdd", "census_kdd.train.svm.zst")
    if not os.path.exists(data):
        log(f"{data} is absent: skipped")
        print("0 passed, 0 failed, 1 skipped")
        return
    python = ensure_venv()
    binary = build_binary()
    os.makedirs(OUT, exist_ok=True)

    log("cutting census_kdd train into 8 zstd shards")
    lines = subprocess.run(["zstd", "-dc", data], capture_output=True, check=True).stdout.splitlines(keepends=True)
    n = len(lines)
    shards = []
    for s in range(SHARDS):
        path = os.path.join(OUT, f"part-{s}.svm.zst")
        subprocess.run(["zstd", "-q", "-f", "-o", path], input=b"".join(lines[s * n // SHARDS:(s + 1) * n // SHARDS]), check=True)
        shards.append(path)
    counts = {}
    records = [parse_libsvm(l.decode()) for l in lines]
    for label, _, _ in records:
        counts[label] = counts.get(label, 0) + 1

    log("running the Spark job (local[2])")
    merged_path = os.path.join(OUT, "merged.svm")
    t0 = time.monotonic()
    job = subprocess.run([python, os.path.join(HERE, "coreset_spark.py"), "--coreset", binary, "-k", str(args.k),
                          "--master", "local[2]", "--output", merged_path, *shards], capture_output=True, text=True)
    spark_seconds = time.monotonic() - t0
    sys.stderr.write(job.stderr[-3000:])
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        log(f"{'PASS' if ok else 'FAIL'} {name} {detail}")

    check("the job exits 0", job.returncode == 0, f"(exit {job.returncode}, {spark_seconds:.1f} s)")
    if job.returncode != 0:
        print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
        sys.exit(1)
    summary = json.loads(job.stdout.strip().splitlines()[0])
    log(f"job summary: {json.dumps(summary, sort_keys=True)}")
    merged_lines = open(merged_path).read().splitlines()
    merged = [parse_libsvm(l) for l in merged_lines]
    check("the merged coreset has k elements", len(merged) == args.k, f"({len(merged)})")
    by_label = {}
    for label, w, _ in merged:
        by_label[label] = by_label.get(label, 0.0) + w
    for label, c in sorted(counts.items()):
        got = by_label.get(label, 0.0)
        check(f"class {label}: merged weight = records", abs(got - c) <= 1e-9 * c, f"({got!r} vs {c})")

    log("the same pipeline locally: select per shard, then merge")
    t0 = time.monotonic()
    local_shards = []
    for s, path in enumerate(shards):
        out = os.path.join(OUT, f"local-{s}.svm")
        subprocess.run([binary, "select", "-q", "-k", str(args.k), "--output-format", "libsvm", path, "-o", out], check=True)
        local_shards.append(out)
    local_merged = subprocess.run([binary, "merge", "-q", "-k", str(args.k), *local_shards], capture_output=True, text=True, check=True).stdout
    local_seconds = time.monotonic() - t0
    check("Spark's result is byte-identical to the local pipeline", local_merged == "\n".join(merged_lines) + "\n",
          f"(Spark {spark_seconds:.1f} s incl. start-up, local {local_seconds:.1f} s)")

    log("objective on a fixed 2,000-record sample vs one stream over the whole file")
    union = subprocess.run([binary, "select", "-q", "-k", str(args.k), data], capture_output=True, text=True, check=True).stdout
    union_set = [parse_libsvm(l) for l in union.splitlines() if l and not l.startswith("#")]
    first = [x for _, _, x in records[:500]]
    norms = [sqnorm(x) for x in first]
    d = 0.0
    for i in range(len(first)):
        for j in range(i):
            d = max(d, math.sqrt(max(0.0, norms[i] + norms[j] - 2 * dot(first[i], first[j]))))
    sample = random.Random(12345).sample(records, 2000)
    f_merged, f_union = objective(merged, sample, d), objective(union_set, sample, d)
    check("merged objective within 5% of the one-stream coreset's", f_merged >= 0.95 * f_union,
          f"(merged {f_merged:.1f}, one stream {f_union:.1f}, ratio {f_merged / f_union:.4f}; D = {d:.4f})")
    with open(os.path.join(OUT, "result.json"), "w") as f:
        json.dump({"spark_seconds": spark_seconds, "local_seconds": local_seconds, "objective_merged": f_merged,
                   "objective_one_stream": f_union, "ratio": f_merged / f_union, "k": args.k, "summary": summary,
                   "passed": sum(results), "failed": len(results) - sum(results)}, f, indent=1, sort_keys=True)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()

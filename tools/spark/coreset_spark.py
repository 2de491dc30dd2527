#!/usr/bin/env python3
"""Scale-out with Apache Spark: `coreset select` per partition through RDD.pipe, then `coreset merge`.

Usage:
  python coreset_spark.py --coreset /abs/path/to/coreset -k 1000 [--partitions P] [--master local[4]]
                          [--select-args "--algorithm sieve++"] [--output merged.svm] FILE...

How it runs (facts in ../shared/reference/conventions.md):
- Hadoop's text reader cannot read .zst, so the job parallelises the list of input *paths*; each task hands
  its paths to our binary, which decompresses and parses them itself (any format coreset reads).
- RDD.pipe starts the child with an EMPTY environment: every program is called by absolute path, and the
  binary must not need LD_LIBRARY_PATH (build it with `swift build -c release --static-swift-stdlib`).
- Stage 1: one partition per group of paths -> `xargs coreset select -k K` -> the partition's weighted
  coreset, one LIBSVM line per element (`label ... # id=N weight=W`).
- Stage 2: `coalesce(1)` (no shuffle: partitions in order) -> `coreset merge -k K -` reads the union of the
  partitions' coresets from stdin and reduces it to k elements, weights carried over per class.
- The driver writes the merged coreset and checks that its per-class weights equal the partitions' totals.
Prints one JSON line with the counts and totals on stdout.
"""
import argparse
import json
import os
import shlex
import sys
import time


def weights_by_label(lines):
    totals = {}
    for line in lines:
        if not line or line.startswith("#"):
            continue
        # `label ... # id=N weight=W` (coreset 0.1 wrote `label:weight ...`).
        label, _, weight = line.split(None, 1)[0].partition(":")
        if not weight:
            weight = line.rsplit("weight=", 1)[1].split()[0]
        totals[label] = totals.get(label, 0.0) + float(weight)
    return totals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--coreset", required=True, help="absolute path of the coreset binary (built with --static-swift-stdlib)")
    ap.add_argument("-k", type=int, default=1000)
    ap.add_argument("--partitions", type=int, help="default: one per input file")
    ap.add_argument("--master", default="local[*]")
    ap.add_argument("--select-args", default="", help="extra options for `coreset select` (e.g. '--algorithm three-sieves')")
    ap.add_argument("--merge-args", default="", help="extra options for `coreset merge`")
    ap.add_argument("--output", help="write the merged coreset here (default: stdout, after the JSON line)")
    args = ap.parse_args()

    binary = os.path.abspath(args.coreset)
    if not os.access(binary, os.X_OK):
        sys.exit(f"coreset_spark: {binary}: not an executable")
    paths = [os.path.abspath(f) for f in args.files]
    for p in paths:
        if not os.path.exists(p):
            sys.exit(f"coreset_spark: {p}: no such file")
    partitions = args.partitions or len(paths)

    from pyspark.sql import SparkSession  # imported late so --help works without pyspark

    spark = (SparkSession.builder.master(args.master).appName("coreset-select-merge")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    sc = spark.sparkContext
    t0 = time.monotonic()
    try:
        # Stage 1: paths in, one select per partition (xargs turns the partition's lines into arguments).
        select = (f"/usr/bin/xargs -d '\\n' -r -x {shlex.quote(binary)} select -q -k {args.k} "
                  f"--output-format libsvm {args.select_args}")
        shards = sc.parallelize(paths, partitions).pipe(select, checkCode=True).cache()
        shard_lines = shards.collect()
        shard_totals = weights_by_label(shard_lines)
        shard_elements = sum(1 for line in shard_lines if line and not line.startswith("#"))
        # Stage 2: the union of the partitions' coresets, merged in one task.
        merge = f"{shlex.quote(binary)} merge -q -k {args.k} {args.merge_args} -"
        merged = shards.coalesce(1).pipe(merge, checkCode=True).collect()
    finally:
        spark.stop()
    seconds = time.monotonic() - t0

    merged_totals = weights_by_label(merged)
    problems = []
    for label, total in shard_totals.items():
        got = merged_totals.get(label, 0.0)
        if abs(got - total) > 1e-9 * max(1.0, total):
            problems.append(f"class {label}: merged weight {got} != partitions' {total}")
    text = "".join(line + "\n" for line in merged)
    if args.output:
        with open(args.output + ".tmp", "w") as f:
            f.write(text)
        os.replace(args.output + ".tmp", args.output)
    print(json.dumps({"inputs": len(paths), "partitions": partitions, "k": args.k, "shard_elements": shard_elements,
                      "merged_elements": len(merged), "shard_weight_by_label": shard_totals,
                      "merged_weight_by_label": merged_totals, "seconds": round(seconds, 2), "problems": problems},
                     sort_keys=True), flush=True)
    if not args.output:
        sys.stdout.write(text)
    if problems:
        for p in problems:
            print(f"coreset_spark: {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

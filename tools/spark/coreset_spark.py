#!/usr/bin/env python3
"""Scale-out with Apache Spark: `coreset select` per input shard, then a tree of `coreset merge`s.

Usage (local mode, or under spark-submit on a cluster; see docs/merge-scale-out.md):
  python coreset_spark.py --coreset /path/to/coreset -k 1000 [--fan-in 8] [--master local[4]] URI...
  spark-submit --master yarn --files /path/to/coreset coreset_spark.py --shipped-coreset coreset -k 1000 \
      --output merged.svm hdfs:///logs/day=*/part-*.zst

Inputs are Hadoop URIs or paths (hdfs://, s3a://, file://, plain paths; directories and globs expand), read
through Spark, so tasks run where the blocks are and no node needs a shared mount:
- default: `binaryFiles`, one record per file (zstd, gzip or plain; any format coreset reads). Every file is
  one shard: shard i is the i-th file in the sorted listing (printed in the summary as "shards").
- `--text`: Hadoop's text input (plain or a codec Hadoop has: .gz, .bz2), one shard per input split.
The binary reaches the executors through SparkContext.addFile (`--coreset PATH` on the driver) or
spark-submit `--files` (`--shipped-coreset NAME`); tasks find it with SparkFiles.get and run it with
subprocess. Build it with `swift build -c release --product coreset -Xswiftc -static-executable`: statically
linked, it needs nothing on the executors but a Linux x86-64 kernel.

Stage 1: per shard `coreset select -k K` -> a weighted coreset (LIBSVM, `label ... # id=N weight=W`).
Stage 2: a tree: shards grouped by index in groups of --fan-in m, each group merged by one
`coreset merge -k K --first-shard g*m` (so every element names its origin `shard:id`), then the groups'
results in groups of m, and so on: depth ceil(log_m(shards)), each merge a union of at most m*k elements.
The driver writes the merged coreset and checks that its per-class weights equal the shards' totals.
Prints one JSON line with counts, totals and per-stage seconds on stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def weights_by_label(text):
    totals = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        # `label ... # id=N weight=W` (coreset 0.1 wrote `label:weight ...`).
        label, _, weight = line.split(None, 1)[0].partition(":")
        if not weight:
            weight = line.rsplit("weight=", 1)[1].split()[0]
        totals[label] = totals.get(label, 0.0) + float(weight)
    return totals


def list_inputs(sc, inputs):
    """Every file the inputs name (directories and globs expanded), fully qualified, sorted; exits on a missing one."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    files = []
    for uri in inputs:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
        if statuses is None or len(statuses) == 0:
            sys.exit(f"coreset_spark: {uri}: no such file")
        for st in statuses:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    f = it.next()
                    name = f.getPath().getName()
                    if not name.startswith(("_", ".")):  # _SUCCESS, .crc
                        files.append(f.getPath().toString())
            else:
                files.append(st.getPath().toString())
    return sorted(set(files))


def make_runner(binary_name):
    """A function for tasks: runs the shipped binary (found with SparkFiles) with arguments, returns its stdout."""
    def run(args):
        from pyspark import SparkFiles
        binary = SparkFiles.get(binary_name)
        if not os.access(binary, os.X_OK):
            os.chmod(binary, 0o755)
        p = subprocess.run([binary, *args], capture_output=True)
        if p.returncode != 0:
            raise RuntimeError(f"coreset {args[0]} exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
        return p.stdout.decode()
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="Hadoop URIs or paths: files, directories or globs")
    ship = ap.add_mutually_exclusive_group(required=True)
    ship.add_argument("--coreset", help="the coreset binary on the driver; shipped to executors with SparkContext.addFile")
    ship.add_argument("--shipped-coreset", metavar="NAME", help="file name of a binary given to spark-submit --files")
    ap.add_argument("-k", type=int, default=1000)
    ap.add_argument("--fan-in", type=int, default=8, help="coresets per merge in the tree (m >= 2)")
    ap.add_argument("--partitions", type=int, help="input partitions (default: one per file; --text: Hadoop's splits, at least one per file)")
    ap.add_argument("--text", action="store_true", help="read plain text through Hadoop's text input, one shard per split")
    ap.add_argument("--master", help="Spark master (default: what spark-submit or the environment sets, else local[*])")
    ap.add_argument("--select-args", default="", help="extra options for `coreset select` (e.g. '--algorithm three-sieves')")
    ap.add_argument("--merge-args", default="", help="extra options for `coreset merge`")
    ap.add_argument("--output", help="write the merged coreset here, on the driver (default: stdout, after the JSON line)")
    args = ap.parse_args()
    if args.fan_in < 2:
        sys.exit("coreset_spark: --fan-in must be at least 2")
    if args.coreset and not os.access(args.coreset, os.X_OK):
        sys.exit(f"coreset_spark: {args.coreset}: not an executable")

    from pyspark.sql import SparkSession  # imported late so --help works without pyspark

    builder = SparkSession.builder.appName("coreset-select-merge").config("spark.ui.enabled", "false")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    if args.coreset:
        sc.addFile(os.path.abspath(args.coreset))
        binary_name = os.path.basename(args.coreset)
    else:
        binary_name = args.shipped_coreset
    run = make_runner(binary_name)
    k = args.k
    select_args = args.select_args.split()
    merge_args = args.merge_args.split()
    t0 = time.monotonic()
    try:
        files = list_inputs(sc, args.inputs)
        # Stage 1: one select per shard.
        if args.text:
            lines = sc.textFile(",".join(files), minPartitions=args.partitions or len(files))

            def select_split(index, it):
                with tempfile.TemporaryDirectory() as d:
                    path = os.path.join(d, f"split-{index}.txt")
                    with open(path, "w") as f:
                        for line in it:
                            f.write(line + "\n")
                    yield index, run(["select", "-q", "-k", str(k), "--output-format", "libsvm", *select_args, path])
            shards = lines.mapPartitionsWithIndex(select_split)
        else:
            index = sc.broadcast({f: i for i, f in enumerate(files)})

            def select_file(pair):
                uri, content = pair
                with tempfile.TemporaryDirectory() as d:
                    path = os.path.join(d, os.path.basename(uri))
                    with open(path, "wb") as f:
                        f.write(content)
                    return index.value[uri], run(["select", "-q", "-k", str(k), "--output-format", "libsvm", *select_args, path])
            if args.partitions:
                raw = sc.binaryFiles(",".join(files), minPartitions=args.partitions)
            else:
                # One partition per file (binaryFiles alone packs small files into one split), each still
                # read where its blocks are.
                raw = sc.union([sc.binaryFiles(f) for f in files])
            shards = raw.map(select_file)
        level = shards.cache()
        shard_items = level.collect()
        t_select = time.monotonic() - t0
        shard_count = len(shard_items)
        shard_text = "".join(text for _, text in shard_items)
        shard_totals = weights_by_label(shard_text)
        shard_elements = sum(1 for line in shard_text.splitlines() if line and not line.startswith("#"))

        # Stage 2: a tree of merges, m coresets per merge, keyed by index (so origins and results are deterministic).
        m = args.fan_in
        count, depth, first = shard_count, 0, True
        while count > 1 or first:
            groups = (count + m - 1) // m

            def merge_group(group, first_level=first):
                g, members = group
                members = sorted(members)
                with tempfile.TemporaryDirectory() as d:
                    paths = []
                    for i, text in members:
                        path = os.path.join(d, f"in-{i}.svm")
                        with open(path, "w") as f:
                            f.write(text)
                        paths.append(path)
                    origin = ["--first-shard", str(members[0][0])] if first_level else []
                    return g, run(["merge", "-q", "-k", str(k), "--output-format", "libsvm", *origin, *merge_args, *paths])
            level = level.map(lambda item, m=m: (item[0] // m, item)).groupByKey(numPartitions=groups).map(merge_group)
            count, depth, first = groups, depth + 1, False
        merged_items = level.collect()
        merged = merged_items[0][1] if merged_items else ""
    finally:
        spark.stop()
    seconds = time.monotonic() - t0

    merged_totals = weights_by_label(merged)
    problems = []
    for label, total in shard_totals.items():
        got = merged_totals.get(label, 0.0)
        if abs(got - total) > 1e-9 * max(1.0, total):
            problems.append(f"class {label}: merged weight {got} != shards' {total}")
    if args.output:
        with open(args.output + ".tmp", "w") as f:
            f.write(merged)
        os.replace(args.output + ".tmp", args.output)
    merged_elements = sum(1 for line in merged.splitlines() if line and not line.startswith("#"))
    print(json.dumps({"inputs": len(files), "shards": shard_count, "k": k, "fan_in": m, "merge_depth": depth,
                      "shard_elements": shard_elements, "merged_elements": merged_elements,
                      "shard_weight_by_label": shard_totals, "merged_weight_by_label": merged_totals,
                      "select_seconds": round(t_select, 2), "merge_seconds": round(seconds - t_select, 2),
                      "seconds": round(seconds, 2), "files": files if not args.text else None, "problems": problems},
                     sort_keys=True), flush=True)
    if not args.output:
        sys.stdout.write(merged)
    if problems:
        for p in problems:
            print(f"coreset_spark: {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

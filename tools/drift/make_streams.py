#!/usr/bin/env python3
"""Streams for the replay benchmark (issue 23): shuffled and drifting, built from the real data sets.

Usage (from the repository root):

    python3 tools/drift/make_streams.py [--data ../shared/data] [--out tools/out/streams] [--seed 0]
                                        [--streams NAME,NAME,...] [--zstd] [--force] [--list]

Every stream is one ordered sequence of the data set's own records (the LIBSVM lines exactly as in the files,
labels as in the files: +1/-1 for binary sets, 0..K-1 for multiclass). It is cut in stream order into
NAME.train.svm (the first 80%) and NAME.test.svm (the last 20%), so "train on the first 80%, test on the last 20%"
measures how well the final model of a stream serves what comes next. With --zstd the files are zstd-compressed
(NAME.train.svm.zst); `coreset` reads either. OUT/streams.json describes every stream written (sizes, label counts
of both parts, the range of the sort key in each part, the seed).

Data sets with a train and a test file (adult, census_kdd, mnist): the two files are CONCATENATED (train, then test)
before the stream is ordered, so a stream uses all the records the package ships; the package's own split is not
used (its test file is another sample of the same population, and the 80/20 split is ours).

The seed (--seed) decides every random choice: the permutation of a shuffled stream, the order of records that
tie on a drifting stream's sort key (which is most of them: ages are whole years), and the interleaving of the
mnist blocks. The drift itself (the sort key, the block layout) is the same for every seed. A stable sort follows
a seeded shuffle, so records with equal keys are in seeded random order.

Shuffled streams (no drift; the order is a seeded uniform permutation):
  adult, aer_fertility, census_kdd, fail2ban_logs (fail2ban_logs.all.svm.zst, grouped by log source in the file),
  letter, magic, mnist, satimage (grouped by class in the file), shuttle.

Drifting streams (read in stream order; each is ordered by a real attribute of the records):
  census_kdd_by_age     census_kdd (train + test, 299,285 records) in ascending age. Age is LIBSVM feature 1, the
                        first min-max scaled continuous column (0..90 years; 0 = absent feature = age 0). The stream
                        starts with children (all -1: no income of their own), passes through working ages, where
                        the share of +1 (income > 50,000) rises, and ends with the oldest (retirees): the label
                        prior and the meaning of most features (employment, weeks worked, marital status) move
                        with age, so both p(x) and p(y|x) drift. The test part is the oldest 20% (55+).
  adult_by_age          adult (train + test, 48,842 records) in ascending age (feature 1, 17..90 years): the share of
                        +1 (income > 50K) rises from ~0 at 17-20 to a peak in mid-life and falls again; occupation,
                        marital status and hours move with it. The test part is the oldest 20% (51+); +1 is 22% of
                        the first 80% and 32% of the last 20%.
  mnist_blocks          mnist (train + test, 70,000 records) with classes arriving in four groups {0,1,2} {3,4}
                        {5,6} {7,8,9}, in that order; consecutive groups OVERLAP: group g occupies the stream time
                        [g, g + 1.5) (each record of the group at a seeded uniform time in it), so during the
                        transitions [g+1, g+1.5) records of two groups are mixed (e.g. 0-2 and 3-4 interleaved),
                        between them only one group arrives. Class-incremental drift: p(y) moves, p(x|y) stays.
                        The test part (last 20%) is 7s, 8s and 9s; the training part holds about a third of them
                        (the transition from {5,6} and the start of the last block). The first group has three
                        classes on purpose: `coreset run` decides the task from its first batch of records, so a
                        stream opening with 0s and 1s only would need `--task multiclass` (without it, the run
                        is binary and refuses the later classes as bad records).
  magic_by_length       magic (19,020 records) in ascending fLength (feature 1, the length of the Cherenkov
                        image's major axis): a covariate shift along a physical attribute of the shower. Hadron
                        showers (-1) are longer, so the label prior drifts too (-1: 29% of the first 80%, 59% of the
                        last 20%; streams.json has the exact counts).
  letter_by_xbox        letter (20,000 records) in ascending x-box (feature 1, the horizontal position of the
                        letter's bounding box, 16 levels): a covariate shift in where the letter sits, with a
                        milder drift of the letter mix; all 26 letters occur in both parts.
  aer_fertility_by_age  aer_fertility (254,654 records; 1980 US census mothers aged 21-35) in ascending age
                        (feature 1): the share of mothers with more than two children (+1) rises with age.
                        15 distinct ages, so the order within an age is seeded; the test part is ages 34-35 (+1: 36% of the
                        first 80%, 45% of the last 20%).

Only the Python standard library and the `zstd` command are needed.
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
DEFAULT_OUT = os.path.join(ROOT, "tools", "out", "streams")
TRAIN_FRACTION = 0.8

# Source files of each data set, relative to the data folder, read in this order (train, then test).
SOURCES = {
    "adult": ["adult/adult.train.svm.zst", "adult/adult.test.svm.zst"],
    "aer_fertility": ["aer_fertility/aer_fertility.all.svm.zst"],
    "census_kdd": ["census_kdd/census_kdd.train.svm.zst", "census_kdd/census_kdd.test.svm.zst"],
    "fail2ban_logs": ["fail2ban_logs/fail2ban_logs.all.svm.zst"],
    "letter": ["letter/letter.all.svm.zst"],
    "magic": ["magic/magic.all.svm.zst"],
    "mnist": ["mnist/mnist.train.svm.zst", "mnist/mnist.test.svm.zst"],
    "satimage": ["satimage/satimage.all.svm.zst"],
    "shuttle": ["shuttle/shuttle.all.svm.zst"],
}

# Three classes in the first group: with two, `coreset run` would take the stream for a binary task (see above).
MNIST_GROUPS = [("0", "1", "2"), ("3", "4"), ("5", "6"), ("7", "8", "9")]
MNIST_OVERLAP = 0.5  # each group spans 1 + overlap units of stream time; the next one starts 1 unit later

# name -> (kind, source, parameters). kind: shuffled | sorted (by feature, ascending) | blocks (mnist).
STREAMS = {
    "adult": ("shuffled", "adult", {}),
    "aer_fertility": ("shuffled", "aer_fertility", {}),
    "census_kdd": ("shuffled", "census_kdd", {}),
    "fail2ban_logs": ("shuffled", "fail2ban_logs", {}),
    "letter": ("shuffled", "letter", {}),
    "magic": ("shuffled", "magic", {}),
    "mnist": ("shuffled", "mnist", {}),
    "satimage": ("shuffled", "satimage", {}),
    "shuttle": ("shuffled", "shuttle", {}),
    "census_kdd_by_age": ("sorted", "census_kdd", {"feature": 1, "attribute": "age"}),
    "adult_by_age": ("sorted", "adult", {"feature": 1, "attribute": "age"}),
    "mnist_blocks": ("blocks", "mnist", {"groups": MNIST_GROUPS, "overlap": MNIST_OVERLAP}),
    "magic_by_length": ("sorted", "magic", {"feature": 1, "attribute": "fLength"}),
    "letter_by_xbox": ("sorted", "letter", {"feature": 1, "attribute": "x-box"}),
    "aer_fertility_by_age": ("sorted", "aer_fertility", {"feature": 1, "attribute": "age"}),
}
SHUFFLED = [n for n, s in STREAMS.items() if s[0] == "shuffled"]
DRIFTING = [n for n, s in STREAMS.items() if s[0] != "shuffled"]


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def script_version():
    """Hash of this file: a stream written by another version of the script is rebuilt."""
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def read_lines(data, dataset):
    lines = []
    for rel in SOURCES[dataset]:
        path = os.path.join(data, rel)
        if not os.path.exists(path):
            raise SystemExit(f"missing data file {path} (use --data)")
        out = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
        lines.extend(l for l in out.decode().split("\n") if l.strip() and not l.lstrip().startswith("#"))
    return lines


def label_of(line):
    return line.split(None, 1)[0]


def feature_value(line, index):
    """Value of 1-based LIBSVM feature `index` (0.0 when absent: a sparse zero)."""
    for tok in line.split()[1:]:
        j, _, v = tok.partition(":")
        j = int(j)
        if j == index:
            return float(v)
        if j > index:  # indices ascend
            break
    return 0.0


def order(kind, params, lines, rng):
    """The stream order: a list of indices into lines, and each record's key (None for shuffled)."""
    idx = list(range(len(lines)))
    rng.shuffle(idx)
    if kind == "shuffled":
        return idx, None
    if kind == "sorted":
        keys = [feature_value(l, params["feature"]) for l in lines]
    elif kind == "blocks":
        group_of = {c: g for g, cs in enumerate(params["groups"]) for c in cs}
        keys = []
        for l in lines:
            g = group_of.get(label_of(l))
            if g is None:
                raise SystemExit(f"mnist_blocks: label {label_of(l)!r} in no group")
            keys.append(g + rng.random() * (1.0 + params["overlap"]))
    else:
        raise ValueError(kind)
    idx.sort(key=lambda i: keys[i])  # stable: ties keep the seeded shuffle's order
    return idx, keys


def counts(labels):
    out = {}
    for y in labels:
        out[y] = out.get(y, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (len(kv[0]), kv[0])))


def write(path, lines, compress):
    if compress:
        p = subprocess.Popen(["zstd", "-q", "-f", "-3", "-o", path], stdin=subprocess.PIPE)
        p.stdin.write(("\n".join(lines) + "\n").encode())
        p.stdin.close()
        if p.wait() != 0:
            raise SystemExit(f"zstd failed writing {path}")
    else:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)


def paths(out, name, compress):
    ext = ".svm.zst" if compress else ".svm"
    return os.path.join(out, name + ".train" + ext), os.path.join(out, name + ".test" + ext)


def load_meta(out):
    try:
        with open(os.path.join(out, "streams.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def build(names, out=DEFAULT_OUT, seed=0, data=DEFAULT_DATA, compress=False, force=False):
    """Write the named streams into `out` (unless already there for this seed and script version).
    Returns {name: description} for the named streams, including the train/test paths."""
    os.makedirs(out, exist_ok=True)
    meta = load_meta(out)
    version = script_version()
    cache = {}  # dataset -> lines, read once per call
    result = {}
    for name in names:
        if name not in STREAMS:
            raise SystemExit(f"unknown stream {name!r}; known: {', '.join(STREAMS)}")
        kind, dataset, params = STREAMS[name]
        train_path, test_path = paths(out, name, compress)
        m = meta.get(name)
        if (not force and m and m.get("seed") == seed and m.get("version") == version
                and m.get("train") == os.path.basename(train_path)
                and os.path.exists(train_path) and os.path.exists(test_path)):
            m = dict(m, train_path=train_path, test_path=test_path)
            result[name] = m
            continue
        if dataset not in cache:
            log(f"  reading {dataset} ...")
            cache[dataset] = read_lines(data, dataset)
        lines = cache[dataset]
        # one RNG per (stream, seed), so a stream does not depend on which others are built with it
        rng = random.Random(f"{name}/{seed}")
        idx, keys = order(kind, params, lines, rng)
        cut = int(round(len(idx) * TRAIN_FRACTION))
        train = [lines[i] for i in idx[:cut]]
        test = [lines[i] for i in idx[cut:]]
        write(train_path, train, compress)
        write(test_path, test, compress)
        m = {
            "kind": kind, "dataset": dataset, "sources": SOURCES[dataset], "seed": seed, "version": version,
            "train": os.path.basename(train_path), "test": os.path.basename(test_path),
            "n_train": len(train), "n_test": len(test),
            "labels_train": counts(label_of(l) for l in train), "labels_test": counts(label_of(l) for l in test),
        }
        if kind == "sorted":
            f = params["feature"]
            kt = [keys[i] for i in idx[:cut]]
            ke = [keys[i] for i in idx[cut:]]
            m.update(sort_feature=f, attribute=params["attribute"],
                     key_train=[min(kt), max(kt)], key_test=[min(ke), max(ke)])
        elif kind == "blocks":
            m.update(groups=[list(g) for g in params["groups"]], overlap=params["overlap"])
        meta[name] = m
        with open(os.path.join(out, "streams.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
        log(f"  {name}: {len(train):,} train / {len(test):,} test -> {os.path.relpath(train_path, ROOT)}")
        result[name] = dict(m, train_path=train_path, test_path=test_path)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder of the data sets (default: ../shared/data)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: tools/out/streams)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the shuffles and tie orders (default: 0)")
    ap.add_argument("--streams", default="all",
                    help="comma-separated stream names, or all / shuffled / drifting (default: all)")
    ap.add_argument("--zstd", action="store_true", help="write zstd-compressed files (NAME.train.svm.zst)")
    ap.add_argument("--force", action="store_true", help="rewrite streams that are already there")
    ap.add_argument("--list", action="store_true", help="list the streams and exit")
    args = ap.parse_args()
    if args.list:
        for n, (kind, ds, p) in STREAMS.items():
            extra = f" by feature {p['feature']} ({p['attribute']})" if kind == "sorted" else ""
            print(f"{n}\t{kind}{extra}\t{ds}")
        return
    names = {"all": list(STREAMS), "shuffled": SHUFFLED, "drifting": DRIFTING}.get(
        args.streams, [s for s in args.streams.split(",") if s])
    res = build(names, args.out, args.seed, args.data, args.zstd, args.force)
    for n, m in res.items():
        print(f"{n}\t{m['n_train']}\t{m['n_test']}\t{m['train_path']}\t{m['test_path']}")


if __name__ == "__main__":
    main()

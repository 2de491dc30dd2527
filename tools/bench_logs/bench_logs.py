#!/usr/bin/env python3
"""How many services of fail2ban's test logs does a k-line summary from `coreset select --format text` cover?

Data: ../shared/data/fail2ban_logs/fail2ban_logs.raw.txt.zst (1,067 lines of 91 services' logs; the service name
is the first tab-separated column). For each seed the lines are shuffled and the service column is cut off, so
the tool sees only the raw log text; the output ids (stream positions) are mapped back to services afterwards.

Side by side in one run: uniform random samples of the same size (many draws per seed: mean and range) and
`coreset select` under several representations, similarities and algorithms. Reported: services covered at
k = 91 and k = 200, mean and range over seeds, and the ratio to random's mean.

Then the labelled case: with the service as the label (`--label-field 0`), and with fail2ban's match flag
(the labelled CSV, `--label-pattern`), the classes' shares of the k elements against their shares of the lines.

Usage: python3 tools/bench_logs/bench_logs.py [--binary .build/release/coreset] [--seeds 5] [--quick]
"""
import argparse, os, random, statistics, subprocess, sys, tempfile, time, collections

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data", "fail2ban_logs")

# (name, extra arguments): representations and similarities explored. The first is the default.
CONFIGS = [
    ("default: words + shape 4-grams (13 bits), cosine saturated at 0.6", []),
    ("default at --hash-bits 18 (262,144 dimensions)", ["--hash-bits", "18"]),
    ("words + shape 4-grams, cosine (1 + cos) / 2 (the selector's plain cosine)", ["--similarity", "cosine"]),
    ("words + shape 4-grams, max(0, cos) (saturation 1: none)", ["--saturation", "1"]),
    ("words + shape 4-grams, cosine saturated at 0.5", ["--saturation", "0.5"]),
    ("words + shape 4-grams, cosine saturated at 0.7", ["--saturation", "0.7"]),
    ("words only (numbers masked), saturated 0.6", ["--shape-grams", "0"]),
    ("words only (numbers masked), cosine (1 + cos) / 2", ["--shape-grams", "0", "--similarity", "cosine"]),
    ("words only, raw numbers and dates, cosine (1 + cos) / 2", ["--shape-grams", "0", "--keep-numbers", "--keep-calendar-names", "--similarity", "cosine"]),
    ("shape 4-grams only, saturated 0.6", ["--word-weight", "0"]),
    ("words + bigrams + shape 4-grams, saturated 0.6", ["--ngrams", "2"]),
    ("words + shape 6-grams, saturated 0.6", ["--shape-grams", "6"]),
    ("words + shape 4-grams, timestamps stripped, saturated 0.6", ["--strip-timestamps"]),
    ("words + shape 4-grams, euclidean (CRAIG's D - d)", ["--similarity", "euclidean"]),
    ("words + shape 4-grams, rbf", ["--similarity", "rbf"]),
]
ALGORITHMS = ["greedy", "sieve++"]


def read_lines():
    path = os.path.join(DATA, "fail2ban_logs.raw.txt.zst")
    raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    rows = [l.split("\t", 1) for l in raw.split("\n") if l]
    return [(s, t) for s, t in rows]


def run_select(binary, path, k, extra):
    cmd = [binary, "select", "--format", "text", "--quiet", "-k", str(k)] + extra + [path]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = [r.split("\t") for r in out.splitlines() if r and not r.startswith("#")]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "coreset"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="default configuration only")
    args = ap.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"no data at {DATA}")
    lines = read_lines()
    services = sorted({s for s, _ in lines})
    print(f"{len(lines)} lines, {len(services)} services; seeds {args.seeds}; binary {args.binary}")
    configs = CONFIGS[:2] if args.quick else CONFIGS
    ks = [91, 200]
    tmp = tempfile.mkdtemp(prefix="bench-logs-")
    random_cov = {k: [] for k in ks}
    random_ranges = {k: [] for k in ks}
    results = collections.defaultdict(list)
    seconds = collections.defaultdict(float)
    for seed in range(args.seeds):
        order = lines[:]
        random.Random(seed).shuffle(order)
        path = os.path.join(tmp, f"shuffled-{seed}.log")
        with open(path, "w") as f:
            for _, t in order:
                f.write(t + "\n")
        svc = [s for s, _ in order]
        rng = random.Random(1000 + seed)
        for k in ks:
            draws = [len({svc[i] for i in rng.sample(range(len(svc)), k)}) for _ in range(args.draws)]
            random_cov[k].append(statistics.mean(draws))
            random_ranges[k] += [min(draws), max(draws)]
        for name, extra in configs:
            for algorithm in ALGORITHMS:
                for k in ks:
                    t0 = time.perf_counter()
                    rows = run_select(args.binary, path, k, ["--algorithm", algorithm] + extra)
                    seconds[(name, algorithm)] += time.perf_counter() - t0
                    ids = [int(r[1]) for r in rows]
                    assert len(ids) == k, (name, algorithm, k, len(ids))
                    results[(name, algorithm, k)].append(len({svc[i] for i in ids}))
    print()
    print("| representation, similarity | algorithm | k = 91: services (range) | vs random | k = 200: services (range) | vs random | seconds (all runs) |")
    print("|---|---|---|---|---|---|---|")
    rm = {k: statistics.mean(random_cov[k]) for k in ks}
    print(f"| uniform random sample ({args.draws} draws per seed) | | {rm[91]:.1f} ({min(random_ranges[91])}-{max(random_ranges[91])}) | 1.00 "
          f"| {rm[200]:.1f} ({min(random_ranges[200])}-{max(random_ranges[200])}) | 1.00 | |")
    for name, _ in configs:
        for algorithm in ALGORITHMS:
            cells = []
            for k in ks:
                v = results[(name, algorithm, k)]
                cells.append(f"{statistics.mean(v):.1f} ({min(v)}-{max(v)}) | {statistics.mean(v) / rm[k]:.2f}")
            print(f"| {name} | {algorithm} | {cells[0]} | {cells[1]} | {seconds[(name, algorithm)]:.1f} |")

    # Labelled: the service as the label (budget split in proportion), and fail2ban's match flag.
    print()
    order = lines[:]
    random.Random(0).shuffle(order)
    path = os.path.join(tmp, "labelled.log")
    with open(path, "w") as f:
        for s, t in order:
            f.write(f"{s}\t{t}\n")
    counts = collections.Counter(s for s, _ in order)
    rng = random.Random(7)

    def spread(got, k):
        # Half the L1 distance between the elements' class shares and the lines' class shares (0 = exact).
        return 0.5 * sum(abs(got[s] / k - counts[s] / len(order)) for s in services)

    for k in ks:
        rows = run_select(args.binary, path, k, ["--label-field", "0"])
        got = collections.Counter(r[2] for r in rows)
        rand = [spread(collections.Counter(order[i][0] for i in rng.sample(range(len(order)), k)), k) for _ in range(args.draws)]
        print(f"label = service, k = {k}: {len(got)} of {len(services)} services have an element; distance of the class "
              f"shares to the lines' shares (total variation) {spread(got, k):.3f}, random samples {statistics.mean(rand):.3f} "
              f"{'(every class gets at least one element, so here each gets exactly one) ' if k == len(services) else ''}"
              f"sshd {got['sshd']} (share {k * counts['sshd'] / len(order):.1f}), "
              f"dovecot {got['dovecot']} (share {k * counts['dovecot'] / len(order):.1f})")
    csv = subprocess.run(["zstd", "-dc", os.path.join(DATA, "fail2ban_logs.labelled.csv.zst")],
                         check=True, capture_output=True).stdout.decode("utf-8", "replace").split("\n")[1:]
    csv = [l for l in csv if l]
    random.Random(0).shuffle(csv)
    path = os.path.join(tmp, "labelled.csv")
    with open(path, "w") as f:
        f.write("\n".join(csv) + "\n")
    flags = collections.Counter(l.split(",")[1] for l in csv)
    for k in ks:
        rows = run_select(args.binary, path, k, ["--label-pattern", "^[^,]*,(True|False),", "--strip", "^[^,]*,[^,]*,"])
        got = collections.Counter(r[2] for r in rows)
        weights = collections.defaultdict(float)
        for r in rows:
            weights[r[2]] += float(r[0])
        shares = ", ".join(f"{c}: {got[c]} elements (share {k * flags[c] / len(csv):.1f}), weight {weights[c]:.0f} of {flags[c]} lines"
                           for c in sorted(flags))
        print(f"label = fail2ban match flag, k = {k}: {shares}")


if __name__ == "__main__":
    main()

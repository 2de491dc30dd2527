#!/usr/bin/env python3
"""Per-cell test log-loss of two builds' replay grids, side by side.

    python3 tools/bench_replay/bench_replay.py --bin OLD --no-drift-off --out /tmp/old --results /tmp/old/RESULTS.md
    python3 tools/bench_replay/bench_replay.py --bin NEW --no-drift-off --out /tmp/new --results /tmp/new/RESULTS.md
    python3 tools/bench_replay/compare_rows.py /tmp/old/rows.json /tmp/new/rows.json

Run the two grids in one sitting (the same machine and load). For each stream and k: the mean over seeds of the
coreset and the reservoir runs, old and new, the relative change, and (when the new build reports it) the final
polish's passes per seed; then the mean and median change per memory.
"""
import json
import statistics
import sys


def load(path):
    rows = {}
    for r in json.load(open(path)):
        if r.get("status") == "ok" and r["method"] in ("coreset", "reservoir"):
            rows[(r["stream"], r["k_pct"], r["method"], r["seed"])] = r
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_rows.py OLD_ROWS.json NEW_ROWS.json")
    old, new = load(sys.argv[1]), load(sys.argv[2])
    cells = sorted({(s, k) for (s, k, _, _) in new})
    changes = {"coreset": [], "reservoir": []}
    print("| stream | k | coreset old | coreset new | change | reservoir old | reservoir new | change | polish passes (coreset; reservoir) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for stream, k in cells:
        line = f"| {stream} | {k:g}% |"
        passes = []
        for method in ("coreset", "reservoir"):
            seeds = sorted(seed for (s, kk, m, seed) in new if (s, kk, m) == (stream, k, method) and (s, kk, m, seed) in old)
            if not seeds:
                line += " – | – | – |"
                continue
            a = statistics.mean(old[(stream, k, method, s)]["test_loss"] for s in seeds)
            b = statistics.mean(new[(stream, k, method, s)]["test_loss"] for s in seeds)
            change = (b - a) / a * 100
            changes[method].append(change)
            line += f" {a:.4f} | {b:.4f} | {change:+.1f}% |"
            passes.append("/".join(str(new[(stream, k, method, s)].get("final_polish_passes", "–")) for s in seeds))
        print(line + f" {'; '.join(passes)} |")
    for method, c in changes.items():
        if c:
            print(f"\n{method}: mean change {statistics.mean(c):+.2f}%, median {statistics.median(c):+.2f}%, "
                  f"lower in {sum(x < 0 for x in c)} of {len(c)} cells, higher by more than 1% in {sum(x > 1 for x in c)}")


if __name__ == "__main__":
    main()

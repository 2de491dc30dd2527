#!/usr/bin/env python3
"""Offline exploration behind tools/bench_logs/RESULTS.md: representations and similarities for log lines,
scored by exact (naive) greedy facility location in numpy on all 1,067 fail2ban lines, as the number of
distinct services among the k picks (k = 91, 200). It reimplements the tokenisation in Python (close to, not
byte-identical with, `coreset`'s TextParser) to try variants that `coreset` does not offer: IDF weighting,
document-frequency damping, extra weight on the first words, a deduplicated ground set, sharper similarities.

Usage: python3 tools/bench_logs/explore_offline.py   (needs numpy; about a minute)
"""
import collections, math, os, re, subprocess, sys
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data", "fail2ban_logs", "fail2ban_logs.raw.txt.zst")
raw = subprocess.run(["zstd", "-dc", DATA], check=True, capture_output=True).stdout.decode("utf-8", "replace")
rows = [l.split("\t", 1) for l in raw.split("\n") if l]
text = [t for _, t in rows]
services = sorted({s for s, _ in rows})
sid = np.array([services.index(s) for s, _ in rows])
N = len(text)
NAMES = r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)\b"


def norm(t, mask=True):
    t = t.lower()
    if mask:
        t = re.sub(NAMES, "<d>", t)
        t = re.sub(r"\b(0x)?[0-9a-f]*[0-9][0-9a-f]*\b", "0", t)
        t = re.sub(r"[0-9]+", "0", t)
    return t


def shape(t):
    s = re.sub(r"[A-Z]+", "A", t)
    s = re.sub(r"[a-z]+", "a", s)
    s = re.sub(r"[0-9]+", "0", s)
    return re.sub(r"\s+", " ", s)


def features(t, o):
    f = {}
    toks = re.findall(r"[a-z0-9_<>]+|[^\sa-z0-9_]", norm(t, o.get("mask", True)))
    for x in toks:
        f["w:" + x] = o.get("words", 1.0)
    for a, b in zip(toks, toks[1:]) if o.get("bigrams") else []:
        f["b:" + a + " " + b] = 1.0
    words = [x for x in toks if re.match(r"[a-z]", x)]
    for x in words[:o.get("first", 0)]:
        f["f:" + x] = o.get("first_weight", 2.0)
    q = o.get("shape", 4)
    s = shape(t)
    for i in range(len(s) - q + 1) if q else []:
        f["s:" + s[i:i + q]] = 1.0
    return f


def matrix(o):
    F = [features(t, o) for t in text]
    vocab = {}
    for f in F:
        for k in f:
            vocab.setdefault(k, len(vocab))
    X = np.zeros((N, len(vocab)))
    for i, f in enumerate(F):
        for k, v in f.items():
            X[i, vocab[k]] = v
    df = (X > 0).sum(0)
    if o.get("idf"):
        X = X * np.log((1 + N) / (1 + df))[None, :]
    if o.get("df_damp"):
        X = X * np.minimum(1, (df - 1) / o["df_damp"])[None, :]
    X /= np.linalg.norm(X, axis=1, keepdims=True) + 1e-12
    return X


def similarity(C, kind):
    if kind == "cos01":
        return (1 + C) / 2
    if kind.startswith("sat"):
        tau = float(kind[3:])
        return 0.98 * np.minimum(1, np.maximum(C, 0) / tau) + 0.02 * np.maximum(C, 0)
    if kind.startswith("rbf"):
        return np.exp(-float(kind[3:]) * np.maximum(0, 2 - 2 * C))
    if kind.startswith("pow"):
        return np.maximum(C, 0) ** float(kind[3:])
    raise ValueError(kind)


def greedy(S, k, ground=None):
    G = S if ground is None else S[ground]
    cover = np.zeros(G.shape[0])
    picked = []
    for _ in range(k):
        gain = np.maximum(G - cover[:, None], 0).sum(0)
        gain[picked] = -1
        j = int(gain.argmax())
        picked.append(j)
        cover = np.maximum(cover, G[:, j])
    return picked


def covered(picks):
    return len(set(sid[picks]))


VARIANTS = [
    ("words (masked) + shape 4-grams", {}),
    ("words only", {"shape": 0}),
    ("words only, raw numbers", {"shape": 0, "mask": False}),
    ("words + shape, IDF", {"idf": 1}),
    ("words + shape, rare tokens damped (df < 6)", {"df_damp": 5}),
    ("words + shape + first 3 words x2", {"first": 3}),
    ("words + bigrams + shape", {"bigrams": 1}),
]
SIMILARITIES = ["cos01", "sat0.6", "rbf2", "rbf10", "pow3"]

print(f"{N} lines, {len(services)} services. Services covered by greedy picks, k = 91 / 200.\n")
print("| representation | " + " | ".join(SIMILARITIES) + " | sat0.6, deduplicated ground set |")
print("|---|" + "---|" * (len(SIMILARITIES) + 1))
for name, o in VARIANTS:
    X = matrix(o)
    C = X @ X.T
    cells = []
    for kind in SIMILARITIES:
        S = similarity(C, kind)
        cells.append(f"{covered(greedy(S, 91))} / {covered(greedy(S, 200))}")
    # Ground set with exact duplicates (same features) counted once; candidates stay all lines.
    keys = {}
    for i in range(N):
        keys.setdefault(X[i].tobytes(), i)
    ground = np.array(sorted(keys.values()))
    S = similarity(C, "sat0.6")
    cells.append(f"{covered(greedy(S, 91, ground))} / {covered(greedy(S, 200, ground))}")
    print(f"| {name} | " + " | ".join(cells) + " |", flush=True)

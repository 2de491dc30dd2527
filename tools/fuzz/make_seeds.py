#!/usr/bin/env python3
"""Writes the fuzz seed corpora to fixtures/fuzz/<target>/ (small, deterministic).

Every seed starts with one option byte (see FuzzCase in tools/fuzz/Sources/FuzzSupport/FuzzCase.swift): bit 0 strict,
bit 1 zero-based, bits 2-3 chunk size (16, 61, 4096, 1 MiB), bit 4 regression; the rest is the stream.
Rerun after changing the seeds: python3 tools/fuzz/make_seeds.py
"""
import gzip
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fixtures", "fuzz")

# Option bytes: loose with small chunks, strict with small chunks, loose with 1 MiB chunks.
OPTIONS = [0x00, 0x05, 0x0C]


def adult_lines(n):
    text = subprocess.run(["zstd", "-dc", os.path.join(ROOT, "fixtures/adult/adult.train.svm.zst")],
                          check=True, capture_output=True).stdout
    return b"".join(text.splitlines(keepends=True)[:n])


LIBSVM = [
    adult_lines(8),
    b"1 1:0.5 3:2\n-1:2.5 qid:3 2:1e-3 7:-4 # a comment\n\n# only a comment\n0 1:1\r\n2 5:.5 6:1E+2",
    b"+1 1:1 1:2\n-1 0:1\n1 4294967296:1\nnan 1:1\n1 1:inf\n1,2 3:1\n1 -3:1\n1 2:0x10\n",
    b"3 1:0.30137 2:0.044302 3:0.5333329999999999 4:1e38 5:1e39 6:-0 7:1.17549435e-38\n",
]
CSV = [
    b"a,b,label,c\n1,2,yes,3\n4,,no,6\r\n",
    b"label,weight,id,x,y\n1,2.5,7,0.1,0.2\n0,0,8,\"3\",-1\n1,-1,9,1,1\n",
    b"1.5,\"2\",+1\n\"3\" , 4,-1\n\"unterminated,1\n1,2,3,4\n",
    b"y;f;g\n2.5;1;nan\n1;inf;2\n",
]
JSONL = [
    b'{"label": 1, "features": [0.5, 0, 2], "weight": 3}\n{"label": -1, "features": {"height": 1.5, "age": 2}}\n',
    b'{"age": 7, "label": 1, "height": null}\n{"label": "cat", "indices": [0, 5], "values": [1, 2]}\n',
    b'{"label": "dog", "features": ["x"]}\n{"label": 1, "features": [1e400]}\n{"a":{"b":[true,false,"\\u00e9\\ud83d\\ude00"]}, "label": 0}\n',
    b'{"label": 1, "features": [1, 2]} trailing\n{"label"\n[1,2]\n{"label": 1, "indices": [3, 3], "values": [1, 2]}\n',
]
VW = [
    b"1 1.0 'tag1 |f price:0.23 sqft:0.25 age:0.05 2006\n-1 |a x y:2 |b:0.5 z\n",
    b"0 | a b c\n2 0.5 |ns w:1e5 |other:2 k:-1\n|nolabel x\n",
    b"1 -2 |f x\nabc |f x\n1 |f x:nan\n1 |f :1\n",
]


def zstd(data, extra=()):
    return subprocess.run(["zstd", "-q", "-c", *extra], input=data, check=True, capture_output=True).stdout


def write(target, seeds):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    n = 0
    for s in seeds:
        for o in OPTIONS:
            n += 1
            with open(os.path.join(d, f"seed-{n:02d}"), "wb") as f:
                f.write(bytes([o]) + s)


def main():
    write("libsvm", LIBSVM)
    write("csv", CSV)
    write("jsonl", JSONL)
    write("vw", VW)
    text = adult_lines(20)
    a, b = text[: len(text) // 2], text[len(text) // 2:]
    one = zstd(text)
    write("zstd", [
        one,
        zstd(a) + zstd(b),                           # concatenated frames
        zstd(text, ["--no-check"]) + zstd(b"1 1:1\n", ["-19"]),
        one[: len(one) // 2],                        # truncated inside a frame
        bytes.fromhex("184D2A50") + (4).to_bytes(4, "little") + b"skip" + zstd(b),  # skippable frame first
        zstd(LIBSVM[1]) + b"garbage after the frame",
    ])
    g = gzip.compress(text, mtime=0)
    write("gzip", [
        g,
        gzip.compress(a, mtime=0) + gzip.compress(b, mtime=0),  # multi-member
        g[: len(g) // 2],                                        # truncated inside a member
        gzip.compress(LIBSVM[1], mtime=0) + b"garbage after the member",
    ])


if __name__ == "__main__":
    main()

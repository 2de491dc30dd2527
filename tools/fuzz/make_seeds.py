#!/usr/bin/env python3
"""Writes the fuzz seed corpora to fixtures/fuzz/<target>/ (small, deterministic).

Every seed starts with one option byte (see FuzzCase in tools/fuzz/Sources/FuzzSupport/FuzzCase.swift): bit 0 strict,
bit 1 zero-based, bits 2-3 chunk size (16, 61, 4096, 1 MiB), bit 4 regression; the rest is the stream.
The text target takes a second option byte (TextOptions), coresetfile one byte (format, flags), follow
one byte (read size) then operations; checkpoint and model seeds are real states and model files
written by the fuzz executables themselves (FuzzCheckpoint / FuzzModel --write-seeds DIR), run here
when tools/fuzz has been built (tools/fuzz/run builds it).
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


TEXT = [
    b"2024-01-05T10:00:01Z level=INFO user 1234 logged in from 10.0.0.1\n"
    b"2024-01-05T10:00:02Z level=ERROR disk /dev/sda1 full (98%)\n"
    b"Jan  5 10:00:03 host sshd[991]: Accepted publickey for root\n",
    b"WARN\tcache miss for key=0xdeadbeef\nINFO\tserved GET /index.html 200 12ms\n\n  \nERROR\tTraceback (most recent call last):\n",
    b'{"level": "ERROR", "msg": "connection reset by peer", "id": 7}\n{"msg": "no level here"}\n{"level": 3}\nnot json\n',
    b"127.0.0.1 - - [05/Jan/2024:10:00:04 +0000] \"GET / HTTP/1.1\" 200 512\n\xff\xfe bytes \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 Tuesday\r\n",
]
# Text option bytes (second byte): no label; pattern label with bigrams; field label, no shapes,
# raw case; JSON key with msg text, timestamps stripped, label map and kept lines.
TEXT_OPTIONS = [0x00, 0x05, 0x52, 0xAF]

COREFILE = [
    (0x00, b"1:2.5 1:0.5 3:1 # id=7\n0:1 2:1 # id=9\n"),
    (0x07, b"# coreset after 10 records\n1:1 1:1 # id=1\n# coreset after 20 records\n0:0.5 4:2 # id=3\n"),
    (0x01, b"id,label,weight,f1,f2\n4,1,2.5,0.5,0\n8,0,1,0,1\n"),
    (0x07, b"id,weight,label,x\n1,1,yes,1\n"),
    (0x02, b'{"id": 3, "label": 1, "weight": 2, "indices": [0, 4], "values": [1, 0.5]}\n'),
    (0x03, b"1 2.5 '5 | 1:1 3:0.5\n-1 1 '6 | 2:1\n"),
    (0x17, b"2.5:3 1:1 # id=1\n-1:1 2:2 # id=2\n"),
    (0x07, b"1 1:1\n"),  # no weight, no id
]

FOLLOW = [
    # read size 16: append, append, truncate+append, rotate, rewrite in place
    bytes([15, (5 << 2) | 0]) + b"abcde" + bytes([(3 << 2) | 0]) + b"fgh" + bytes([(2 << 2) | 1]) + b"XY"
    + bytes([(4 << 2) | 2]) + b"new\n" + bytes([(1 << 2) | 3]) + b"z",
    bytes([0, (20 << 2) | 0]) + b"1 1:1\n2 2:2\n3 3:3\n12" + bytes([(20 << 2) | 3]) + b"1 1:1\n2 2:2\n3 3:3\n13",
    bytes([255, (63 << 2) | 0]) + bytes(range(63)) + bytes([(10 << 2) | 0]) + b"0123456789" + bytes([(0 << 2) | 1, (0 << 2) | 2]),
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


def raw(target, seeds):
    """Seeds that carry their own option bytes."""
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    for n, s in enumerate(seeds, 1):
        with open(os.path.join(d, f"seed-{n:02d}"), "wb") as f:
            f.write(s)


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
    d = os.path.join(OUT, "text")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    n = 0
    for s in TEXT:
        for o, t in zip(OPTIONS + [0x00], TEXT_OPTIONS):
            n += 1
            with open(os.path.join(d, f"seed-{n:02d}"), "wb") as f:
                f.write(bytes([o, t]) + s)
    raw("coresetfile", [bytes([o]) + s for o, s in COREFILE] + [bytes([0x00]) + zstd(COREFILE[0][1])])
    raw("follow", FOLLOW)
    bin_dir = subprocess.run(["swift", "build", "-c", "release", "--package-path", os.path.join(ROOT, "tools/fuzz"),
                              "--show-bin-path", "-Xswiftc", "-sanitize=fuzzer,address"],
                             capture_output=True, text=True).stdout.strip()
    for target, exe in [("checkpoint", "FuzzCheckpoint"), ("model", "FuzzModel")]:
        path = os.path.join(bin_dir, exe)
        if os.path.exists(path):
            subprocess.run([path, "--write-seeds", os.path.join(OUT, target)], check=True,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        else:
            print(f"{exe} not built: {target} seeds left as they are (build with tools/fuzz/run 1 {target})")
    g = gzip.compress(text, mtime=0)
    write("gzip", [
        g,
        gzip.compress(a, mtime=0) + gzip.compress(b, mtime=0),  # multi-member
        g[: len(g) // 2],                                        # truncated inside a member
        gzip.compress(LIBSVM[1], mtime=0) + b"garbage after the member",
    ])


if __name__ == "__main__":
    main()

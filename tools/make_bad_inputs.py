#!/usr/bin/env python3
"""Writes the bad-input corpus fixtures/bad/ (small, deterministic). Tests/CoresetKitTests/Input/
BadInputTests.swift states what the reader must do with each file. Rerun: python3 tools/make_bad_inputs.py
"""
import gzip
import os
import random
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "bad")


def good(a, b):
    """LIBSVM lines whose first value tells their number."""
    return "".join(f"{1 if i % 2 else -1} 1:{i} 2:0.5\n" for i in range(a, b)).encode()


def zstd(data, *flags):
    return subprocess.run(["zstd", "-q", "-c", *flags], input=data, check=True, capture_output=True).stdout


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    first = zstd(good(0, 10))
    second = zstd(good(10, 20))
    # Frame 2 ends halfway: the 10 records of frame 1 are delivered, then the error.
    write("truncated-frame.svm.zst", first + second[: len(second) // 2])
    # Frame 2's compressed block has bytes flipped: its checksum (or block) fails.
    bad = bytearray(second)
    for k in range(len(bad) // 2, len(bad) // 2 + 4):
        bad[k] ^= 0xFF
    write("corrupt-block.svm.zst", first + bytes(bad))
    # Text after a complete frame is not a frame: error at exactly the frame's end.
    write("garbage-after-frame.svm.zst", first + b"1 1:99\n")
    # The magic's last byte is wrong: not zstd, so plain text; its binary bytes are bad records.
    write("wrong-magic.svm.zst", b"\x28\xb5\x2f\xfe" + first[4:])
    g1 = gzip.compress(good(0, 10), mtime=0)
    g2 = gzip.compress(good(10, 20), mtime=0)
    write("truncated-member.svm.gz", g1 + g2[: len(g2) // 2])
    # Member 2's compression method byte is not deflate (8): a corrupt header.
    write("corrupt-member.svm.gz", g1 + g2[:2] + b"\x07" + g2[3:])
    # Three good lines, then 4 KiB of seeded random bytes (no newline-free guarantee: several lines).
    rng = random.Random(7)
    write("binary-garbage.svm", good(0, 3) + bytes(rng.randrange(256) for _ in range(4096)))
    write("nan-inf.svm", b"1 1:1\n1 1:nan\n-1 2:inf\n1 3:-Infinity\nnan 1:1\n1:inf 1:1\n1 1:1e39\n-1 2:2\n")
    write("nan-inf.csv", b"label,a,b\n1,1,2\n1,nan,2\n0,1,inf\n0,1e39,1\nnan,1,1\n1,3,4\n")
    write("nan-inf.jsonl", b'{"label": 1, "features": [1, 2]}\n{"label": 1, "features": [1e400, 2]}\n'
                           b'{"label": 1, "features": {"a": -1e39}}\n{"label": 1e400, "features": [1]}\n'
                           b'{"label": 0, "features": [3, 4]}\n')
    write("nan-inf.vw", b"1 |f a:1\n1 |f a:nan\n-1 |f b:inf\n1 |f c:1e39\ninf |f a:1\n-1 |f b:2\n")
    # One-based: 16777216 is the last index below the default --max-dimension (2^24), 16777217 is past it.
    write("huge-index.svm", b"1 1:1\n1 16777216:1\n-1 16777217:1\n1 4294967295:1\n-1 4294967296:1\n1 2:2\n")
    write("unseen-label.svm", b"1 1:1\n-1 1:2\n5 1:3\n1 1:4\n7 1:5\n-1 1:6\n")
    write("unseen-label.csv", b"label,x\ncat,1\ndog,2\nbird,3\ncat,4\n")
    # Invalid UTF-8 in a header name, in string labels (\xff and \xfe would both decode to U+FFFD),
    # and in a JSON string.
    write("invalid-utf8.csv", b"label,x\ncat,1\n\xff,2\n\xfe,3\ndog,4\n")
    write("invalid-utf8-header.csv", b"label,x\xc3\n1,2\n")
    write("invalid-utf8.jsonl", b'{"label": "cat", "features": [1]}\n{"label": "\xff", "features": [2]}\n'
                                b'{"label": "dog", "features": {"\xc3\x28": 1}}\n{"label": "\\u00e9", "features": [4]}\n')
    write("empty.svm", b"")
    write("empty.svm.zst", zstd(b""))
    write("empty.svm.gz", gzip.compress(b"", mtime=0))
    write("blank-lines.svm", b"\n\r\n   \n# comment only\n")


if __name__ == "__main__":
    main()

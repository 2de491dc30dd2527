#!/usr/bin/env python3
"""Converts Debian's dataset-fashion-mnist (IDX files) into what coreset reads: LIBSVM text, zstd-compressed.

Same preprocessing as ../shared/data/mnist: pixels/255, 1-based feature indices, zero pixels left out, labels 0-9.

    apt-get install dataset-fashion-mnist          # /usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz
    python3 tools/bench_mlp/fashion_mnist.py        # -> tools/bench_mlp/data/fashion_mnist/fashion_mnist.{train,test}.svm.zst

Writes each output whole to a temporary name and renames it, so an interrupted run leaves no partial file.
"""
import argparse
import gzip
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "/usr/share/datasets/fashion-mnist"
SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path, expected_magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        sys.exit(f"fashion_mnist: {path}: {len(data)} bytes, too short for an IDX header")
    magic, count = struct.unpack(">II", data[:8])
    if magic != expected_magic:
        sys.exit(f"fashion_mnist: {path}: magic {magic:#x} at byte 0, expected {expected_magic:#x}")
    if expected_magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        size = rows * cols
        body = data[16:]
        if len(body) != count * size:
            sys.exit(f"fashion_mnist: {path}: {len(body)} pixel bytes after byte 16, expected {count} x {size}")
        return [body[i * size:(i + 1) * size] for i in range(count)]
    body = data[8:]
    if len(body) != count:
        sys.exit(f"fashion_mnist: {path}: {len(body)} label bytes after byte 8, expected {count}")
    return list(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=SOURCE, help="folder of the IDX files (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(HERE, "data", "fashion_mnist"), help="output folder (default: %(default)s)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for split, (images_name, labels_name) in SPLITS.items():
        images_path = os.path.join(args.source, images_name)
        if not os.path.exists(images_path):
            sys.exit(f"fashion_mnist: {images_path} is absent (apt-get install dataset-fashion-mnist)")
        images = read_idx(images_path, 0x803)
        labels = read_idx(os.path.join(args.source, labels_name), 0x801)
        if len(images) != len(labels):
            sys.exit(f"fashion_mnist: {split}: {len(images)} images but {len(labels)} labels")
        lines = []
        for pixels, label in zip(images, labels):
            parts = [str(label)] + [f"{j + 1}:{p / 255:.6g}" for j, p in enumerate(pixels) if p]
            lines.append(" ".join(parts))
        target = os.path.join(args.out, f"fashion_mnist.{split}.svm.zst")
        partial = target + ".partial"
        subprocess.run(["zstd", "-q", "-f", "-o", partial], input=("\n".join(lines) + "\n").encode(), check=True)
        os.replace(partial, target)
        print(f"fashion_mnist: {target}: {len(lines)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()

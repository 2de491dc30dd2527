#!/usr/bin/env python3
"""apricot's streaming facility location (`FacilityLocationSelection(k).partial_fit`, batches of 1000)
on the first CAP records of a LIBSVM .zst. Run in its own process so its peak RSS is its own.

Usage: apricot_run.py FILE K CAP OUTDIR
Prints one JSON line (records/s of the partial_fit loop only — loading is excluded, which favours
apricot — and peak RSS from getrusage, including the dense input matrix) and writes the selected
stream positions to OUTDIR/picks_kK.txt.
"""
import io
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from apricot import FacilityLocationSelection
from sklearn.datasets import load_svmlight_file

path, k, cap, outdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
raw = subprocess.run(["sh", "-c", f"zstd -dc '{path}' | head -n {cap}"], capture_output=True, check=True).stdout
X, _ = load_svmlight_file(io.BytesIO(raw), n_features=784 if "mnist" in path else 510)
X = np.asarray(X.todense(), dtype=np.float64)
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
sel = FacilityLocationSelection(k, metric="euclidean", random_state=0)
t0 = time.perf_counter()
for i in range(0, X.shape[0], 1000):
    sel.partial_fit(X[i:i + 1000])
t = time.perf_counter() - t0
os.makedirs(outdir, exist_ok=True)
with open(os.path.join(outdir, f"picks_k{k}.txt"), "w") as f:
    f.write("\n".join(str(int(i)) for i in sel.ranking) + "\n")
print(json.dumps({"k": k, "records": int(X.shape[0]), "seconds": t, "records_per_s": X.shape[0] / t,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_after_loading_mib": rss_loaded, "selected": len(sel.ranking)}))

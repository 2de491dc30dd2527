#!/bin/sh
# Streams mnist and census_kdd (first 60,000 rows) through every streaming algorithm at k=100/1000.
# Build: (cd tools/bench_selection && swift build -c release --scratch-path ../../.build-bench)
# Caveat: the objective ratio is against lazy greedy on the 2,000-record evaluation sample itself,
# so it is only meaningful when the sample is much larger than k (not at k=1000).
cd "$(dirname "$0")/../.." || exit 1
B=.build-bench/release/BenchSelection
for ds in mnist census_kdd; do for k in 100 1000; do for a in sieve++ three-sieves sieve; do
  echo "== $ds k=$k $a"
  zstd -dc "${DATA:-../shared/data}/$ds/$ds.train.svm.zst" | "$B" "$k" "$a" 60000 1000 2000
done; done; done

#!/bin/sh
# The CLI path on the mnist stream: `coreset run --model mlp:HIDDEN` (MODEL, default mlp:128) with the sampled steps (the default), the cached
# mini-batch coresets, the fresh-subset rounds (--minibatches coreset) and uniform mini-batches from
# those rounds (--minibatches random), for two buffer sizes, side by side in one invocation. Prints one row each:
# minibatches, buffer, selection rounds, wall seconds (whole run: ingest, training, final 5 epochs), test accuracy.
# Run from the repository root after `swift build -c release`.
set -eu
D=${MNIST_DIR:-../shared/data/mnist}
BIN=${CORESET_BIN:-.build/release/coreset}
[ -f "$D/mnist.train.svm.zst" ] || { echo "run_cli.sh: $D/mnist.train.svm.zst is absent" >&2; exit 1; }
printf 'minibatches\tbuffer\tselections\tseconds\ttest_accuracy\n'
for buffer in 20000 60000; do
  for mb in sampled cached coreset random; do
    "$BIN" run -q --model "${MODEL:-mlp:128}" --minibatches "$mb" --buffer "$buffer" "$D/mnist.train.svm.zst" --test "$D/mnist.test.svm.zst" |
      awk -F'\t' -v mb="$mb" -v buf="$buffer" '
        $1 == "selections" { s = $2 } $1 == "seconds" { t = $2 } $1 == "test_accuracy" { a = $2 }
        END { printf "%s\t%s\t%s\t%s\t%s\n", mb, buf, s, t, a }'
  done
done

#!/usr/bin/env bash
# Writes what `coreset` outputs for a fixed set of configurations, one file per output, into DIR, so
# that two binaries can be compared byte for byte (`cmp -s`/`diff -r` the two DIRs). Timing lines
# ("seconds") are dropped; everything else (summaries, model JSON, coresets, predictions) is kept.
#
#   tools/bench_loss/outputs.sh BIN DIR
#
# Covers each built-in loss (logistic, softmax, squared, hinge) through train, run (SGD, SAGA, SVRG),
# select --model, predict and eval, on fixtures/ and, when present, ../shared/data (census_kdd).
set -euo pipefail
bin=$(realpath "$1"); out=$(realpath -m "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
adult=$root/fixtures/adult; mnist=$root/fixtures/mnist
census=$root/../shared/data/census_kdd/census_kdd.train.svm.zst
mkdir -p "$out"
cd "$out"
c() {  # c NAME ARGS...: run, keep stdout minus timing lines
    local name=$1; shift
    "$bin" "$@" > "$name.out.raw" 2> "$name.err" || echo "exit $?" >> "$name.out.raw"
    grep -v -E '^seconds|_seconds|per_second' "$name.out.raw" > "$name.out" || true
    rm -f "$name.out.raw"
}
# train: each loss on its task
c train-logistic train -q "$adult/adult.train.svm.zst" --test "$adult/adult.test.svm.zst" --model-out m-logistic.json
c train-hinge train -q --loss hinge "$adult/adult.train.svm.zst" --test "$adult/adult.test.svm.zst" --model-out m-hinge.json
c train-squared train -q --regression --loss squared "$adult/adult.train.svm.zst" --test "$adult/adult.test.svm.zst" --model-out m-squared.json
c train-softmax train -q "$mnist/mnist.train1000.svm.zst" --test "$mnist/mnist.test300.svm.zst" --model-out m-softmax.json
# run: closed loop, each optimizer
c run-logistic run -q --sync --threads 1 -k 200 "$adult/adult.train.svm.zst" --test "$adult/adult.test.svm.zst" --model-out r-logistic.json --coreset-out r-logistic.svm
c run-hinge-saga run -q --sync --threads 1 -k 200 --loss hinge --optimizer saga "$adult/adult.train.svm.zst" --test "$adult/adult.test.svm.zst" --model-out r-hinge.json
c run-squared-svrg run -q --sync --threads 1 -k 200 --regression --optimizer svrg "$adult/adult.train.svm.zst" --test "$adult/adult.test.svm.zst" --model-out r-squared.json --coreset-out r-squared.svm
c run-softmax run -q --sync --threads 1 -k 100 "$mnist/mnist.train1000.svm.zst" --test "$mnist/mnist.test300.svm.zst" --model-out r-softmax.json --coreset-out r-softmax.svm
# select in gradient space at each saved model; predict and eval with each
for l in logistic hinge squared; do
    reg=(); [ $l = squared ] && reg=(--regression)
    c select-$l select -q --threads 1 -k 100 "${reg[@]}" --model m-$l.json "$adult/adult.test.svm.zst"
    c predict-$l predict -q "${reg[@]}" --model m-$l.json "$adult/adult.test.svm.zst"
    c eval-$l eval -q "${reg[@]}" --model m-$l.json "$adult/adult.test.svm.zst"
done
c select-softmax select -q --threads 1 -k 50 --model m-softmax.json "$mnist/mnist.test300.svm.zst"
c predict-softmax predict -q --model m-softmax.json "$mnist/mnist.test300.svm.zst"
c eval-softmax eval -q --model m-softmax.json "$mnist/mnist.test300.svm.zst"
if [ -f "$census" ]; then
    c census-train train -q --epochs 2 "$census" --model-out census-train.json
    c census-run run -q --sync --threads 1 "$census" --model-out census-run.json --coreset-out census-run.svm
    c census-run-hinge run -q --sync --threads 1 --loss hinge "$census" --model-out census-run-hinge.json
fi
ls "$out" | wc -l | sed 's/^/files: /'

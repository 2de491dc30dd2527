#!/bin/sh
# Replay study for issue 4 (see README.md). Build once:
#   (cd tools/replay_study && swift build -c release --scratch-path .build)
# Results go to tools/replay_study/out/ (git-ignored): *.md tables on stdout, *.log progress on stderr.
cd "$(dirname "$0")/../.." || exit 1
B=tools/replay_study/.build/release/ReplayStudy
O=tools/replay_study/out
DATA=${DATA:-../shared/data}
mkdir -p "$O"
A="fixtures/adult/adult.train.svm.zst fixtures/adult/adult.test.svm.zst"
C="$DATA/census_kdd/census_kdd.train.svm.zst $DATA/census_kdd/census_kdd.test.svm.zst"
# adult, k = 1% (326): selector reference reservoir 10k per class (default), closed loop every 1000 records.
$B $A --k-frac 0.01 --modes a,b,c,d,e,f >"$O/adult_1pct.md" 2>"$O/adult_1pct.log"
# adult, k = 10% (3256): reference reservoir capped at 5000 per class (10k would be the whole class), every 2000.
$B $A --k-frac 0.1 --modes b,c,d,e --ref 5000 --every 2000 >"$O/adult_10pct.md" 2>"$O/adult_10pct.log"
# census_kdd (199,523 rows), k = 1% (1995) and 10% (19952): reference reservoir 2000, every 5000.
$B $C --k-frac 0.01 --modes a,b,c,d,e,f --ref 2000 --every 5000 >"$O/census_1pct.md" 2>"$O/census_1pct.log"
$B $C --k-frac 0.1 --modes b,c,d,e --ref 2000 --every 5000 >"$O/census_10pct.md" 2>"$O/census_10pct.log"
# Sensitivity to the replay weight ω (uniform replay only; cheap).
for w in 0.25 0.05; do $B $A --modes b --omega $w >"$O/adult_b_omega$w.md" 2>/dev/null; done

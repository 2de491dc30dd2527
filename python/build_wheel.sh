#!/usr/bin/env bash
# Builds libCoresetC (release) and a wheel of pycoreset that carries it, into python/dist.
# --static-stdlib links the Swift runtime into the library, so the wheel runs without a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=()
[ "${1:-}" = "--static-stdlib" ] && flags=(-Xswiftc -static-stdlib)
swift build -c release --product CoresetC "${flags[@]}"
bin=$(swift build -c release --show-bin-path)
lib=$bin/libCoresetC.so
[ -f "$lib" ] || lib=$bin/libCoresetC.dylib
cp "$lib" python/pycoreset/
trap 'rm -f python/pycoreset/libCoresetC.so python/pycoreset/libCoresetC.dylib; rm -rf python/build' EXIT
python3 -m pip wheel --no-deps -w python/dist ./python
ls python/dist

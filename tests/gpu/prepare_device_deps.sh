#!/usr/bin/env bash
# prepare_device_deps.sh - gathers, on this (CPU) machine, what a lent GPU
# machine lacks for tests/gpu/run_device_suite.sh, into build/device_deps
# (ignored by git; about 4 MB): the doctest, stb and Google Benchmark
# headers and libraries, and Boost.Context's (the emu build the suite
# compares the device with), all Debian's, as tests/install_packages.sh
# installs them, and a copy of
# ../shared/data (the real weights and image), which does not travel with
# the working tree. Then run the suite there with this folder carried:
#   device run: carry ["build/device_deps"],
#               command "bash tests/gpu/run_device_suite.sh $OUT"
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEPS="$ROOT/build/device_deps"
rm -rf "$DEPS"
mkdir -p "$DEPS/include" "$DEPS/lib" "$DEPS/shared"
bash "$ROOT/tests/install_packages.sh"
cp -r /usr/include/doctest "$DEPS/include/"
cp -r /usr/include/stb "$DEPS/include/"
cp /usr/lib/x86_64-linux-gnu/libstb.a "$DEPS/lib/"
# Google Benchmark for bench_kernels (its CMake package finds the library
# four directories up from its own folder, as installed).
mkdir -p "$DEPS/lib/x86_64-linux-gnu/cmake"
cp -r /usr/include/benchmark "$DEPS/include/"
cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark "$DEPS/lib/x86_64-linux-gnu/cmake/"
cp -a /usr/lib/x86_64-linux-gnu/libbenchmark.so* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a \
  "$DEPS/lib/x86_64-linux-gnu/"
# Boost.Context: the headers its fcontext header includes, and the library.
echo '#include <boost/context/detail/fcontext.hpp>' |
  g++ -std=c++17 -x c++ -M - | tr ' \\' '\n\n' | grep '^/usr/include/boost/' | sort -u |
  while read -r header; do
    mkdir -p "$DEPS/include/$(dirname "${header#/usr/include/}")"
    cp "$header" "$DEPS/include/${header#/usr/include/}"
  done
cp -a /usr/lib/x86_64-linux-gnu/libboost_context.so* "$DEPS/lib/x86_64-linux-gnu/"
if [[ -d "$ROOT/../shared/data" ]]; then
  cp -r "$ROOT/../shared/data" "$DEPS/shared/"
else
  echo "prepare_device_deps: $ROOT/../shared/data is absent: the suite's real-data checks will be skipped"
fi
du -sh "$DEPS"

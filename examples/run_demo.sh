#!/usr/bin/env bash
# run_demo.sh - README command 1: installs what is missing, builds m2u_infer
# (emu flavour: runs on the CPU; on a machine with nvcc and a GPU pass
# M2U_FLAVOUR=cuda) and segments the shipped synthetic sample - a raw
# Mono12p left/right DPC pair with its flat fields - with the shipped
# default model, printing the cell count and where the overlay is.
# Outputs go to out/demo/ (override with M2U_DEMO_OUT).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FLAVOUR="${M2U_FLAVOUR:-emu}"
OUT="${M2U_DEMO_OUT:-$ROOT/out/demo}"
BUILD="$ROOT/build/demo-$FLAVOUR"

bash "$ROOT/tests/install_packages.sh" cmake ninja-build g++ pkg-config libboost-context-dev libstb-dev zlib1g-dev
echo "run_demo: building m2u_infer ($FLAVOUR flavour) in ${BUILD#$ROOT/}"
mkdir -p "$ROOT/build"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DM2U_FLAVOUR="$FLAVOUR" \
  -DM2U_BUILD_TESTS=OFF -DM2U_BUILD_BENCH=OFF >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" --target m2u_infer >"$BUILD.build.log" 2>&1 || { tail -40 "$BUILD.build.log"; exit 1; }

model="$ROOT/weights/m2unet_synthetic_1ch.m2u"
if [[ ! -f "$model" ]]; then
  echo "run_demo: the default model ${model#$ROOT/} is not in this checkout yet; make it with" >&2
  echo "  /usr/bin/python3 converter/train_synthetic.py   (PyTorch on the CPU, several minutes)" >&2
  exit 1
fi
data="$ROOT/examples/data"
echo "run_demo: segmenting the synthetic DPC sample (1024x768 Mono12p left/right pair, flat-field corrected)"
"$BUILD/examples/infer/m2u_infer" --model "$model" --out "$OUT" \
  --format mono12p --width 1024 --height 768 \
  --dpc "$data/smear_left.raw" "$data/smear_right.raw" --flat "$data/flat_left.raw" "$data/flat_right.raw" \
  --otsu --min-area 20
echo "run_demo: outputs in ${OUT}: smear_left_dpc_{probability,mask,labels,overlay}.png and smear_left_dpc.json"

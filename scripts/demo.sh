#!/usr/bin/env bash
# The main job on embedded defaults: install what is needed, build, synthesize a small model and
# generate from it. (The serving and control-plane issues turn this into `cirrus demo`.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
mkdir -p out
[ -f out/tiny-q8_0.gguf ] || ./build/cirrus model synth --shape tiny --type q8_0 --out out/tiny-q8_0.gguf
./build/cirrus model info out/tiny-q8_0.gguf
./build/cirrus run -m out/tiny-q8_0.gguf -p "Once upon a time" -n 64 --seed 1 "$@"

#!/usr/bin/env bash
# The main job on embedded defaults: install what is needed, build, and run `cirrus demo` — a
# seeded provider market on SQLite, a model cirrus synthesizes itself, a minute of live traffic
# through the OpenAI-compatible API, the concentration report and the web console.
# Arguments go to `cirrus demo` (e.g. --model PATH.gguf, --dir DIR, --port N).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
exec ./build/cirrus demo "$@"

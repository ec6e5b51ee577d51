#!/usr/bin/env bash
# Installs dependencies, builds cirrus twice (optimised, and ASan+UBSan), and runs every test under
# CTest. The optimised build runs all tests; the sanitizer build runs the unit and CLI tests
# (the CLI tests include the malformed-GGUF suite, which must finish without a sanitizer report).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)

bash scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCIRRUS_SANITIZE=ON -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build build-asan -j"$JOBS"

status=0
echo "== sanitizer build (ASan+UBSan): unit and cli tests"
(cd build-asan && ctest --output-on-failure -j"$JOBS" -L 'unit|cli') || status=1
echo "== optimised build: all tests"
(cd build && ctest --output-on-failure -j"$JOBS") || status=1
exit $status

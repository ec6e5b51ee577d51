#!/usr/bin/env bash
# Installs every Debian package cirrus needs to build and test. Idempotent: packages already
# present are skipped, and apt-get runs only when something is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config   # toolchain, CMake + CTest
  clang libclang-rt-14-dev           # libFuzzer and sanitizer runtimes
  libpcre2-dev                       # Unicode classes for the BPE pre-tokenizers
  libjansson-dev                     # JSON
  libmicrohttpd-dev                  # the HTTP server
  libcurl4-openssl-dev               # the load generator and upstream clients
  libsodium-dev                      # key hashing, keyed PRFs, randomness
  libsqlite3-dev                     # the embedded store
  libpq-dev libhiredis-dev           # the cluster's store (PostgreSQL) and shared counters (Redis)
  postgresql redis-server            # real servers for the tests (tests/servers/servers.sh)
  libsimde-dev                       # test_kernels_simd runs the AVX-512 tier's code on AVX2 CPUs
  curl                               # the HTTP tests drive cirrus serve with it
  jq                                 # scripts/bench/vs_llamacpp.sh (and its test) read JSON with it
  chromium                           # the console's browser test (playwright-core drives it)
)
# Node.js and npm run the OpenAI SDK integration test and build the console. Machines of this kind
# ship a newer Node than Debian's; install Debian's only where there is none.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Builds llama.cpp's llama-bench and llama-batched-bench for the side-by-side run
# (scripts/bench/vs_llamacpp.sh) on a machine that reaches only Debian and npm: llama.cpp is not
# a Debian 12 package, but the npm package node-llama-cpp carries the llama.cpp source it was
# released with, as a git bundle (package/llama/gitRelease.bundle). This fetches that one tarball
# (`npm pack`, no install scripts run), clones the bundle and builds the two tools the way a user
# of this machine would (Release, GGML_NATIVE: every instruction set the CPU has).
#
#   scripts/bench/get_llamacpp.sh [--dir DIR] [--version 3.22.1] [--jobs N] [--with TOOL]...
#
# DIR (default ~/.cache/cirrus-llamacpp) ends up holding llama.cpp/ and its build; the last line
# printed is the folder with the tools, for vs_llamacpp.sh --llama-dir. --with builds another of
# llama.cpp's targets too (llama-completion: its grammar sampler, for `cirrus grammar bench`'s
# side-by-side). A second run with the same version reuses what is there. Needs npm, git, cmake,
# g++ (about 6 minutes on 2 cores). Nothing is copied into the cirrus tree, and cirrus neither
# needs nor links any of it.
# Exit status: 0 with the folder printed, 2 when something it needs is missing or a step fails.
set -euo pipefail

die() { echo "get_llamacpp: $*" >&2; exit 2; }

dir="${HOME:-/tmp}/.cache/cirrus-llamacpp" version="3.22.1" jobs=$(nproc 2>/dev/null || echo 2)
tools="llama-bench llama-batched-bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=${2:?}; shift ;;
    --version) version=${2:?}; shift ;;
    --jobs|-j) jobs=${2:?}; shift ;;
    --with) [[ ${2:?} =~ ^[a-z][a-z0-9-]*$ ]] || die "--with must name a target like llama-completion, not '$2'"
            tools="$tools $2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (--help lists them)" ;;
  esac
  shift
done
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must look like 3.22.1, not '$version'"
[[ $jobs =~ ^[0-9]+$ ]] && [ "$jobs" -gt 0 ] || die "--jobs must be a positive integer, not '$jobs'"
for t in npm git cmake g++ tar; do command -v "$t" >/dev/null || die "$t is needed and not on PATH"; done

mkdir -p "$dir" || die "cannot create $dir"
src="$dir/llama.cpp-nlc$version" bin="$src/build/bin"
have_all=1
for t in $tools; do [ -x "$bin/$t" ] || have_all=0; done
if [ "$have_all" = 1 ]; then
  echo "get_llamacpp: reusing $bin" >&2
  echo "$bin"; exit 0
fi

if [ ! -d "$src/.git" ]; then
  tmp=$(mktemp -d "$dir/fetch.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
  echo "get_llamacpp: fetching node-llama-cpp@$version from npm" >&2
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$version" >/dev/null) || die "npm pack node-llama-cpp@$version failed"
  tar xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json \
    || die "node-llama-cpp@$version carries no llama.cpp bundle (package/llama/gitRelease.bundle)"
  rm -rf "$src"
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$src" 2>/dev/null || die "cannot clone the bundle"
  cp "$tmp/package/llama/llama.cpp.info.json" "$src/node-llama-cpp.info.json"
fi

echo "get_llamacpp: building ${tools// /, } in $src/build" >&2
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >"$dir/cmake.log" 2>&1 || { tail -5 "$dir/cmake.log" >&2; die "cmake failed (log: $dir/cmake.log)"; }
# shellcheck disable=SC2086 # one word per target
cmake --build "$src/build" -j "$jobs" --target $tools >"$dir/build.log" 2>&1 \
  || { tail -5 "$dir/build.log" >&2; die "build failed (log: $dir/build.log)"; }
echo "get_llamacpp: llama.cpp $(git -C "$src" rev-parse --short HEAD) from node-llama-cpp@$version" >&2
echo "$bin"

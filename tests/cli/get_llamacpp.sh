#!/usr/bin/env bash
# scripts/bench/get_llamacpp.sh offline: a stand-in `npm` whose `npm pack` writes a tarball shaped
# like node-llama-cpp's (package/llama/gitRelease.bundle + llama.cpp.info.json), the bundle holding
# a tiny CMake project with the two targets. The script must clone it, build exactly those two
# tools, print their folder, reuse the build on a second run, and fail with exit 2 and a message on
# bad arguments, a missing tool, a package without the bundle and a failing build.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/bench/get_llamacpp.sh"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# The "llama.cpp" source: two programs and one that must not be built.
src="$dir/src"; mkdir -p "$src"
cat >"$src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(fake_llama C)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
add_executable(llama-bench bench.c)
add_executable(llama-batched-bench bench.c)
add_executable(llama-completion bench.c)
add_executable(llama-other broken.c)
EOF
echo 'int main(void) { return 0; }' >"$src/bench.c"
echo 'this is not C' >"$src/broken.c"
git -C "$src" init -q && git -C "$src" add . &&
  git -C "$src" -c user.email=t@t -c user.name=t commit -qm fake && git -C "$src" bundle create -q "$dir/gitRelease.bundle" HEAD

# A stand-in npm: `npm pack node-llama-cpp@V` writes node-llama-cpp-V.tgz into the working folder
# (with the bundle unless NO_BUNDLE is set) and logs its arguments.
mkdir -p "$dir/path" "$dir/pkg/package/llama"
cp "$dir/gitRelease.bundle" "$dir/pkg/package/llama/"
echo '{"tag": "fake", "llamaCppGithubRepo": "ggml-org/llama.cpp"}' >"$dir/pkg/package/llama/llama.cpp.info.json"
cat >"$dir/path/npm" <<EOF
#!/usr/bin/env bash
echo "\$*" >>"$dir/npm.log"
[ "\$1" = pack ] || exit 1
v=\${!#}; v=\${v#node-llama-cpp@}
if [ -n "\${NO_BUNDLE:-}" ]; then mkdir -p x/package && echo '{}' >x/package/package.json && tar czf "node-llama-cpp-\$v.tgz" -C x package
else tar czf "node-llama-cpp-\$v.tgz" -C "$dir/pkg" package; fi
EOF
chmod +x "$dir/path/npm"
export PATH="$dir/path:$PATH"

out=$(bash "$script" --dir "$dir/cache" --version 1.2.3 -j 2 2>"$dir/err") || { cat "$dir/err"; bad "first run failed"; }
[ "$out" = "$dir/cache/llama.cpp-nlc1.2.3/build/bin" ] || bad "printed '$out'"
[ -x "$out/llama-bench" ] && [ -x "$out/llama-batched-bench" ] || bad "the two tools were not built"
[ ! -e "$out/llama-other" ] && [ ! -e "$out/llama-completion" ] || bad "built more than the two tools"
grep -qx "pack --silent node-llama-cpp@1.2.3" "$dir/npm.log" || bad "npm was not asked for the version: $(cat "$dir/npm.log")"
[ -f "$dir/cache/llama.cpp-nlc1.2.3/node-llama-cpp.info.json" ] || bad "the package's llama.cpp info was not kept"
ls "$dir/cache" | grep -q '^fetch\.' && bad "the download folder was left behind"

: >"$dir/npm.log"
out2=$(bash "$script" --dir "$dir/cache" --version 1.2.3 2>"$dir/err") || bad "second run failed"
[ "$out2" = "$out" ] || bad "second run printed '$out2'"
grep -q reusing "$dir/err" || bad "second run did not say it reuses the build"
[ ! -s "$dir/npm.log" ] || bad "second run fetched again"

# --with: one more target, built into the same folder on top of what is there
: >"$dir/npm.log"
out3=$(bash "$script" --dir "$dir/cache" --version 1.2.3 --with llama-completion 2>"$dir/err") || bad "--with run failed: $(cat "$dir/err")"
[ "$out3" = "$out" ] && [ -x "$out/llama-completion" ] || bad "--with llama-completion did not build it into $out"
[ ! -e "$out/llama-other" ] || bad "--with built more than it named"
[ ! -s "$dir/npm.log" ] || bad "--with fetched again"
out4=$(bash "$script" --dir "$dir/cache" --version 1.2.3 --with llama-completion 2>"$dir/err") && grep -q reusing "$dir/err" ||
  bad "a second --with run did not reuse the build"

expect_2() { # expect_2 WHAT PATTERN CMD...: exit 2 and PATTERN on stderr
  local what=$1 pat=$2; shift 2
  local rc=0
  "$@" >/dev/null 2>"$dir/err" || rc=$?
  [ "$rc" = 2 ] || bad "$what: exit $rc, not 2"
  grep -qF -- "$pat" "$dir/err" || bad "$what: stderr lacks '$pat': $(cat "$dir/err")"
}
expect_2 "unknown argument" "unknown argument '--nope'" bash "$script" --nope
expect_2 "bad version" "--version must look like" bash "$script" --dir "$dir/c2" --version 'x;y'
expect_2 "bad jobs" "--jobs must be a positive integer" bash "$script" --dir "$dir/c2" --jobs 0
expect_2 "bad --with" "--with must name a target" bash "$script" --dir "$dir/c2" --with 'x;rm'
expect_2 "unknown --with target" "build failed (log:" bash "$script" --dir "$dir/cache" --version 1.2.3 --with llama-nope
expect_2 "no bundle" "carries no llama.cpp bundle" env NO_BUNDLE=1 bash "$script" --dir "$dir/c3" --version 9.9.9
# no npm: a PATH holding only what the script needs besides it
mkdir -p "$dir/nonpm"; for t in bash git cmake g++ tar nproc mktemp dirname; do
  p=$(command -v "$t") && ln -sf "$p" "$dir/nonpm/$t"; done
expect_2 "npm missing" "npm is needed" env PATH="$dir/nonpm" bash "$script" --dir "$dir/c4"
# a source whose named targets do not compile: the build step fails with its log named
sed -i 's/bench.c)/broken.c)/' "$src/CMakeLists.txt"
git -C "$src" -c user.email=t@t -c user.name=t commit -qam broken &&
  git -C "$src" bundle create -q "$dir/pkg/package/llama/gitRelease.bundle" HEAD
expect_2 "failing build" "build failed (log:" bash "$script" --dir "$dir/c5" --version 2.0.0

[ "$fail" = 0 ] && echo "get_llamacpp: ok"
exit "$fail"

# npm_ci DIR: installs DIR's npm packages exactly as its package-lock.json says (npm ci), reusing
# node_modules while the lockfile is unchanged. Returns non-zero (with a message) when npm fails.
npm_ci() {
    local dir=$1
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.src" 2>/dev/null; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL: npm ci in $dir"; return 1; }
        cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.src"
    fi
}

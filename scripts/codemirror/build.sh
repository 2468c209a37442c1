#!/usr/bin/env bash
# Rebuilds frontend/vendor/codemirror/codemirror.js from the pinned packages
# in package-lock.json. Reproducible: same lock, same esbuild, same bytes.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
out=../../frontend/vendor/codemirror
mkdir -p "$out"
node build.mjs "$out/codemirror.js"
# The licences of everything bundled (all MIT).
{
  echo "frontend/vendor/codemirror/codemirror.js is built by scripts/codemirror/build.sh from these packages (all MIT; their licences follow):"
  for pkg in node_modules/@codemirror/* node_modules/@lezer/* node_modules/style-mod node_modules/w3c-keyname node_modules/crelt; do
    [ -d "$pkg" ] || continue
    echo
    echo "== $(node -p "require('./$pkg/package.json').name + ' ' + require('./$pkg/package.json').version") =="
    cat "$pkg/LICENSE"* 2>/dev/null || true
  done
} > "$out/LICENSE.txt"
ls -l "$out/codemirror.js"

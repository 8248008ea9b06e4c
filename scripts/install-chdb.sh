#!/usr/bin/env bash
# Installs chdb (ClickHouse as a library, the engine of the ClickHouse stand-in in tests/lib) into .cache/chdb,
# apart from the npm workspace: it is about 550 MB, the product and its image never carry it, and its optional
# per-platform packages are not all published, which a workspace lock file would have to name (npm ci refuses).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.4.0
PREFIX=${FLOWLENS_CHDB_DIR:-$PWD/.cache/chdb}
if [ -f "$PREFIX/node_modules/chdb/package.json" ] &&
  [ "$(node -p "require('$PREFIX/node_modules/chdb/package.json').version")" = "$VERSION" ]; then
  echo "chdb $VERSION present in $PREFIX"
  exit 0
fi
mkdir -p "$PREFIX"
[ -f "$PREFIX/package.json" ] || echo '{ "private": true }' >"$PREFIX/package.json"
npm install --prefix "$PREFIX" --no-audit --no-fund --no-save "chdb@$VERSION" >"$PREFIX/install.log" 2>&1 ||
  { tail -20 "$PREFIX/install.log"; echo "chdb install failed"; exit 1; }
echo "chdb $VERSION installed in $PREFIX"

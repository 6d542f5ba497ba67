#!/usr/bin/env bash
# Rebuild gateway/static/graphiql/ from pinned npm packages (run by hand when bumping versions).
# Downloads with `npm pack` into a temp dir, re-minifies GraphiQL's UMD bundle with esbuild (the
# published "min" build still carries webpack comments: 3.5 MB -> 1.4 MB) and copies the files in.
set -euo pipefail
GRAPHIQL=3.8.3
REACT=18.3.1
ESBUILD=0.24.2
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$HERE/graphiql"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
mkdir -p graphiql react react-dom
tar xzf "graphiql-$GRAPHIQL.tgz" -C graphiql
tar xzf "react-$REACT.tgz" -C react
tar xzf "react-dom-$REACT.tgz" -C react-dom
npm install --silent --no-audit --no-fund --no-save "esbuild@$ESBUILD" >/dev/null
mkdir -p "$OUT"
./node_modules/.bin/esbuild graphiql/package/graphiql.min.js --minify --legal-comments=eof \
  --target=es2019 --log-level=error --outfile="$OUT/graphiql.min.js"
./node_modules/.bin/esbuild graphiql/package/graphiql.min.css --minify --legal-comments=eof \
  --log-level=error --outfile="$OUT/graphiql.min.css"
cp react/package/umd/react.production.min.js react-dom/package/umd/react-dom.production.min.js "$OUT/"
{
  for pkg in graphiql react react-dom; do
    echo "==== $pkg $(node -p "require('./$pkg/package/package.json').version") ===="
    cat "$pkg/package/LICENSE"; echo
  done
} > "$OUT/LICENSES.txt"
ls -l "$OUT"

#!/usr/bin/env bash
# Install the pinned graphql-http package (its serverAudits) outside the project.
#   tools/graphql_http_audit/setup.sh [DIR]     (default /tmp/graphql-http-audit)
set -euo pipefail
DIR="${1:-/tmp/graphql-http-audit}"
VERSION="1.23.1"
mkdir -p "$DIR"
if [[ ! -f "$DIR/node_modules/graphql-http/package.json" ]] \
   || [[ "$(node -p "require('$DIR/node_modules/graphql-http/package.json').version")" != "$VERSION" ]]; then
  npm install --silent --no-audit --no-fund --no-save --prefix "$DIR" "graphql-http@$VERSION" "graphql@16"
fi
echo "$DIR/node_modules"

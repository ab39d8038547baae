#!/usr/bin/env bash
# HTTP load figures for docs/PERFORMANCE.md: a release build of weiops on a
# fresh SQLite (or, with WEIOPS_DATABASE_URL, PostgreSQL) database, loaded
# with wrk from the same machine. Bounded: each run lasts DURATION seconds
# and targets only 127.0.0.1.
#
#   scripts/bench-http.sh            # 64 connections, 15 s per endpoint
#   CONNECTIONS=16 DURATION=10 scripts/bench-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-15}"
PORT="${PORT:-18190}"
THREADS="${THREADS:-2}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet
BIN=target/release/weiops
DATA=$(mktemp -d)
export WEIOPS_DATA_DIR="$DATA" WEIOPS_LOG=warn
PASSWORD='Bench-pass-2026'

"$BIN" migrate >/dev/null
echo "$PASSWORD" | "$BIN" user create bench --role admin --password-stdin >/dev/null
TOKEN=$("$BIN" token create bench --name bench 2>/dev/null)

"$BIN" serve --bind "127.0.0.1:$PORT" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

COOKIE=$(curl -s -o /dev/null -D - -H "Origin: http://127.0.0.1:$PORT" \
  --data-urlencode login=bench --data-urlencode "password=$PASSWORD" \
  "http://127.0.0.1:$PORT/login" | sed -n 's/^set-cookie: \(weiops_session=[^;]*\).*/\1/Ip' | head -n1)
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 1; }

run() {
  local name=$1; shift
  echo "### $name"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" | sed -n '/Latency Distribution/,/requests in/p;/Requests\/sec/p;/Non-2xx/p'
  echo
}

echo "$($BIN --version) — $(nproc) cores, ${CONNECTIONS} connections, ${DURATION}s each, database: ${WEIOPS_DATABASE_URL:-SQLite}"
run "GET /healthz" "http://127.0.0.1:$PORT/healthz"
run "GET /users (signed-in page: session lookup, permission check, list query, template)" -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/users"
run "GET /api/v1/me (bearer token)" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/me"

#!/usr/bin/env bash
# Goods-side load figures for docs/PERFORMANCE.md (issue 6): a release build
# of weiops on a SQLite database with AGENTS agents, SKUS SKUs (on sale, 10
# million units each in one warehouse) and ORDERS imported orders, loaded
# with wrk from the same machine: placing orders over the JSON API, the
# order list (API and page) with several filter mixes, and GET /healthz for
# comparison. Bounded: each run lasts DURATION seconds and targets only
# 127.0.0.1.
#
#   scripts/bench-orders.sh                      # 100,000 agents, 1,000 SKUs, 10M orders
#   CSV_DIR=/some/dir scripts/bench-orders.sh    # reuse (or write) agents.csv + orders.csv there
#   KEEP_DIR=/some/dir scripts/bench-orders.sh   # keep the loaded data folder; a second run
#                                                # with the same KEEP_DIR skips the loading
#   ORDERS=1000000 DURATION=10 CONNECTIONS=64 LIST_CONNECTIONS=8 scripts/bench-orders.sh
#   LISTS=0 scripts/bench-orders.sh              # /healthz and placing orders only
#
# Orders are placed by a staff member's API token on agents' behalf (POST
# /api/v1/orders, as a shop or mini-program backend would), 3 different
# random SKUs of 1-5 units each, random agents, shipped to the agent; every
# order reserves its stock in the same transaction as the order.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-64}"
LIST_CONNECTIONS="${LIST_CONNECTIONS:-$CONNECTIONS}"
DURATION="${DURATION:-15}"
LIST_DURATION="${LIST_DURATION:-10}"
PORT="${PORT:-18191}"
THREADS="${THREADS:-2}"
AGENTS="${AGENTS:-100000}"
SKUS="${SKUS:-1000}"
ORDERS="${ORDERS:-10000000}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

cargo build --release --quiet
BIN=target/release/weiops
if [ -n "${KEEP_DIR:-}" ]; then
  DATA="$KEEP_DIR"
  mkdir -p "$DATA"
  CLEANUP=
else
  DATA=$(mktemp -d)
  CLEANUP="$DATA"
fi
CSV="${CSV_DIR:-$DATA}"
mkdir -p "$CSV"
export WEIOPS_DATA_DIR="$DATA" WEIOPS_LOG=warn
PASSWORD='Bench-pass-2026'
BASE="http://127.0.0.1:$PORT"

SERVER=
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  SERVER=
}
trap 'stop_server; [ -z "$CLEANUP" ] || rm -rf "$CLEANUP"' EXIT
start_server() {
  "$BIN" serve --bind "127.0.0.1:$PORT" >/dev/null &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2; exit 1
}
seconds() { /usr/bin/env time -f %e "$@" 2>&1 >/dev/null | tail -n1; }

if [ ! -f "$DATA/bench-loaded" ]; then
  if [ ! -f "$CSV/agents.csv" ] || [ ! -f "$CSV/orders.csv" ]; then
    echo "writing agents.csv ($AGENTS) and orders.csv ($ORDERS) in $CSV: $(seconds python3 scripts/bench-orders-data.py csv "$CSV" "$AGENTS" "$ORDERS") s"
  fi
  "$BIN" migrate >/dev/null
  echo "$PASSWORD" | "$BIN" user create bench --role admin --password-stdin >/dev/null
  "$BIN" token create bench --name bench 2>/dev/null >"$DATA/bench-token"
  echo "weiops import agents: $(seconds "$BIN" import agents "$CSV/agents.csv") s"
  echo "weiops import orders: $(seconds "$BIN" import orders "$CSV/orders.csv") s"
  start_server
  python3 scripts/bench-orders-data.py catalogue "$BASE" "$(cat "$DATA/bench-token")" "$SKUS" >"$DATA/bench-skus"
  # Unpaid orders hold their stock 7 days instead of 30 minutes: a later
  # run on the kept folder would otherwise measure the closing of earlier
  # runs' orders (tens of thousands each) along with the placing.
  curl -fs -X PUT -H "Authorization: Bearer $(cat "$DATA/bench-token")" -H 'Content-Type: application/json' \
    -d '{"reservation_minutes": 10080}' "$BASE/api/v1/orders/settings" >/dev/null
  stop_server
  touch "$DATA/bench-loaded"
fi
TOKEN=$(cat "$DATA/bench-token")
read -r SKU_MIN SKU_MAX <"$DATA/bench-skus"
read -r AGENT_MIN AGENT_MAX ORDERS_NOW < <(python3 -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(*db.execute('SELECT MIN(id), MAX(id) FROM agents').fetchone(), db.execute('SELECT MAX(id) FROM orders').fetchone()[0])
" "$DATA/weiops.db")

start_server
COOKIE=$(curl -s -o /dev/null -D - -H "Origin: $BASE" \
  --data-urlencode login=bench --data-urlencode "password=$PASSWORD" \
  "$BASE/login" | sed -n 's/^set-cookie: \(weiops_session=[^;]*\).*/\1/Ip' | head -n1)
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 1; }

run() {
  local name=$1 connections=$2 duration=$3; shift 3
  echo "### $name"
  wrk -t"$THREADS" -c"$connections" -d"${duration}s" --latency "$@" | sed -n '/Latency Distribution/,/requests in/p;/Requests\/sec/p;/Non-2xx/p;/Socket errors/p'
  echo
}

echo "$($BIN --version) — $(nproc) cores, database: SQLite, $((AGENT_MAX - AGENT_MIN + 1)) agents, SKUs $SKU_MIN..$SKU_MAX, orders up to id $ORDERS_NOW"
run "GET /healthz" "$CONNECTIONS" "$DURATION" "$BASE/healthz"
TOKEN="$TOKEN" AGENT_MIN="$AGENT_MIN" AGENT_MAX="$AGENT_MAX" SKU_MIN="$SKU_MIN" SKU_MAX="$SKU_MAX" \
  run "POST /api/v1/orders (3 lines, stock reserved)" "$CONNECTIONS" "$DURATION" -s scripts/wrk-place-order.lua "$BASE/api/v1/orders"

# One agent's code from the middle of the list, and a search prefix that
# matches a handful of order numbers.
AGENT_CODE=A$((AGENTS / 2 + 7))
MIXES=(
  ""
  "page=50"
  "status=refunded"
  "status=pending_payment"
  "status=shipped"
  "agent=$AGENT_CODE"
  "from=2026-06-15&to=2026-06-15"
  "from=2026-11-01&to=2026-11-30"
  "q=O123456"
  "status=refunded&from=2026-11-01&to=2026-11-30"
  "agent=$AGENT_CODE&from=2026-06-01&to=2026-09-30"
  "status=paid&agent=$AGENT_CODE"
  "q=O123456&status=paid&from=2026-01-01&to=2026-11-30"
)
[ "${LISTS:-1}" != 0 ] || exit 0
for mix in "${MIXES[@]}"; do
  run "GET /api/v1/orders?$mix" "$LIST_CONNECTIONS" "$LIST_DURATION" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/orders?$mix"
done
for mix in "${MIXES[@]}"; do
  run "GET /orders?$mix (signed-in page)" "$LIST_CONNECTIONS" "$LIST_DURATION" -H "Cookie: $COOKIE" "$BASE/orders?$mix"
done

#!/usr/bin/env bash
# Load benchmark (not a test): wrk against GET /proxy/check on loopback, then proof that
# every decision was audited.
#
#   hosts/gateway/bench/load.sh            # 20 s, 2 wrk threads, 64 connections
#   DURATION=60s CONNECTIONS=128 hosts/gateway/bench/load.sh
#
# 1. installs wrk with apt-get if missing; 2. builds and starts the release gateway
# (temporary database, the repository's example policies, PORT=0); 3. creates a Clawdbot
# agent; 4. runs wrk (check.lua cycles through allow/deny requests) and prints requests/s
# and latency percentiles; 5. stops the gateway with SIGTERM (it drains the audit queue)
# and counts the audit rows: every decision the gateway answered must be there (a few
# more when wrk stopped with requests in flight: their entries were committed, their
# answers never read).
# Targets on the 2-core machine class: >= 15,000 checks/s, p99 <= 5 ms, every decision
# audited. wrk shares the two cores with the gateway.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
duration=${DURATION:-20s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}

if ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk"
  sudo_=""
  [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update
  $sudo_ apt-get install -y wrk
fi

echo "==> building the release gateway"
(cd "$root" && cargo build --release -p meshguard-gateway)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshguard-load.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

admin="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
HOST=127.0.0.1 PORT=0 ADMIN_TOKEN="$admin" DB_PATH="$tmp/meshguard.db" \
  POLICIES_DIR="$root/policies" LOG=warn \
  "$root/target/release/meshguard-gateway" 2> "$tmp/gateway.log" &
pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^meshguard-gateway listening on //p' "$tmp/gateway.log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/gateway.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/gateway.log" >&2; echo "gateway not ready" >&2; exit 1; }
echo "==> gateway at $url (pid $pid)"

token=$(curl -sf -X POST "$url/admin/agents" -H "X-Admin-Token: $admin" \
  -H 'Content-Type: application/json' \
  -d '{"name":"bench-agent","trustTier":"verified","tags":["clawdbot"]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "==> wrk -t$threads -c$connections -d$duration --latency  (GET /proxy/check)"
MG_TOKEN="$token" wrk -t"$threads" -c"$connections" -d"$duration" --latency \
  -s "$here/check.lua" "$url/proxy/check" | tee "$tmp/wrk.txt"

decisions=$(curl -sf "$url/metrics" |
  awk '/^meshguard_decisions_total/ {s += $2} END {printf "%d", s}')
rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")

echo "==> stopping the gateway (SIGTERM: drains the audit queue)"
kill -TERM "$pid"
for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "the gateway did not stop" >&2; exit 1; fi
pid=""
rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from audit").fetchone()[0])' "$tmp/meshguard.db")

echo
echo "checks/s:             $rps"
echo "latency p50 / p99:    $p50 / $p99"
echo "decisions answered:   $decisions"
echo "audit rows written:   $rows"
if [ "$rows" -lt "$decisions" ]; then
  echo "LOST: $decisions decisions answered but only $rows audit rows" >&2
  exit 1
fi
echo "every decision audited: yes ($((rows - decisions)) more rows: requests in flight when wrk stopped)"

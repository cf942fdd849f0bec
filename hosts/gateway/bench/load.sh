#!/usr/bin/env bash
# Load benchmark (not a test): wrk against GET /proxy/check on loopback, then proof that
# every decision was audited.
#
#   hosts/gateway/bench/load.sh            # 20 s, 2 wrk threads, 64 connections, SQLite
#   DURATION=60s CONNECTIONS=128 hosts/gateway/bench/load.sh
#   BACKEND=postgres hosts/gateway/bench/load.sh               # one gateway on PostgreSQL
#   BACKEND=postgres REPLICAS=2 hosts/gateway/bench/load.sh    # two replicas, one database
#
# 1. installs wrk with apt-get if missing; 2. builds and starts the release gateway
# (temporary database, the repository's example policies, PORT=0) — with
# BACKEND=postgres, a throwaway PostgreSQL server (Debian's binaries, default durability
# settings: fsync and synchronous_commit on) and REPLICAS gateways on it; 3. creates a
# Clawdbot agent; 4. runs wrk (check.lua cycles through allow/deny requests; its threads
# are spread over the replicas, so keep THREADS a multiple of REPLICAS) and prints
# requests/s and latency percentiles; 5. stops the gateways with SIGTERM (they drain
# their audit queues) and counts the audit rows: every decision answered must be there
# (a few more when wrk stopped with requests in flight: their entries were committed,
# their answers never read).
# Targets on the 2-core machine class (SQLite): >= 15,000 checks/s, p99 <= 5 ms, every
# decision audited. wrk shares the two cores with the gateways (and PostgreSQL).
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
chmod 755 "$tmp"
backend=${BACKEND:-sqlite}
replicas=${REPLICAS:-1}
pids=()
pgbin=""
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}
stop_gateways() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}
cleanup() {
  stop_gateways
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "$pgbin" ]; then as_postgres "$pgbin/pg_ctl" -D "$tmp/pg/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

admin="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
db_env=(DB_PATH="$tmp/meshguard.db")
if [ "$backend" = postgres ]; then
  pgbin=$(bash "$here/../tests/ensure-postgres.sh" | tail -n1)
  mkdir -p "$tmp/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$tmp/pg"
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$tmp/pg" && as_postgres "$pgbin/initdb" -D "$tmp/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null)
  (cd "$tmp/pg" && as_postgres "$pgbin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -c unix_socket_directories=$tmp/pg -c max_connections=200" start >/dev/null)
  database_url="postgres://postgres@127.0.0.1:$pgport/postgres"
  db_env=(DATABASE_URL="$database_url")
  echo "==> PostgreSQL at $database_url"
elif [ "$replicas" -ne 1 ]; then
  echo "REPLICAS needs BACKEND=postgres (replicas share one database)" >&2; exit 1
fi

urls=()
for i in $(seq 1 "$replicas"); do
  env HOST=127.0.0.1 PORT=0 ADMIN_TOKEN="$admin" "${db_env[@]}" \
    POLICIES_DIR="$root/policies" LOG=warn \
    "$root/target/release/meshguard-gateway" 2> "$tmp/gateway-$i.log" &
  pids+=($!)
  url=""
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^meshguard-gateway listening on //p' "$tmp/gateway-$i.log" | head -n1)
    [ -n "$url" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$tmp/gateway-$i.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$tmp/gateway-$i.log" >&2; echo "gateway not ready" >&2; exit 1; }
  echo "==> gateway $i at $url (pid ${pids[-1]})"
  urls+=("$url")
done
url=${urls[0]}

token=$(curl -sf -X POST "$url/admin/agents" -H "X-Admin-Token: $admin" \
  -H 'Content-Type: application/json' \
  -d '{"name":"bench-agent","trustTier":"verified","tags":["clawdbot"]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# Every replica knows the agent before the load starts (it hears of it within a second).
for u in "${urls[@]}"; do
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
      -H 'X-MeshGuard-Action: read:calendar' "$u/proxy/check")
    [ "$code" = 200 ] && break
    sleep 0.05
  done
done

echo "==> wrk -t$threads -c$connections -d$duration --latency  (GET /proxy/check on ${#urls[@]} gateway(s))"
MG_TOKEN="$token" MG_TARGETS="${urls[*]}" wrk -t"$threads" -c"$connections" -d"$duration" --latency \
  -s "$here/check.lua" "$url/proxy/check" | tee "$tmp/wrk.txt"

decisions=0
for u in "${urls[@]}"; do
  n=$(curl -sf "$u/metrics" | awk '/^meshguard_decisions_total/ {s += $2} END {printf "%d", s}')
  decisions=$((decisions + n))
  echo "decisions answered by $u: $n"
done
rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")

echo "==> stopping the gateway(s) (SIGTERM: each drains its audit queue)"
stop_gateways
for p in "${pids[@]}"; do
  if kill -0 "$p" 2>/dev/null; then echo "a gateway did not stop" >&2; exit 1; fi
done
pids=()
if [ "$backend" = postgres ]; then
  rows=$(as_postgres "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -At -c 'select count(*) from audit')
else
  rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from audit").fetchone()[0])' "$tmp/meshguard.db")
fi

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

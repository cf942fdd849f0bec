#!/usr/bin/env bash
# Benchmarks one whole Claude Code hook invocation, process start to exit:
# `meshguard hook claude-code --policies policies` reading a PreToolUse event on stdin,
# loading and compiling the eleven example policies, deciding, answering on stdout (the
# process forks a worker that decides while the parent supervises it: hook/failsafe.rs).
# Then the same events decided through a gateway on 127.0.0.1
# (`--gateway URL`, token in MESHGUARD_API_KEY: one POST /v1/check per resource).
# Budgets: 5 ms local (issue 5), 10 ms through the gateway (issue 9), on the median.
# Uses the release binaries and hyperfine only (no bindings).
#
#   hosts/cli/bench/hook.sh            # build, check the answers, benchmark, judge
#   RUNS=1000 hosts/cli/bench/hook.sh  # more runs
#   BUDGET_MS=5 GATEWAY_BUDGET_MS=10   # the limits the medians are held to
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

if ! command -v hyperfine >/dev/null; then
  echo "hyperfine is required: apt-get install hyperfine (or cargo install hyperfine)" >&2
  exit 2
fi
RUNS="${RUNS:-500}"
BUDGET_MS="${BUDGET_MS:-5}"
GATEWAY_BUDGET_MS="${GATEWAY_BUDGET_MS:-10}"

cargo build --release --quiet -p meshguard-cli -p meshguard-gateway
bin="$PWD/target/release/meshguard"
policies="$PWD/policies"
tmp="$(mktemp -d)"
gateway_pid=""
cleanup() {
  if [ -n "$gateway_pid" ]; then kill "$gateway_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

event() { # tool, tool_input JSON
  printf '{"session_id":"bench","transcript_path":"/tmp/t.jsonl","cwd":"/home/dev/app","hook_event_name":"PreToolUse","tool_name":"%s","tool_input":%s}' "$1" "$2"
}
event Read '{"file_path":"/home/dev/app/src/main.rs"}' > "$tmp/read.json"
event Bash '{"command":"git status && rm -rf /"}' > "$tmp/bash.json"
event WebFetch '{"url":"https://docs.rs/serde","prompt":"summarise"}' > "$tmp/fetch.json"

# The benchmark is only worth something if the hook answers correctly. An allow answers
# nothing (Claude Code's own permissions go on) unless --allow-explicitly.
expect() { # event file, permissionDecision or "none", hook flags...
  local out file="$1" want="$2"
  shift 2
  out="$("$bin" hook claude-code "$@" < "$file")"
  case "$want:$out" in
    none:) ;;
    none:*) echo "unexpected answer for $file: $out" >&2; exit 1 ;;
    *:*"\"permissionDecision\":\"$want\""*) ;;
    *) echo "unexpected answer for $file: $out" >&2; exit 1 ;;
  esac
}

# Runs hyperfine on the three events with the hook flags given, and judges the medians.
measure() { # label, budget (ms), hook flags...
  local label="$1" budget="$2" flags commands=()
  shift 2
  flags="$*"
  # hyperfine 1.16+ feeds stdin itself (`--input`), with no shell in between; older ones
  # run the command through a shell for the redirection and subtract the measured cost
  # of spawning that shell.
  if hyperfine --help | grep -q -- '--input'; then
    for e in read bash fetch; do
      commands+=(--input "$tmp/$e.json" -n "$label $e" "$bin hook claude-code $flags")
    done
    hyperfine -N --warmup 50 --runs "$RUNS" --export-csv "$tmp/$label.csv" "${commands[@]}"
  else
    for e in read bash fetch; do
      commands+=(-n "$label $e" "$bin hook claude-code $flags < $tmp/$e.json")
    done
    hyperfine --warmup 50 --runs "$RUNS" --export-csv "$tmp/$label.csv" "${commands[@]}"
  fi
  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
  awk -F, -v budget="$budget" '
    NR > 1 {
      median = $4 * 1000; mean = $2 * 1000
      verdict = median <= budget ? "ok" : "OVER BUDGET"
      printf "%-14s median %.2f ms, mean %.2f ms (budget %s ms): %s\n", $1, median, mean, budget, verdict
      if (median > budget) over = 1
    }
    END { exit over }
  ' "$tmp/$label.csv" >> "$tmp/verdicts" || failed=1
}
failed=0

expect "$tmp/read.json" none --policies "$policies"
expect "$tmp/read.json" allow --policies "$policies" --allow-explicitly
expect "$tmp/bash.json" deny --policies "$policies"
expect "$tmp/fetch.json" none --policies "$policies"
measure local "$BUDGET_MS" --policies "$policies"

# A gateway on a free port with its own database, the example policies and an agent.
PORT=0 HOST=127.0.0.1 POLICIES_DIR="$policies" DB_PATH="$tmp/gw.db" ADMIN_TOKEN=bench-admin-token-0123456789 LOG=warn \
  "$PWD/target/release/meshguard-gateway" 2> "$tmp/gateway.log" &
gateway_pid=$!
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^meshguard-gateway listening on //p' "$tmp/gateway.log")"
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "the gateway did not start:" >&2
  cat "$tmp/gateway.log" >&2
  exit 1
fi
token="$(MESHGUARD_GATEWAY_URL="$url" MESHGUARD_ADMIN_TOKEN=bench-admin-token-0123456789 \
  "$bin" --json agent create bench-claude --tags claude-code --trust verified |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
if [ -z "$token" ]; then
  echo "could not create the benchmark agent" >&2
  exit 1
fi
export MESHGUARD_API_KEY="$token"
expect "$tmp/read.json" none --gateway "$url"
expect "$tmp/bash.json" deny --gateway "$url"
expect "$tmp/fetch.json" none --gateway "$url"
measure gateway "$GATEWAY_BUDGET_MS" --gateway "$url"

cat "$tmp/verdicts"
exit "$failed"

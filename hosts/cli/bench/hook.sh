#!/usr/bin/env bash
# Benchmarks one whole Claude Code hook invocation, process start to exit:
# `meshguard hook claude-code --policies policies` reading a PreToolUse event on stdin,
# loading and compiling the eleven example policies, deciding, answering on stdout (the
# process forks a worker that decides while the parent supervises it: hook/failsafe.rs).
# Budget: 5 ms (issue 5). Uses the release binary and hyperfine only (no bindings).
#
#   hosts/cli/bench/hook.sh            # build, check the answers, benchmark, judge
#   RUNS=1000 hosts/cli/bench/hook.sh  # more runs
#   BUDGET_MS=5 ...                    # the limit the median is held to
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

if ! command -v hyperfine >/dev/null; then
  echo "hyperfine is required: apt-get install hyperfine (or cargo install hyperfine)" >&2
  exit 2
fi
RUNS="${RUNS:-500}"
BUDGET_MS="${BUDGET_MS:-5}"

cargo build --release --quiet -p meshguard-cli
bin="$PWD/target/release/meshguard"
policies="$PWD/policies"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

event() { # tool, tool_input JSON
  printf '{"session_id":"bench","transcript_path":"/tmp/t.jsonl","cwd":"/home/dev/app","hook_event_name":"PreToolUse","tool_name":"%s","tool_input":%s}' "$1" "$2"
}
event Read '{"file_path":"/home/dev/app/src/main.rs"}' > "$tmp/read.json"
event Bash '{"command":"git status && rm -rf /"}' > "$tmp/bash.json"
event WebFetch '{"url":"https://docs.rs/serde","prompt":"summarise"}' > "$tmp/fetch.json"

# The benchmark is only worth something if the hook answers correctly. An allow answers
# nothing (Claude Code's own permissions go on) unless --allow-explicitly.
expect() { # event file, permissionDecision or "none", extra flags...
  local out file="$1" want="$2"
  shift 2
  out="$("$bin" hook claude-code --policies "$policies" "$@" < "$file")"
  case "$want:$out" in
    none:) ;;
    none:*) echo "unexpected answer for $file: $out" >&2; exit 1 ;;
    *:*"\"permissionDecision\":\"$want\""*) ;;
    *) echo "unexpected answer for $file: $out" >&2; exit 1 ;;
  esac
}
expect "$tmp/read.json" none
expect "$tmp/read.json" allow --allow-explicitly
expect "$tmp/bash.json" deny
expect "$tmp/fetch.json" none

# hyperfine 1.16+ feeds stdin itself (`--input`), with no shell in between; older ones
# run the command through a shell for the redirection and subtract the measured cost
# of spawning that shell.
commands=()
if hyperfine --help | grep -q -- '--input'; then
  for e in read bash fetch; do
    commands+=(--input "$tmp/$e.json" -n "$e" "$bin hook claude-code --policies $policies")
  done
  hyperfine -N --warmup 50 --runs "$RUNS" --export-csv "$tmp/result.csv" "${commands[@]}"
else
  for e in read bash fetch; do
    commands+=(-n "$e" "$bin hook claude-code --policies $policies < $tmp/$e.json")
  done
  hyperfine --warmup 50 --runs "$RUNS" --export-csv "$tmp/result.csv" "${commands[@]}"
fi

# CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
awk -F, -v budget="$BUDGET_MS" '
  NR > 1 {
    median = $4 * 1000; mean = $2 * 1000
    verdict = median <= budget ? "ok" : "OVER BUDGET"
    printf "%-6s median %.2f ms, mean %.2f ms (budget %s ms): %s\n", $1, median, mean, budget, verdict
    if (median > budget) over = 1
  }
  END { exit over }
' "$tmp/result.csv"

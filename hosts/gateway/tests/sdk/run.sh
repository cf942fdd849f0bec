#!/usr/bin/env bash
# The official MeshGuard Python SDK (meshguard 0.1.2 from PyPI, unchanged) against the real
# gateway: a venv in target/sdk-venv, the release gateway on a free port of 127.0.0.1 with
# a temporary database and the repository's example policies, then pytest on test_sdk.py.
# The gateway is always stopped (SIGTERM by pid) and the temporary files removed.
#
#   hosts/gateway/tests/sdk/run.sh [pytest args]
#
# CI runs it through `cargo xtask ci`. Needs python3 (with venv) and access to PyPI.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
venv="$root/target/sdk-venv"
gateway="$root/target/release/meshguard-gateway"

echo "==> python venv in $venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "meshguard==0.1.2" "httpx==0.28.1" "pytest==8.4.2"

echo "==> release gateway"
# Built as the gateway's release tests build it (`cargo xtask gateway` runs them just
# before); a plain `cargo build` would compile wasmtime and cranelift once more.
(cd "$root" && cargo xtask gateway-binary)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshguard-sdk.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

admin_token="sdk-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
HOST=127.0.0.1 PORT=0 ADMIN_TOKEN="$admin_token" DB_PATH="$tmp/meshguard.db" \
  POLICIES_DIR="$root/policies" LOG=warn \
  "$gateway" 2> "$tmp/gateway.log" &
pid=$!

url=""
for _ in $(seq 1 600); do   # bounded: 60 s
  url=$(sed -n 's/^meshguard-gateway listening on //p' "$tmp/gateway.log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/gateway.log" >&2; echo "the gateway exited" >&2; exit 1; }
  sleep 0.1
done
if [ -z "$url" ]; then
  cat "$tmp/gateway.log" >&2
  echo "the gateway did not become ready" >&2
  exit 1
fi
echo "==> gateway at $url (pid $pid)"

status=0
MESHGUARD_GATEWAY_URL="$url" MESHGUARD_ADMIN_TOKEN="$admin_token" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/test_sdk.py" "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- gateway log ----" >&2
  cat "$tmp/gateway.log" >&2
fi
exit "$status"

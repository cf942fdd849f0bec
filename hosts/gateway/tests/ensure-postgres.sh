#!/usr/bin/env bash
# Makes sure Debian's PostgreSQL server binaries are installed for the replica tests
# (hosts/gateway/tests/replicas.rs starts its own throwaway server from them; nothing is
# started here). Installs the `postgresql` package with apt-get when missing (needs
# root); every command has a time limit.
set -euo pipefail

have() { compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null; }

if ! have; then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get > /dev/null; then
        echo "PostgreSQL server binaries are missing; install Debian's postgresql (apt-get install -y postgresql) as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    install() { timeout 600 apt-get install -y --no-install-recommends postgresql; }
    # Stale or missing package lists on a fresh machine: update once, then retry.
    install || { timeout 600 apt-get update && install; }
fi
have || { echo "apt-get ran but no initdb is under /usr/lib/postgresql" >&2; exit 1; }
ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1

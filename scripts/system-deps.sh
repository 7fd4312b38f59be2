#!/usr/bin/env bash
# Install the Debian packages the tests and the demo need, only those missing. Idempotent; needs root
# (or sudo). PostgreSQL 15 and redis-server are real servers the tests start on 127.0.0.1; chromium drives
# devcord's web client in a browser test.
set -euo pipefail

missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15 postgresql-client-15)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the services it installs; the tests run their own throwaway servers instead.
for service in redis-server postgresql; do
    $sudo service "$service" stop >/dev/null 2>&1 || true
done

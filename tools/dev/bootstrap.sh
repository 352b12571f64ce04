#!/usr/bin/env bash
# First half of `npm start` / `npm test` on any machine: make sure npm dependencies match
# package-lock.json (which brings Node 24 as node_modules/.bin/node), then hand over to
# tools/dev/keelson.mjs. OS packages and Kafka jars are installed by tools/stack/stack.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

say() { printf 'keelson: %s\n' "$*"; }

if ! command -v npm >/dev/null 2>&1; then
  say "installing nodejs and npm (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

stamp=node_modules/.keelson-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/node || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "installing npm dependencies (npm ci)"
  started=$(date +%s)
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
  say "npm dependencies installed in $(( $(date +%s) - started ))s"
fi

version=$(node_modules/.bin/node --version)
[[ $version == v24.* ]] || { say "expected Node 24 in node_modules/.bin/node, found $version"; exit 1; }

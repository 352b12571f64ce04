#!/usr/bin/env bash
# Checks the Prometheus rules in prometheus/ (a stage of `npm test`):
#   1. `promtool check rules` on every prometheus/*.rules.yml,
#   2. `promtool test rules` on every prometheus/tests/*.yaml,
#   3. when Sloth is installed, that the generated SLO rules are what their specs generate.
# promtool comes with Debian's `prometheus` package, installed here when missing. Sloth is
# optional for checking (a fresh `go install` takes minutes); see docs/adr/0012-slos-and-alerts.md.
#
#   check.sh              the checks above
#   check.sh generate     regenerate prometheus/slo-<name>.rules.yml from prometheus/slos/<name>.yml
#                         (installs Sloth with `go install` when it is missing)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROM="$ROOT/prometheus"
SLOTH_MODULE=github.com/slok/sloth
SLOTH_VERSION=v0.16.0

say() { printf 'prometheus: %s\n' "$*"; }
die() { printf 'prometheus: %s\n' "$*" >&2; exit 1; }

# shellcheck source=../lib/debian.sh
source "$ROOT/tools/lib/debian.sh"

# The sloth binary to use, if one of the pinned version is installed: $SLOTH, then PATH, then
# Go's bin folder. Other versions write other rules, so they don't count.
find_sloth() {
  local candidate
  for candidate in "${SLOTH:-}" "$(command -v sloth 2>/dev/null || true)" "$(go env GOPATH 2>/dev/null || true)/bin/sloth"; do
    [[ -n $candidate && -x $candidate ]] || continue
    if go version -m "$candidate" 2>/dev/null | grep -qE "^\s+mod\s+$SLOTH_MODULE\s+$SLOTH_VERSION\s"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Generates the rules of every spec in prometheus/slos into $1, named slo-<spec>.rules.yml.
generate_into() {
  local sloth=$1 out=$2 spec name
  for spec in "$PROM"/slos/*.yml; do
    name=$(basename "$spec" .yml)
    "$sloth" generate --no-log -i "$spec" -o "$out/slo-$name.rules.yml" 2>"$out/sloth-$name.log" \
      || { cat "$out/sloth-$name.log" >&2; die "sloth could not generate rules from ${spec#"$ROOT"/}"; }
    rm -f "$out/sloth-$name.log"
  done
}

generate() {
  local sloth
  if ! sloth=$(find_sloth); then
    command -v go >/dev/null 2>&1 || die "Sloth $SLOTH_VERSION is needed and Go is not installed to build it"
    say "installing Sloth $SLOTH_VERSION (go install; a few minutes on a fresh Go cache)"
    local started=$SECONDS
    go install "$SLOTH_MODULE/cmd/sloth@$SLOTH_VERSION"
    say "Sloth installed in $((SECONDS - started))s"
    sloth=$(find_sloth) || die "sloth $SLOTH_VERSION not found after go install"
  fi
  rm -f "$PROM"/slo-*.rules.yml
  generate_into "$sloth" "$PROM"
  say "generated $(cd "$ROOT" && ls prometheus/slo-*.rules.yml | tr '\n' ' ')"
}

check() {
  install_prometheus
  cd "$PROM"
  local rule_files=(*.rules.yml) tests=(tests/*.yaml)
  say "promtool check rules: ${#rule_files[@]} files"
  promtool check rules "${rule_files[@]}"
  say "promtool test rules: ${#tests[@]} files"
  promtool test rules "${tests[@]}"

  local sloth
  if sloth=$(find_sloth); then
    fresh=$(mktemp -d)
    trap 'rm -rf "$fresh"' EXIT
    generate_into "$sloth" "$fresh"
    local drift=0 file
    # Every file either side: a spec without committed rules, or rules without a spec, is drift too.
    for file in $( (cd "$fresh" && ls slo-*.rules.yml; ls slo-*.rules.yml) | sort -u); do
      [[ -f $PROM/$file ]] || { say "prometheus/$file is missing"; drift=1; continue; }
      [[ -f $fresh/$file ]] || { say "prometheus/$file has no spec in prometheus/slos"; drift=1; continue; }
      diff -u --label "prometheus/$file (committed)" --label "prometheus/$file (generated now)" "$PROM/$file" "$fresh/$file" || drift=1
    done
    (( drift == 0 )) || die "the generated SLO rules are out of date: run tools/prometheus/check.sh generate"
    say "generated SLO rules match prometheus/slos ($sloth)"
  else
    say "Sloth $SLOTH_VERSION not installed: skipped the check that prometheus/slo-*.rules.yml match prometheus/slos"
    say "  (go install $SLOTH_MODULE/cmd/sloth@$SLOTH_VERSION, or set SLOTH=<path>)"
  fi
}

case ${1:-check} in
  check) check ;;
  generate) generate ;;
  *) die "usage: check.sh [check|generate]" ;;
esac

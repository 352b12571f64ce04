#!/usr/bin/env bash
# The Kubernetes checks of `npm test`, offline (no cluster, no network once the tools are in):
#   0. the vendored schemas are vendor-schemas.sh's output (hashes in tools/k8s/schemas/SOURCES.md);
#   1. helm lint --strict on the chart with its default values and with each ci/*-values.yaml
#      (ci/all-features-values.yaml must be there);
#   2. helm template of each, validated by kubeconform -strict against the vendored schemas in
#      tools/k8s/schemas only, with the plain manifests of k8s/infra/;
#   3. kube-score on the output of the default and all-features values (the production-shaped
#      ones), with the tests tools/k8s/kube-score.conf turns off or on;
#   4. hadolint on the Dockerfile; 5. actionlint on .github/workflows; 6. shellcheck on the
#      scripts of tools/k8s and k8s.
# Tools come from tools/k8s/tools.sh (installed when missing; shellcheck from apt, as
# tools/prometheus/check.sh installs promtool). Nothing is skipped: a missing chart, values file
# or Dockerfile fails the check.
#
#   KEELSON_CHART=<dir>   the chart to check (default charts/keelson)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$(cd "$ROOT" && realpath -m "${KEELSON_CHART:-charts/keelson}")"
BIN="${KEELSON_TOOLS_DIR:-$ROOT/.tools}/bin"
SCHEMAS="$ROOT/tools/k8s/schemas"
# The Kubernetes version of the kind node image (k8s/kind-config.yaml) and of the vendored schemas.
KUBE_VERSION=1.36.1
RELEASE=keelson
NAMESPACE=keelson
# The API groups of the vendored CRD schemas, announced to `helm template` as a cluster with
# prometheus-operator and KEDA would, so templates gated on them render and get validated.
API_VERSIONS=(monitoring.coreos.com/v1 keda.sh/v1alpha1)

say() { printf 'k8s-check: %s\n' "$*"; }
die() { printf 'k8s-check: %s\n' "$*" >&2; exit 1; }
rel() { local p=${1#"$ROOT"/}; echo "${p:-.}"; }

failures=()
# Runs "$@" as the check named $1; a failure is recorded and the other checks still run.
step() {
  local name=$1 started=$SECONDS
  shift
  say "$name …"
  if "$@"; then
    say "$name ok ($((SECONDS - started))s)"
  else
    say "$name FAILED ($((SECONDS - started))s)"
    failures+=("$name")
  fi
}

ensure_tools() {
  bash "$ROOT/tools/k8s/tools.sh" || die "tools/k8s/tools.sh failed"
  if ! command -v shellcheck >/dev/null 2>&1; then
    say "installing shellcheck (apt)"
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; } \
      || die "could not install shellcheck with apt (run as root, or install it)"
  fi
}

# kube-score flags from tools/k8s/kube-score.conf: `ignore <test>` or `enable <test>`, each with a reason.
kube_score_flags() {
  local verb test rest
  while read -r verb test rest; do
    [[ -z $verb || $verb == \#* ]] && continue
    [[ $rest == \#* ]] || die "tools/k8s/kube-score.conf: '$verb $test' needs a reason (# …)"
    case $verb in
      ignore) echo "--ignore-test=$test" ;;
      enable) echo "--enable-optional-test=$test" ;;
      *) die "tools/k8s/kube-score.conf: unknown verb '$verb'" ;;
    esac
  done <"$ROOT/tools/k8s/kube-score.conf"
}

helm_lint() {
  local args=("$@")
  "$BIN/helm" lint --strict --quiet --kube-version "$KUBE_VERSION" "$CHART" "${args[@]}"
}

helm_template() {
  local out=$1 api
  shift
  local args=(--namespace "$NAMESPACE" --kube-version "$KUBE_VERSION")
  for api in "${API_VERSIONS[@]}"; do args+=(--api-versions "$api"); done
  "$BIN/helm" template "$RELEASE" "$CHART" "${args[@]}" "$@" >"$out"
}

kubeconform() {
  "$BIN/kubeconform" -strict -summary -output text \
    -schema-location "$SCHEMAS/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$@"
}

kube_score() {
  local flags
  mapfile -t flags < <(kube_score_flags)
  # ci output lists every check; show what is not OK and the count, fail on warnings too.
  local out status=0
  out=$("$BIN/kube-score" score --output-format ci --exit-one-on-warning --kubernetes-version "v${KUBE_VERSION%.*}" \
    "${flags[@]}" "$@") || status=$?
  grep -E '^\[(WARNING|CRITICAL)\]' <<<"$out" || true
  say "kube-score: $(grep -c '^\[OK\]' <<<"$out") ok, $(grep -c '^\[WARNING\]' <<<"$out") warnings, $(grep -c '^\[CRITICAL\]' <<<"$out") critical"
  return "$status"
}

# The vendored schemas are vendor-schemas.sh's output, unedited: their hashes in SOURCES.md.
schemas_unedited() {
  (cd "$SCHEMAS" && grep -E '^[0-9a-f]{64}  ' SOURCES.md | sha256sum --check --quiet --strict)
}

# actionlint finds .github/workflows from the working directory; it runs shellcheck on `run:` steps.
actionlint() { (cd "$ROOT" && "$BIN/actionlint" -no-color); }

main() {
  ensure_tools
  [[ -f $CHART/Chart.yaml ]] || die "no chart at $(rel "$CHART") (set KEELSON_CHART to check another)"
  [[ -f $CHART/ci/all-features-values.yaml ]] || die "no $(rel "$CHART")/ci/all-features-values.yaml"
  [[ -f $ROOT/Dockerfile ]] || die "no Dockerfile at the repository root"

  # Global: the EXIT trap runs after main has returned.
  rendered=$(mktemp -d)
  trap 'rm -rf "$rendered"' EXIT

  # name → helm values flags ("" is the chart's defaults)
  local -a names=(default) flags=("")
  local values
  for values in "$CHART"/ci/*-values.yaml; do
    names+=("$(basename "$values" .yaml)")
    flags+=("$values")
  done

  step "schemas (tools/k8s/schemas/SOURCES.md)" schemas_unedited
  local i name
  for i in "${!names[@]}"; do
    name=${names[$i]}
    local vf=()
    [[ -n ${flags[$i]} ]] && vf=(-f "${flags[$i]}")
    step "helm lint --strict ($name)" helm_lint "${vf[@]}"
    step "helm template ($name)" helm_template "$rendered/$name.yaml" "${vf[@]}"
    if [[ -s $rendered/$name.yaml ]]; then
      step "kubeconform ($name)" kubeconform "$rendered/$name.yaml"
      # Production-shaped values only: the other ci/ files (kind's single replicas) are throwaway clusters.
      if [[ $name == default || $name == all-features-values ]]; then
        step "kube-score ($name)" kube_score "$rendered/$name.yaml"
      fi
    fi
  done
  local infra=("$ROOT"/k8s/infra/*.yaml)
  step "kubeconform (k8s/infra)" kubeconform "${infra[@]}"

  step "hadolint (Dockerfile)" "$BIN/hadolint" --failure-threshold style "$ROOT/Dockerfile"
  step "actionlint (.github/workflows)" actionlint
  local scripts=("$ROOT"/tools/k8s/*.sh "$ROOT"/k8s/*.sh)
  step "shellcheck (tools/k8s, k8s)" shellcheck "${scripts[@]}"

  if ((${#failures[@]} > 0)); then
    local joined
    joined=$(printf '%s, ' "${failures[@]}")
    say "failed: ${joined%, }"
    exit 1
  fi
  say "all checks passed on $(rel "$CHART") (${#names[@]} value sets)"
}

main "$@"

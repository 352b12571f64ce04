#!/usr/bin/env bash
# After k8s/up.sh, as the kind workflow does: the load test through the gateway, then
#   1. Prometheus has loaded Keelson's rules, scrapes its pods, and no alert is firing;
#   2. the gateway's HorizontalPodAutoscaler scaled out (currentReplicas > minReplicas).
# The load test is load-tests/run.mjs (Artillery) against a port-forward to the gateway Service,
# with an OAuth client made by the auth service's `seed` command in its pod. Needs kubectl, jq,
# curl and the npm dependencies (tools/dev/bootstrap.sh).
#
#   LOAD_SCENARIO   load-tests/scenarios/<name>.yml (default load)
#   LOAD_RATE, LOAD_HOLD_SECONDS   passed to load-tests/run.mjs (see load-tests/README.md)
#   KEELSON_SCALED_HPA   the HPA that must have scaled (default keelson-gateway)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAMESPACE=keelson
GATEWAY_PORT=8080
PROMETHEUS_PORT=19090
SCENARIO="${LOAD_SCENARIO:-load}"
HPA="${KEELSON_SCALED_HPA:-keelson-gateway}"

say() { printf 'k8s-verify: %s\n' "$*"; }
die() { printf 'k8s-verify: %s\n' "$*" >&2; exit 1; }

for tool in kubectl jq curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
[[ -x $ROOT/node_modules/.bin/node ]] || die "run tools/dev/bootstrap.sh first (npm dependencies, Node 24)"

forwards=()
cleanup() {
  local pid
  for pid in "${forwards[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Forwards 127.0.0.1:$3 to port $4 of $2 in namespace $1, and waits until $5 (a URL) answers.
forward() {
  local namespace=$1 target=$2 local_port=$3 remote_port=$4 url=$5 deadline=$((SECONDS + 60))
  kubectl port-forward --namespace "$namespace" "$target" "$local_port:$remote_port" >"/tmp/port-forward-$local_port.log" 2>&1 &
  forwards+=($!)
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || { cat "/tmp/port-forward-$local_port.log" >&2; die "$url did not answer through the port-forward"; }
    sleep 1
  done
}

load_test() {
  forward "$NAMESPACE" svc/keelson-gateway "$GATEWAY_PORT" 8080 "http://127.0.0.1:$GATEWAY_PORT/health/ready"
  local seed
  seed=$(kubectl exec --namespace "$NAMESPACE" deploy/keelson-auth -- node dist/apps/auth/src/main.js seed | tail -n 1)
  LOAD_CLIENT_ID=$(jq -er .client.clientId <<<"$seed") || die "no client from the auth seed command: $seed"
  LOAD_CLIENT_SECRET=$(jq -er .client.clientSecret <<<"$seed")
  export LOAD_CLIENT_ID LOAD_CLIENT_SECRET
  say "load test: scenario $SCENARIO${LOAD_RATE:+, $LOAD_RATE/s}${LOAD_HOLD_SECONDS:+, held ${LOAD_HOLD_SECONDS}s} (client $LOAD_CLIENT_ID)"
  (cd "$ROOT" && LOAD_TARGET_URL="http://127.0.0.1:$GATEWAY_PORT" node_modules/.bin/node load-tests/run.mjs "$SCENARIO")
}

prometheus() { curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/$1"; }

check_prometheus() {
  forward monitoring svc/prometheus-operated "$PROMETHEUS_PORT" 9090 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
  local groups targets up firing
  groups=$(prometheus rules | jq '[.data.groups[] | select(.file | contains("'"$NAMESPACE"'"))] | length')
  ((groups > 0)) || die "Prometheus has loaded no rule group of namespace $NAMESPACE (PrometheusRules not selected?)"
  targets=$(prometheus targets | jq '[.data.activeTargets[] | select(.labels.namespace == "'"$NAMESPACE"'")]')
  up=$(jq '[.[] | select(.health == "up")] | length' <<<"$targets")
  say "Prometheus: $groups rule groups from $NAMESPACE; $up of $(jq length <<<"$targets") $NAMESPACE targets up"
  ((up > 0)) || die "Prometheus scrapes no pod of $NAMESPACE"
  firing=$(prometheus alerts | jq '[.data.alerts[] | select(.state == "firing")]')
  if (($(jq length <<<"$firing") > 0)); then
    jq -r '.[] | "  \(.labels.alertname) \(.labels | del(.alertname) | tostring): \(.annotations.summary // "")"' <<<"$firing" >&2
    die "$(jq length <<<"$firing") alerts firing"
  fi
  say "no alert firing ($(prometheus alerts | jq '[.data.alerts[] | select(.state == "pending")] | length') pending)"
}

check_hpa() {
  kubectl get hpa --namespace "$NAMESPACE"
  local hpa min current
  hpa=$(kubectl get hpa --namespace "$NAMESPACE" "$HPA" -o json) || die "no HorizontalPodAutoscaler $HPA in $NAMESPACE"
  min=$(jq '.spec.minReplicas // 1' <<<"$hpa")
  current=$(jq '.status.currentReplicas // 0' <<<"$hpa")
  ((current > min)) || die "$HPA did not scale: $current replicas, minimum $min"
  say "$HPA scaled to $current replicas (minimum $min)"
}

load_test
check_prometheus
check_hpa

#!/usr/bin/env bash
# Brings Keelson up on a kind cluster, as the kind workflow does (.github/workflows/kind.yml):
#   1. the kind cluster of k8s/kind-config.yaml (kept when it exists, e.g. made by helm/kind-action);
#   2. the image from the repository's Dockerfile, built as keelson:kind and loaded into the nodes;
#   3. infrastructure: kube-prometheus-stack (monitoring), metrics-server (kube-system), KEDA when the
#      kind values render a ScaledObject, and PostgreSQL, Redis and Kafka (k8s/infra/) in the
#      release namespace `keelson`, which enforces the restricted Pod Security Standard;
#   4. charts/keelson with charts/keelson/ci/kind-values.yaml, waiting until every pod is ready.
# Needs docker, kind, kubectl and helm (helm from PATH, else .tools/bin from tools/k8s/tools.sh) and
# the charts' repositories on the network. Names and versions: k8s/README.md.
#
#   KIND_CLUSTER=<name>   the cluster (default chart-testing, helm/kind-action's default)
#   KEELSON_CHART=<dir>   the chart (default charts/keelson)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${KIND_CLUSTER:-chart-testing}"
CHART="$(cd "$ROOT" && realpath -m "${KEELSON_CHART:-charts/keelson}")"
NAMESPACE=keelson
RELEASE=keelson
IMAGE=keelson:kind

KUBE_PROMETHEUS_STACK_VERSION=88.5.3
METRICS_SERVER_VERSION=3.13.1
KEDA_VERSION=2.20.2

say() { printf 'k8s-up: %s\n' "$*"; }
die() { printf 'k8s-up: %s\n' "$*" >&2; exit 1; }

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
HELM=$(command -v helm 2>/dev/null || echo "$ROOT/.tools/bin/helm")
[[ -x $HELM ]] || die "helm is needed (PATH, or bash tools/k8s/tools.sh)"
[[ -f $CHART/ci/kind-values.yaml ]] || die "no $CHART/ci/kind-values.yaml"

# Runs "$@" as step $1 and prints how long it took.
step() {
  local name=$1 started=$SECONDS
  shift
  say "$name …"
  "$@"
  say "$name done ($((SECONDS - started))s)"
}

# What a failed run needs to be understood: every pod, recent events, the logs of unready pods.
diagnose() {
  say "failed; cluster state follows"
  kubectl get pods --all-namespaces -o wide || true
  kubectl get events --all-namespaces --sort-by=.lastTimestamp | tail -40 || true
  local pod
  for pod in $(kubectl get pods -n "$NAMESPACE" -o jsonpath='{range .items[?(@.status.phase!="Succeeded")]}{.metadata.name}{" "}{end}' 2>/dev/null); do
    if ! kubectl get pod -n "$NAMESPACE" "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -q True; then
      kubectl describe pod -n "$NAMESPACE" "$pod" | tail -25 || true
      kubectl logs -n "$NAMESPACE" "$pod" --all-containers --tail=60 || true
    fi
  done
}
on_exit() {
  local status=$?
  ((status == 0)) || diagnose
  exit "$status"
}
trap on_exit EXIT

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    say "cluster $CLUSTER exists"
  else
    kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-config.yaml" --wait 120s
  fi
  kubectl config use-context "kind-$CLUSTER" >/dev/null
}

build_image() {
  docker build --tag "$IMAGE" "$ROOT"
  kind load docker-image "$IMAGE" --name "$CLUSTER"
}

install_monitoring() {
  "$HELM" upgrade --install kps kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts \
    --version "$KUBE_PROMETHEUS_STACK_VERSION" --namespace monitoring --create-namespace \
    --values "$ROOT/k8s/values/kube-prometheus-stack.yaml" --wait --timeout 10m
  "$HELM" upgrade --install metrics-server metrics-server --repo https://kubernetes-sigs.github.io/metrics-server/ \
    --version "$METRICS_SERVER_VERSION" --namespace kube-system \
    --values "$ROOT/k8s/values/metrics-server.yaml" --wait --timeout 5m
}

install_keda_if_used() {
  if "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --values "$CHART/ci/kind-values.yaml" \
    --api-versions keda.sh/v1alpha1 | grep -q '^kind: ScaledObject'; then
    "$HELM" upgrade --install keda keda --repo https://kedacore.github.io/charts --version "$KEDA_VERSION" \
      --namespace keda --create-namespace --wait --timeout 5m
  else
    say "the kind values render no ScaledObject: KEDA not installed"
  fi
}

install_infra() {
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
  kubectl label namespace "$NAMESPACE" --overwrite \
    pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted
  kubectl apply --namespace "$NAMESPACE" -f "$ROOT/k8s/infra/"
  local deployment
  for deployment in postgresql redis kafka; do
    kubectl rollout status --namespace "$NAMESPACE" "deployment/$deployment" --timeout 5m
  done
}

install_keelson() {
  # The migration Jobs are pre-install hooks; --wait then waits for every Deployment to be ready.
  "$HELM" upgrade --install "$RELEASE" "$CHART" --namespace "$NAMESPACE" \
    --values "$CHART/ci/kind-values.yaml" --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE#*:}" \
    --wait --timeout 10m
  kubectl get pods,hpa --namespace "$NAMESPACE"
}

started=$SECONDS
step "kind cluster $CLUSTER" create_cluster
step "image $IMAGE" build_image
step "kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION, metrics-server $METRICS_SERVER_VERSION" install_monitoring
step "KEDA $KEDA_VERSION (when used)" install_keda_if_used
step "PostgreSQL, Redis, Kafka (k8s/infra)" install_infra
step "charts/keelson (ci/kind-values.yaml)" install_keelson
say "Keelson is up on kind-$CLUSTER in $((SECONDS - started))s (namespace $NAMESPACE)"

#!/usr/bin/env bash
# Regenerates the JSON schemas that kubeconform validates the chart against (tools/k8s/check.sh),
# from the package registries only:
#   Kubernetes  k8s.io/kubernetes@$K8S_VERSION (Go module) api/openapi-spec/swagger.json, converted
#               by PyPI openapi2jsonschema $OPENAPI2JSONSCHEMA_VERSION (--kubernetes --stand-alone
#               --strict --expanded), as kubeconform's own schema registry is built
#   CRDs        prometheus-operator $PROMETHEUS_OPERATOR_VERSION example/prometheus-operator-crd/ and
#               KEDA $KEDA_VERSION config/crd/bases/ (Go modules), converted by the
#               scripts/openapi2jsonschema.py of the kubeconform module (root objects strict too)
# Only the kinds in KUBERNETES_KINDS and CRDS are kept; add one there when the chart renders a new
# kind (check.sh fails on a kind without a schema). Output, minified:
#   tools/k8s/schemas/kubernetes/<kind>-<group>-<version>.json   (kubeconform {{.ResourceKind}}{{.KindSuffix}})
#   tools/k8s/schemas/crds/<group>/<kind>_<version>.json         ({{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}})
#   tools/k8s/schemas/SOURCES.md                                 what came from where
# Needs Go and python3. Takes about a minute once the modules are in Go's module cache.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/tools/k8s/schemas"

# The Kubernetes version of the kind node image in k8s/kind-config.yaml (kind v0.32.0's default).
K8S_VERSION=v1.36.1
# The operator version of the kube-prometheus-stack chart k8s/up.sh installs.
PROMETHEUS_OPERATOR_VERSION=v0.93.1
# The version of the KEDA chart k8s/up.sh installs.
KEDA_VERSION=v2.20.2
KUBECONFORM_VERSION=v0.7.0
OPENAPI2JSONSCHEMA_VERSION=0.9.1

KUBERNETES_KINDS=(
  configmap-v1
  secret-v1
  service-v1
  serviceaccount-v1
  deployment-apps-v1
  job-batch-v1
  horizontalpodautoscaler-autoscaling-v2
  poddisruptionbudget-policy-v1
  networkpolicy-networking-v1
  ingress-networking-v1
)
# <module-relative CRD file> <group> <kind_version file names to keep…>
CRDS=(
  "prometheus-operator example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com servicemonitor_v1"
  "prometheus-operator example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml monitoring.coreos.com prometheusrule_v1"
  "keda config/crd/bases/keda.sh_scaledobjects.yaml keda.sh scaledobject_v1alpha1"
)

say() { printf 'vendor-schemas: %s\n' "$*"; }
die() { printf 'vendor-schemas: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is needed (go mod download)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (openapi2jsonschema)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The folder of module $1 at version $2 in Go's module cache, downloaded when missing.
module_dir() {
  (cd "$work" && go mod download -json "$1@$2") | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error", "no Dir")))'
}

say "downloading k8s.io/kubernetes@$K8S_VERSION, prometheus-operator@$PROMETHEUS_OPERATOR_VERSION, keda/v2@$KEDA_VERSION, kubeconform@$KUBECONFORM_VERSION (Go module proxy)"
kubernetes_dir=$(module_dir k8s.io/kubernetes "$K8S_VERSION")
declare -A crd_module_dir=(
  [prometheus-operator]=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
  [keda]=$(module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")
)
kubeconform_dir=$(module_dir github.com/yannh/kubeconform "$KUBECONFORM_VERSION")

# openapi2jsonschema 0.9.1 pins PyYAML < 6, which no longer builds on current Python; its use of
# PyYAML (safe_load) works with 6, so its dependencies are pinned here instead.
say "installing openapi2jsonschema $OPENAPI2JSONSCHEMA_VERSION (PyPI) into a temporary venv"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
  "openapi2jsonschema==$OPENAPI2JSONSCHEMA_VERSION" jsonref==0.2 click==7.1.2 colorama==0.4.6 PyYAML==6.0.2

say "converting api/openapi-spec/swagger.json of Kubernetes $K8S_VERSION"
(cd "$work" && venv/bin/openapi2jsonschema -o kubernetes --kubernetes --stand-alone --strict --expanded \
  "$kubernetes_dir/api/openapi-spec/swagger.json" >openapi2jsonschema.log 2>&1) \
  || { tail -20 "$work/openapi2jsonschema.log" >&2; die "openapi2jsonschema failed"; }

rm -rf "$OUT/kubernetes" "$OUT/crds"
mkdir -p "$OUT/kubernetes"
# Minified: the same schema, a third of the size.
minify() { "$work/venv/bin/python" -c 'import json, sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), separators=(",", ":"), sort_keys=True)' "$1" "$2"; }
for kind in "${KUBERNETES_KINDS[@]}"; do
  [[ -f $work/kubernetes/$kind.json ]] || die "no schema $kind.json in Kubernetes $K8S_VERSION"
  minify "$work/kubernetes/$kind.json" "$OUT/kubernetes/$kind.json"
done

for line in "${CRDS[@]}"; do
  read -r module file group keep <<<"$line"
  mkdir -p "$work/crds/$group" "$OUT/crds/$group"
  (cd "$work/crds/$group" && DENY_ROOT_ADDITIONAL_PROPERTIES=1 "$work/venv/bin/python" \
    "$kubeconform_dir/scripts/openapi2jsonschema.py" "${crd_module_dir[$module]}/$file" >/dev/null)
  [[ -f $work/crds/$group/$keep.json ]] || die "no schema $keep.json from $file"
  minify "$work/crds/$group/$keep.json" "$OUT/crds/$group/$keep.json"
done

{
  echo "# Schemas for kubeconform"
  echo
  echo "Generated by \`tools/k8s/vendor-schemas.sh\`; do not edit. Used by \`tools/k8s/check.sh\` (no network)."
  echo
  echo "| schemas | source (Go module) | converted by |"
  echo "| --- | --- | --- |"
  echo "| kubernetes/ | k8s.io/kubernetes@$K8S_VERSION api/openapi-spec/swagger.json | PyPI openapi2jsonschema $OPENAPI2JSONSCHEMA_VERSION --kubernetes --stand-alone --strict --expanded |"
  echo "| crds/monitoring.coreos.com/ | github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION example/prometheus-operator-crd/ | github.com/yannh/kubeconform@$KUBECONFORM_VERSION scripts/openapi2jsonschema.py, DENY_ROOT_ADDITIONAL_PROPERTIES=1 |"
  echo "| crds/keda.sh/ | github.com/kedacore/keda/v2@$KEDA_VERSION config/crd/bases/ | the same |"
  echo
  echo "Files (sha256):"
  echo
  echo '```'
  (cd "$OUT" && find kubernetes crds -name '*.json' | sort | xargs sha256sum)
  echo '```'
} >"$OUT/SOURCES.md"

say "wrote $(find "$OUT" -name '*.json' | wc -l) schemas ($(du -sh "$OUT" | cut -f1)) to ${OUT#"$ROOT"/}"

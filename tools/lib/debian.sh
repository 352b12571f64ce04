# Debian packages for the project's scripts (sourced; the caller defines `say` and `die`).
# Everything runs as root here: apt-get works as it is, after one `apt-get update`.

apt_updated=0
apt_install() {
  if (( apt_updated == 0 )); then
    say "installing $* (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Prometheus and promtool from Debian's `prometheus` package. Where systemd runs (CI runners)
# the package also starts a system-wide prometheus.service on :9090, the port the stack's own
# Prometheus wants: stop the one the install just started.
install_prometheus() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && return
  apt_install prometheus
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  command -v promtool >/dev/null 2>&1 || die "promtool not found after installing the prometheus package"
}

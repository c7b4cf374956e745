#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, only when missing:
# git, PostgreSQL (throwaway server), Caddy (reverse proxy), Chromium (dashboard tests).
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v caddy >/dev/null || need+=(caddy)
command -v chromium >/dev/null || need+=(chromium)
command -v runuser >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# Debian's caddy package may start a system Caddy on :80/:2019; the tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet caddy 2>/dev/null; then
  systemctl stop caddy || true
fi

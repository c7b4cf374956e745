#!/usr/bin/env bash
# Installs the Debian packages NanoScale needs, only when missing.
#   ensure_system_deps.sh run   git, Python's venv module, Caddy (`make run` serves apps
#                               through a Caddy NanoScale runs itself) and bubblewrap (the
#                               sandbox builds and apps run in)
#   ensure_system_deps.sh test  also PostgreSQL (throwaway server) and Chromium (dashboard
#                               tests), which the suite drives for real
set -euo pipefail
mode=${1:-test}
need=()
command -v git >/dev/null || need+=(git)
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
command -v caddy >/dev/null || need+=(caddy)
command -v bwrap >/dev/null || need+=(bubblewrap)
if [ "$mode" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v chromium >/dev/null || need+=(chromium)
  command -v runuser >/dev/null || need+=(util-linux)
  command -v gcc >/dev/null || need+=(gcc)  # the loader attack test compiles a library
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# Debian's caddy package may start a system Caddy on :80/:2019. `make run`'s own Caddy uses
# other ports and a socket, so it is left alone there; the tests stop it.
if [ "$mode" = test ] && command -v systemctl >/dev/null && systemctl is-active --quiet caddy 2>/dev/null; then
  $SUDO systemctl stop caddy || true
fi

#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that `make run` or `make test` need,
# only those that are missing. Usage: ensure-system-packages.sh run|test
set -euo pipefail

profile=${1:-run}
# A Python venv, and what Kivy needs for a real OpenGL window (on a screen or under Xvfb).
run_pkgs=(python3-venv xvfb xauth libgl1 libgl1-mesa-dri libegl1 libmtdev1 x11-utils)
# The tests also drive the window with real X events (and xset) and photograph it, and run the
# server suite on a throwaway PostgreSQL (binaries in /usr/lib/postgresql/15/bin, not on PATH).
test_pkgs=("${run_pkgs[@]}" x11-xserver-utils xclip xdotool imagemagick postgresql gcc-avr avr-libc simavr libsimavr-dev libsimavrparts1 libelf-dev make gcc chromium chromium-l10n shellcheck nginx avrdude)

case "$profile" in
  run) wanted=("${run_pkgs[@]}") ;;
  test) wanted=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Hài Lòng needs these system packages, and this machine has no apt-get to install them:" >&2
  echo "  ${missing[*]}" >&2
  echo "Install them with your system's package manager, then run make again." >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
  echo "Installing system packages with sudo (you may be asked for your password): ${missing[*]}"
else
  echo "Hài Lòng needs these system packages: ${missing[*]}" >&2
  echo "You are not root and sudo is not installed. Ask an administrator to run:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

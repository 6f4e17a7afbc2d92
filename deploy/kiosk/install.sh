#!/usr/bin/env bash
# Installs or upgrades a Hài Lòng kiosk on Debian 12 or Raspberry Pi OS (bookworm).
# Safe to run again: an upgrade backs up the kiosk database first, keeps the settings file,
# and the app migrates the database when it starts. See docs/operations.md.
#
#   install.sh [--root DIR] [--skip-pip] [--usb-id VID:PID] [SOURCE]
#
# SOURCE  the app to install: a source folder or a .whl file (default: this repository).
# --root DIR       write every file under DIR instead of / (for tests); apt-get, useradd,
#                  systemctl (except enabling units inside DIR) and udevadm are skipped.
# --skip-pip       create the virtualenv but do not pip-install the app into it (tests).
# --usb-id VID:PID the rating box's USB id for the udev rule (default: the one in the rule
#                  already installed, else 2341:0043, an Arduino Uno).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=deploy/lib/install-common.sh
. "$REPO/deploy/lib/install-common.sh"

DATA_DIR=/var/lib/hailong/kiosk
CONFIG=/etc/hailong/kiosk.toml
UNIT=hailong-kiosk.service
USB_ID=""
RULE=/etc/udev/rules.d/99-hailong-box.rules
SOURCE=$REPO

usage() { sed -n '5,14s/^# \{0,1\}//p' "$0"; }

ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$(realpath -m "${2:?--root needs a folder}"); shift 2 ;;
    --skip-pip) SKIP_PIP=1; shift ;;
    --usb-id) USB_ID=${2:?--usb-id needs VID:PID}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) SOURCE=$(realpath -m "$1"); shift ;;
  esac
done
if [ -z "$USB_ID" ] && [ -e "$ROOT$RULE" ]; then
  USB_ID=$(sed -n 's/.*ATTRS{idVendor}=="\([0-9a-f]*\)", ATTRS{idProduct}=="\([0-9a-f]*\)".*/\1:\2/p' \
    "$ROOT$RULE" | head -n 1)
fi
USB_ID=${USB_ID:-2341:0043}
[[ "$USB_ID" =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$ ]] || die "--usb-id must look like 2341:0043"
check_source "$SOURCE"
need_root "${ARGS[@]}"
[ -n "$ROOT" ] && say "Installing into $ROOT (test mode): commands that change the host are skipped."

# Kivy needs GL and mtdev; cage is the kiosk compositor (X11 apps through Xwayland);
# sqlite3 makes the backup before an upgrade; no real-time clock on a Pi: fake-hwclock.
# x11-xserver-utils: xset, with which the app switches the screen on and off under X;
# xclip: the clipboard Kivy text fields (technician screen) expect.
apt_install python3 python3-venv sqlite3 cage xwayland libgl1 libgl1-mesa-dri libegl1 \
  libmtdev1 fake-hwclock systemd-timesyncd x11-xserver-utils xclip

# brltty claims common USB-serial chips (CH340, CP210x) as braille displays; a kiosk has none.
if [ -z "$ROOT" ] && dpkg-query -W -f='${Status}' brltty 2>/dev/null | grep -q "ok installed"; then
  say "Removing brltty: it takes USB-serial adapters such as the rating box's."
  apt-get purge -y -qq brltty
fi

say "Service user $SERVICE_USER (serial port, screen and input devices):"
ensure_user dialout video input render

say "Data folder (kept across upgrades):"
install -d -m 0755 "$ROOT/var/lib/hailong"
state_dir "$DATA_DIR"
state_dir "$DATA_DIR/backups"
say "  $DATA_DIR"

# Upgrade: stop the kiosk (the box keeps unacknowledged presses and resends them), then an
# online backup that must pass its integrity check before anything is replaced.
if [ -e "$ROOT$DATA_DIR/kiosk.db" ]; then
  stop_if_running "$UNIT"
  backup="$ROOT$DATA_DIR/backups/kiosk-$(date -u +%Y%m%dT%H%M%SZ).db"
  sqlite_backup "$ROOT$DATA_DIR/kiosk.db" "$backup"
  keep_newest "$ROOT$DATA_DIR/backups" 'kiosk-*.db' 5
  say "Backed up the kiosk database before the upgrade: ${backup#"$ROOT"}"
fi

say "The app in $APP_DIR/venv from $SOURCE:"
install_app "$SOURCE"

say "Settings:"
config_once "$REPO/config/examples/kiosk.toml" "$CONFIG" \
  -e "s|^data_dir = .*|data_dir = \"$DATA_DIR\"|"

say "System files:"
put "$HERE/$UNIT" "/etc/systemd/system/$UNIT" 0644
put "$HERE/pam-hailong-kiosk" /etc/pam.d/hailong-kiosk 0644
put "$HERE/journald-hailong.conf" /etc/systemd/journald.conf.d/hailong.conf 0644
# The screen stays on unless the app switches it off: no console blanking, and under X
# no screensaver or DPMS timeouts.
put "$HERE/tmpfiles-hailong-screen.conf" /etc/tmpfiles.d/hailong-screen.conf 0644
put "$HERE/xorg-hailong-screen.conf" /etc/X11/xorg.conf.d/10-hailong-screen.conf 0644
vid=${USB_ID%%:*}
pid=${USB_ID##*:}
install -d -m 0755 "$ROOT/etc/udev/rules.d"
sed -e "s/ATTRS{idVendor}==\"[0-9a-fA-F]*\"/ATTRS{idVendor}==\"${vid,,}\"/" \
  -e "s/ATTRS{idProduct}==\"[0-9a-fA-F]*\"/ATTRS{idProduct}==\"${pid,,}\"/" \
  "$HERE/99-hailong-box.rules" >"$ROOT$RULE"
say "  $RULE (box $USB_ID)"

if [ -z "$ROOT" ] && [ -e /etc/systemd/system/display-manager.service ]; then
  say "warning: a desktop display manager is enabled; it competes with the kiosk for the"
  say "  screen. Disable it: systemctl disable display-manager.service"
fi

say "Services:"
host udevadm control --reload
host udevadm trigger --subsystem-match=tty --action=change
host systemctl restart systemd-journald
host systemd-tmpfiles --create /etc/tmpfiles.d/hailong-screen.conf
host systemctl enable --now systemd-timesyncd.service fake-hwclock.service
enable_units "$UNIT"
host systemctl restart "$UNIT"
say "Done. Next: enroll this kiosk (docs/operations.md):"
say "  runuser -u $SERVICE_USER -- $APP_DIR/venv/bin/hailong kiosk --config $CONFIG enroll CODE"

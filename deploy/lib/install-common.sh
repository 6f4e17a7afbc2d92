# Shared by deploy/kiosk/install.sh and deploy/server/install.sh (sourced, not run).
# Everything the scripts write goes under $ROOT ("" on a real install); what cannot run
# inside a throwaway root (apt, useradd, systemctl, udevadm) is printed and skipped there.
# shellcheck shell=bash

ROOT=""
SKIP_PIP=0
APP_DIR=/opt/hailong
SERVICE_USER=hailong

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command on a real install; in a test root say that it was skipped.
host() {
  if [ -n "$ROOT" ]; then
    say "  skipped in --root mode: $*"
  else
    "$@"
  fi
}

check_source() {
  [ -e "$1" ] || die "no app to install at $1 (give a source folder or a .whl file)"
}

# Become root on a real install: re-run through sudo, or say what to do.
need_root() {
  [ -n "$ROOT" ] && return 0
  [ "$(id -u)" -eq 0 ] && return 0
  if command -v sudo >/dev/null 2>&1; then
    say "Not root: running again with sudo (you may be asked for your password)."
    exec sudo -- bash "$0" "$@"
  fi
  die "run this script as root (sudo is not installed), or with --root DIR to install into a folder"
}

apt_install() {
  say "System packages: $*"
  if [ -n "$ROOT" ]; then
    say "  skipped in --root mode: apt-get install $*"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@"
}

# The system user both the kiosk and the server run as; extra groups as arguments.
ensure_user() {
  local groups
  groups=$(IFS=,; echo "$*")
  if [ -n "$ROOT" ]; then
    say "  skipped in --root mode: useradd $SERVICE_USER (groups: ${groups:-none})"
    return 0
  fi
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/hailong --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  local group
  for group in "$@"; do
    getent group "$group" >/dev/null && usermod -a -G "$group" "$SERVICE_USER"
  done
}

# A folder owned by the service user (ownership only on a real install).
state_dir() {
  install -d -m 0750 "$ROOT$1"
  host chown "$SERVICE_USER:$SERVICE_USER" "$ROOT$1"
}

# A file from the repository into place (mode), replacing an older version.
put() {
  install -D -m "$3" "$1" "$ROOT$2"
  say "  $2"
}

# The app into its own virtualenv: from a source folder or a wheel. pip honours
# PIP_INDEX_URL / PIP_FIND_LINKS / PIP_NO_INDEX for an offline wheelhouse.
install_app() {
  local source=$1 venv="$ROOT$APP_DIR/venv"
  local version
  version=$(python3 -c 'import sys; print(sys.version_info >= (3, 11))')
  [ "$version" = "True" ] || die "Python 3.11 or newer is needed (python3 is $(python3 -V))"
  if [ ! -x "$venv/bin/python" ]; then
    if [ "$SKIP_PIP" -eq 1 ]; then
      python3 -m venv --without-pip "$venv"
    else
      python3 -m venv "$venv"
    fi
  fi
  if [ "$SKIP_PIP" -eq 1 ]; then
    say "  --skip-pip: the virtualenv $APP_DIR/venv exists; the app was not installed into it"
    return 0
  fi
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q --upgrade "$source"
  say "  $APP_DIR/venv: $("$venv/bin/python" -m pip show hailong | sed -n 's/^Version: /hailong /p')"
}

# A settings file from the example, only when there is none (a technician's edits stay).
config_once() {
  local example=$1 dest=$2
  shift 2
  if [ -e "$ROOT$dest" ]; then
    say "  $dest exists: kept as it is"
    return 0
  fi
  install -d -m 0755 "$(dirname "$ROOT$dest")"
  sed "$@" "$example" >"$ROOT$dest"
  chmod 0640 "$ROOT$dest"
  host chgrp "$SERVICE_USER" "$ROOT$dest"
  say "  $dest written from $(basename "$example")"
}

# SQLite's online backup of a database, checked before anything else happens. On a real
# install it runs as the service user: a reader of a WAL database may create its -shm
# file, which must not end up owned by root.
sqlite_backup() {
  local db=$1 dest=$2 as=()
  [ -z "$ROOT" ] && as=(runuser -u "$SERVICE_USER" --)
  "${as[@]}" sqlite3 "$db" ".backup '$dest'"
  [ "$("${as[@]}" sqlite3 "$dest" 'PRAGMA integrity_check;')" = "ok" ] ||
    die "the backup $dest of $db failed its integrity check; nothing was changed"
}

# Keep the newest N files matching a glob in a folder.
keep_newest() {
  local dir=$1 pattern=$2 keep=$3
  find "$dir" -maxdepth 1 -name "$pattern" -type f -printf '%T@ %p\n' |
    sort -rn | tail -n +"$((keep + 1))" | cut -d' ' -f2- | xargs -r rm -f --
}

# Stop a service before an upgrade, if it runs.
stop_if_running() {
  if [ -n "$ROOT" ]; then
    say "  skipped in --root mode: systemctl stop $1"
  elif systemctl is-active --quiet "$1"; then
    systemctl stop "$1"
  fi
}

# Enable units: real install through systemctl; a test root through systemctl --root,
# which only makes the [Install] symlinks.
enable_units() {
  if [ -n "$ROOT" ]; then
    systemctl --root="$ROOT" enable "$@"
  else
    systemctl daemon-reload
    systemctl enable "$@"
  fi
}

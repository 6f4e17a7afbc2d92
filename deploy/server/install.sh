#!/usr/bin/env bash
# Installs or upgrades the Hài Lòng central server on Debian 12. Safe to run again: the
# settings file is kept, the database is backed up before an upgrade, and the server
# migrates it when it starts. See docs/operations.md.
#
#   install.sh [--root DIR] [--skip-pip] [--postgresql] [SOURCE]
#
# SOURCE        the app to install: a source folder or a .whl file (default: this repository).
# --root DIR    write every file under DIR instead of / (for tests); apt-get, useradd,
#               systemctl (except enabling units inside DIR), the backup before an upgrade
#               and the PostgreSQL set-up are skipped.
# --skip-pip    create the virtualenv but do not pip-install the app into it (tests).
# --postgresql  install PostgreSQL on this machine, create the role and database hailong
#               (peer authentication over the local socket, no password) and point a new
#               settings file at it. Without it the server uses SQLite in its data folder.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=deploy/lib/install-common.sh
. "$REPO/deploy/lib/install-common.sh"

CONFIG=/etc/hailong/server.toml
DATA_DIR=/var/lib/hailong/server
BACKUPS=/var/backups/hailong
UNIT=hailong-server.service
POSTGRESQL=0
SOURCE=$REPO
PG_URL="postgresql+psycopg://hailong@/hailong?host=/var/run/postgresql"

usage() { sed -n '6,15s/^# \{0,1\}//p' "$0"; }

ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$(realpath -m "${2:?--root needs a folder}"); shift 2 ;;
    --skip-pip) SKIP_PIP=1; shift ;;
    --postgresql) POSTGRESQL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) SOURCE=$(realpath -m "$1"); shift ;;
  esac
done
check_source "$SOURCE"
need_root "${ARGS[@]}"
[ -n "$ROOT" ] && say "Installing into $ROOT (test mode): commands that change the host are skipped."

packages=(python3 python3-venv sqlite3 nginx postgresql-client)
[ "$POSTGRESQL" -eq 1 ] && packages+=(postgresql)
apt_install "${packages[@]}"

say "Service user $SERVICE_USER:"
# shellcheck disable=SC2119 # the server user needs no extra groups
ensure_user

say "Data and backup folders:"
install -d -m 0755 "$ROOT/var/lib/hailong"
state_dir "$DATA_DIR"
state_dir "$BACKUPS"
say "  $DATA_DIR, $BACKUPS"

if [ "$POSTGRESQL" -eq 1 ]; then
  say "PostgreSQL role and database hailong:"
  if [ -n "$ROOT" ]; then
    say "  skipped in --root mode: createuser/createdb hailong"
  else
    runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'hailong'" |
      grep -q 1 || runuser -u postgres -- createuser hailong
    runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'hailong'" |
      grep -q 1 || runuser -u postgres -- createdb --owner=hailong hailong
  fi
fi

say "Settings:"
# One API worker process per core, at most 6: each may hold 15 database connections and
# PostgreSQL allows 100 by default (docs/operations.md, Scale-out).
WORKERS=$(nproc)
[ "$WORKERS" -gt 6 ] && WORKERS=6
if [ "$POSTGRESQL" -eq 1 ]; then
  config_once "$REPO/config/examples/server.toml" "$CONFIG" \
    -e "s|^database_url = .*|database_url = \"$PG_URL\"|" -e "s|^workers = .*|workers = $WORKERS|"
else
  config_once "$REPO/config/examples/server.toml" "$CONFIG" \
    -e "s|^data_dir = .*|data_dir = \"$DATA_DIR\"|" -e "s|^workers = .*|workers = $WORKERS|"
fi

# Upgrade: stop the server and back up its database (as the service user, whom PostgreSQL
# knows) before the new version replaces the app; no backup, no upgrade.
if [ -z "$ROOT" ] && [ -x "$APP_DIR/bin/hailong-backup" ] && [ -e "$CONFIG" ]; then
  stop_if_running "$UNIT"
  saved=$(runuser -u "$SERVICE_USER" -- "$APP_DIR/bin/hailong-backup" --config "$CONFIG" \
    --dest "$BACKUPS") || die "the backup before the upgrade failed; the app was not changed"
  say "Backed up the database before the upgrade: $saved"
fi

say "The app in $APP_DIR/venv from $SOURCE:"
install_app "$SOURCE"

say "System files:"
put "$HERE/backup.sh" "$APP_DIR/bin/hailong-backup" 0755
put "$HERE/$UNIT" "/etc/systemd/system/$UNIT" 0644
put "$HERE/hailong-backup.service" /etc/systemd/system/hailong-backup.service 0644
put "$HERE/hailong-backup.timer" /etc/systemd/system/hailong-backup.timer 0644
put "$HERE/nginx-hailong.conf" /etc/nginx/sites-available/hailong 0644

say "Services:"
enable_units "$UNIT" hailong-backup.timer
host systemctl restart "$UNIT"
host systemctl start hailong-backup.timer
say "Done. The server listens on 127.0.0.1:8080. To publish it over HTTPS, edit"
say "  /etc/nginx/sites-available/hailong (server name, certificate paths), then:"
say "  ln -s ../sites-available/hailong /etc/nginx/sites-enabled/ && nginx -t && systemctl reload nginx"

#!/usr/bin/env bash
# Backs up and restores the Hài Lòng server database named by the server settings file.
# Installed as /opt/hailong/bin/hailong-backup; hailong-backup.timer runs a backup nightly.
#
#   hailong-backup [--config FILE] [--dest DIR] [--keep N] [--python PATH]
#       SQLite: SQLite's online backup (consistent while the server writes), checked
#       with PRAGMA integrity_check. PostgreSQL: pg_dump in its custom format.
#       Keeps the newest N backups (default 14) in DIR (default /var/backups/hailong).
#   hailong-backup restore [--config FILE] [--python PATH] BACKUP
#       Stop the server first. SQLite: the backup replaces the database (the old one is
#       kept beside it). PostgreSQL: pg_restore into the database, which must be empty.
set -euo pipefail

CONFIG=/etc/hailong/server.toml
DEST=/var/backups/hailong
KEEP=14
PYTHON=/opt/hailong/venv/bin/python
ACTION=backup
BACKUP=""

die() { printf 'hailong-backup: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = restore ]; then
  ACTION=restore
  shift
fi
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG=${2:?}; shift 2 ;;
    --dest) DEST=${2:?}; shift 2 ;;
    --keep) KEEP=${2:?}; shift 2 ;;
    --python) PYTHON=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ "$ACTION" = restore ] || die "unexpected argument $1 (see --help)"; BACKUP=$1; shift ;;
  esac
done
[[ "$KEEP" =~ ^[1-9][0-9]*$ ]] || die "--keep must be a whole number of 1 or more"
[ -r "$CONFIG" ] || die "cannot read the settings file $CONFIG"

# The database URL the server uses, read by the server's own settings loader.
url=$("$PYTHON" -c '
import sys
from pathlib import Path
from hailong.config.loader import ConfigError, load_server
try:
    print(load_server(Path(sys.argv[1])).server.effective_database_url)
except ConfigError as error:
    sys.exit("\n".join(error.problems))
' "$CONFIG")
case "$url" in
  sqlite:///*) kind=sqlite; db=${url#sqlite:///}; db=${db%%\?*} ;;
  # libpq wants postgresql://; SQLAlchemy's URL also names the driver (postgresql+psycopg://).
  postgresql*) kind=pgdump; pg_url="postgresql://${url#*://}" ;;
  *) die "unsupported database URL scheme: ${url%%:*}" ;;
esac

sqlite_ok() { [ "$(sqlite3 "$1" 'PRAGMA integrity_check;')" = "ok" ]; }

backup() {
  mkdir -p "$DEST"
  local out
  out="$DEST/hailong-$(date -u +%Y%m%dT%H%M%SZ).$kind"
  if [ "$kind" = sqlite ]; then
    [ -e "$db" ] || die "no SQLite database at $db"
    sqlite3 "$db" ".backup '$out.part'"
    sqlite_ok "$out.part" || die "the backup of $db failed its integrity check"
  else
    pg_dump --format=custom --no-owner --file="$out.part" "$pg_url"
  fi
  mv "$out.part" "$out"
  find "$DEST" -maxdepth 1 -name "hailong-*.$kind" -type f -printf '%T@ %p\n' |
    sort -rn | tail -n +"$((KEEP + 1))" | cut -d' ' -f2- | xargs -r rm -f --
  printf '%s\n' "$out"
}

restore() {
  [ -n "$BACKUP" ] || die "name the backup file to restore (see --help)"
  [ -r "$BACKUP" ] || die "cannot read the backup $BACKUP"
  [[ "$BACKUP" == *."$kind" ]] || die "$BACKUP is not a .$kind backup, which this database needs"
  if [ "$kind" = sqlite ]; then
    sqlite_ok "$BACKUP" || die "$BACKUP fails its integrity check; nothing was changed"
    if [ -e "$db" ]; then
      local kept
      kept="$db.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
      sqlite3 "$db" ".backup '$kept'"
      printf 'The database before the restore is kept as %s\n' "$kept"
    fi
    mkdir -p "$(dirname "$db")"
    sqlite3 "$db" ".restore '$BACKUP'"
  else
    pg_restore --no-owner --exit-on-error --single-transaction --dbname="$pg_url" "$BACKUP"
  fi
  printf 'Restored %s\n' "$BACKUP"
}

"$ACTION"

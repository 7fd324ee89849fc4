#!/usr/bin/env bash
# Restore a dump made by scripts/backup.sh into an EMPTY database, in one transaction:
# either everything is restored or nothing is.
#   createdb portal_restored && scripts/restore.sh backups/portal.dump postgres://user@host:5432/portal_restored
set -euo pipefail
file=${1:?usage: restore.sh FILE TARGET_DATABASE_URL}
target_url=${2:?usage: restore.sh FILE TARGET_DATABASE_URL}
pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname="$target_url" "$file"
echo "restored $file into $target_url"

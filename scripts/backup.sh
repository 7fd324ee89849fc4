#!/usr/bin/env bash
# Back up the portal database to a custom-format dump (restorable with scripts/restore.sh).
#   scripts/backup.sh postgres://user@host:5432/portal backups/portal-$(date +%F).dump
set -euo pipefail
source_url=${1:?usage: backup.sh DATABASE_URL FILE}
file=${2:?usage: backup.sh DATABASE_URL FILE}
mkdir -p "$(dirname "$file")"
pg_dump --format=custom --no-owner --no-privileges --file="$file" "$source_url"
pg_restore --list "$file" >/dev/null   # the dump is readable
echo "backup written: $file ($(du -h "$file" | cut -f1))"

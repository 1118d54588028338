#!/bin/sh
# MediaNest container start. No arguments: apply migrations, then serve with gunicorn.
# With arguments: run them (docker compose run --rm app python manage.py shell).
# Set MIGRATE=0 to skip migrations (for example when several hosts start at once and one
# deploy step migrates first).
set -eu
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

if [ "${MIGRATE:-1}" != "0" ]; then
    python manage.py migrate --noinput
fi

# Threads per worker: requests mostly wait on Plex or Redis. MediaNest lets at most half of
# them wait on Plex at once (PLEX_CONCURRENCY), so the others always serve cached pages.
export WEB_THREADS="${WEB_THREADS:-8}"

# exec: gunicorn becomes PID 1 and receives docker stop's SIGTERM (graceful shutdown).
exec gunicorn medianest.wsgi:application \
    --bind 0.0.0.0:8000 \
    --workers "${WEB_CONCURRENCY:-2}" \
    --worker-class gthread \
    --threads "$WEB_THREADS" \
    --worker-tmp-dir /dev/shm \
    --access-logfile -

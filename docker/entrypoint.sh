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

# exec: gunicorn becomes PID 1 and receives docker stop's SIGTERM (graceful shutdown).
exec gunicorn medianest.wsgi:application \
    --bind 0.0.0.0:8000 \
    --workers "${WEB_CONCURRENCY:-2}" \
    --worker-tmp-dir /dev/shm \
    --access-logfile -

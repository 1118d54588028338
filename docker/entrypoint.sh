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

# exec: gunicorn becomes PID 1 and receives docker stop's SIGTERM (graceful shutdown). Workers,
# threads, timeouts and preloading: gunicorn.conf.py (WEB_CONCURRENCY, WEB_THREADS and the rest
# from the environment), each value with the reason for it.
exec gunicorn --config gunicorn.conf.py medianest.wsgi:application

# syntax=docker/dockerfile:1
# MediaNest: gunicorn serving medianest.wsgi on port 8000 (gunicorn.conf.py), static files by
# whitenoise.
# Build: docker build -t medianest .   Run: see compose.yaml and README.md.

# --- builder: the runtime requirements in a virtualenv, copied whole into the final stage ---
FROM python:3.11.14-slim-bookworm AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"

COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

# --- final ---
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=medianest.settings \
    DEBUG=0

# The app runs as this user; it owns its home (gunicorn's control socket) and nothing in /app.
RUN groupadd --system --gid 10001 medianest \
    && useradd --system --uid 10001 --gid medianest --create-home --home-dir /home/medianest \
       --shell /usr/sbin/nologin medianest

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY . .

# Hashed, compressed static files for whitenoise. The key exists for this command only: settings
# refuse to load without one when DEBUG is off. The real SECRET_KEY is given at run time.
# The app's own modules compiled now: PYTHONDONTWRITEBYTECODE keeps Python from writing them at
# run time, so without this every start of a container compiled them all again (cold start).
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --noinput \
    && python -m compileall -q /app \
    && chmod 0755 docker/entrypoint.sh

USER 10001:10001

EXPOSE 8000

# Liveness: /healthz/live answers as soon as gunicorn does (it starts after the migrations),
# asking nothing of the database or the cache; /healthz is the readiness check for a load
# balancer. Loopback host names are always allowed, so neither needs MEDIANEST_URL.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz/live', timeout=4)"]

# No arguments: migrate, then gunicorn. With arguments (docker compose run app python manage.py
# shell): run them instead.
ENTRYPOINT ["/app/docker/entrypoint.sh"]

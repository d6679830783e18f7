# One image for every service: web (uvicorn), worker (`credit workers run`) and migrate
# (`credit database upgrade`). Built with uv from uv.lock; the runtime stage has no uv, no
# compiler and no dev dependencies, and runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- builder: resolve nothing, install exactly what uv.lock pins ------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes. (Plain
# COPY, no BuildKit-only mounts, so docker-compose 1.29's classic builder can build it too.)
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# Then the project itself. It stays an editable install on purpose: the app finds its
# Alembic scripts next to the source (/app/migrations), as in a checkout.
COPY README.md alembic.ini ./
COPY migrations ./migrations
COPY src ./src
RUN uv sync --locked --no-dev

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 credit \
    && useradd --system --uid 10001 --gid credit --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin credit
WORKDIR /app
# Code and virtualenv belong to root and are read-only for the service user; only var/
# (uploaded workbooks waiting for a worker) is writable.
COPY --from=builder /app /app
RUN mkdir -p /app/var/uploads && chown -R credit:credit /app/var
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UPLOAD_DIR=/app/var/uploads
USER credit:credit
EXPOSE 8000
# The web command; compose overrides it for the worker and the migrate step.
CMD ["uvicorn", "--factory", "credit.app:create_app", "--host", "0.0.0.0", "--port", "8000", \
     "--no-access-log", "--timeout-graceful-shutdown", "20"]

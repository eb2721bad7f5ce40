# syntax=docker/dockerfile:1
# The production image: one image for every process of the scale-out topology
# (`dracarys serve`, `worker`, `scheduler`, `paper-engine`, `migrate`), chosen by the
# command; compose.yaml runs them. Dependencies come from the committed uv.lock, without
# the dev group. Build: docker build -t dracarys .

ARG PYTHON_VERSION=3.11

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# The locked dependencies first, in a layer of their own: code changes do not reinstall them.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
COPY engine ./engine
COPY streams ./streams
COPY workers ./workers
# The project itself, installed in place as in development: the code finds the committed
# market data (data/) beside it, for the paper engine's replay feed and for backtests.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev
COPY data/sample_daily.csv data/sample_1m.csv ./data/
# The image ships with the engine's kernels compiled: a container's first backtest loads
# them instead of compiling for about 12 s. They are written where the runtime stage's
# NUMBA_CACHE_DIR points, for the same /app/engine sources (Numba checks their paths and
# modification times, which COPY --from keeps). On a CPU other than the builder's, Numba
# misses and the services' background warm-up compiles them again.
RUN NUMBA_CACHE_DIR=/var/cache/dracarys/numba /app/.venv/bin/dracarys warm-engine

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 dracarys \
    && useradd --system --uid 10001 --gid dracarys --no-create-home \
        --home-dir /var/lib/dracarys --shell /usr/sbin/nologin dracarys \
    && install -d -o dracarys -g dracarys /var/lib/dracarys /var/cache/dracarys/numba
# Owned by root: the running process cannot change its own code.
COPY --from=build /app /app
COPY --from=build --chown=dracarys:dracarys /var/cache/dracarys/numba /var/cache/dracarys/numba
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DRACARYS_ENV=production \
    DRACARYS_HOST=0.0.0.0 \
    DRACARYS_PORT=8000 \
    DRACARYS_DATA_DIR=/var/lib/dracarys \
    NUMBA_CACHE_DIR=/var/cache/dracarys/numba
# Numba keeps compiled kernels beside the code unless told otherwise; the code is read-only
# here, so they go to NUMBA_CACHE_DIR. DRACARYS_DATA_DIR holds uploaded KYC documents and
# course assets: mount one volume there, shared by every API and worker container.
VOLUME ["/var/lib/dracarys"]
USER dracarys
WORKDIR /app
EXPOSE 8000
# Liveness of the API process; compose.yaml probes /ready (PostgreSQL and Redis answer)
# for the API and turns this off for the processes that serve no HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c 'import os, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/health" % os.environ.get("DRACARYS_PORT", "8000"), timeout=4)'
# SIGTERM (Docker's stop signal) drains and exits 0 within DRACARYS_SHUTDOWN_GRACE_S.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dracarys"]
CMD ["serve", "--workers", "1"]

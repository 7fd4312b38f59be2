# The server-bot image (public VPS). The client-bot runs on the GPU host outside Docker (docs/deploy.md),
# so the llm extra (llama-cpp-python and a C++ toolchain) is deliberately not installed here.

# --- build: one wheel for the project and its dependencies --------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY server_bot ./server_bot
COPY client_bot ./client_bot
COPY devcord ./devcord
COPY migrations ./migrations
COPY meatlizard ./meatlizard
RUN pip wheel --wheel-dir /wheels .

# --- run: no compiler, no source tree, no root -----------------------------------------------------
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 meatlizard \
    && useradd --system --uid 10001 --gid meatlizard --home-dir /app --shell /usr/sbin/nologin meatlizard
COPY --from=build /wheels /wheels
# pg_dump for `/ai-admin backup database` (docs/admin.md); the client matches the PostgreSQL 15 server.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-index --find-links /wheels meatlizard && rm -rf /wheels
WORKDIR /app
# Migrations ship inside the wheel and run at every start-up (server_bot.main), before the bot connects.
# var/ holds the audit log (and local objects when S3 is not configured); a volume in compose.
RUN mkdir -p /app/var && chown -R meatlizard:meatlizard /app/var
USER meatlizard:meatlizard
EXPOSE 8081
# /health answers 503 when a required component is down; urlopen raises on it, so the check fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('SERVER_BOT_HEALTH_PORT', '8081')}/health\", timeout=4)"]
CMD ["python", "-m", "server_bot"]

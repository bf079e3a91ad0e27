# syntax=docker/dockerfile:1
# readiness-exporter container image (docs/deploy.md).
#   docker build -t readiness-exporter .
#   docker run -p 10145:10145 -v readiness-data:/etc/readiness-exporter/data
#     -v "$PWD/attestations:/etc/readiness-exporter/attestations:ro"
#     -v /srv/app:/mnt/app:ro -e APP_REPO=/mnt/app readiness-exporter
# The config is /etc/readiness-exporter/config.yaml (the working directory's config.yaml, the
# exporter's default); its relative attestation paths resolve against that folder, so the
# attestations directory is mounted at /etc/readiness-exporter/attestations. The store (history,
# last PASS, people's records) is data/ beside the config, the default --storage.path: a volume
# there keeps it across containers, and `docker exec CONTAINER readiness-exporter sign ...`
# finds it with no flag.

# The base is pinned by version; pin it by digest too (python:3.11.14-slim-bookworm@sha256:...)
# where builds must be reproducible bit for bit.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Dependencies first, from the pinned list, so a source change does not reinstall them.
COPY deploy/requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/readiness-exporter \
 && /opt/readiness-exporter/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter/ exporter/
COPY probes/ probes/
# --no-deps: everything it needs is already installed from the pinned list above.
RUN /opt/readiness-exporter/bin/pip install --no-cache-dir --no-deps . \
 && /opt/readiness-exporter/bin/python -m compileall -q /opt/readiness-exporter \
 && /opt/readiness-exporter/bin/pip uninstall -y pip setuptools

FROM ${PYTHON_IMAGE}
# git: DR-004 dates evidence files by the last commit that touched them (a checkout makes every
# file look new) and S-002 scans the repository's tracked files (git ls-files); without git both
# are probe errors. Debian's package, not pinned: bookworm's security updates replace the
# version, and a pin would break the build the day one lands.
# The application repository is mounted at APP_REPO_MOUNT (docs/deploy.md), owned by whoever
# owns it on the host, not by the exporter's user: git refuses such a repository ("dubious
# ownership") unless it is a safe.directory. The system config names that one path, not '*'.
ARG APP_REPO_MOUNT=/mnt/app
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory "${APP_REPO_MOUNT}"
# A fixed numeric UID/GID so Kubernetes' runAsNonRoot can verify it and volume owners match.
RUN groupadd --system --gid 10145 readiness \
 && useradd --system --uid 10145 --gid readiness --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin readiness \
 && install -d -o 10145 -g 10145 -m 0700 /etc/readiness-exporter/data
COPY --from=build /opt/readiness-exporter /opt/readiness-exporter
COPY config.yaml /etc/readiness-exporter/config.yaml
# --version and readiness_exporter_build_info name the commit; the image holds no .git to ask:
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" \
#                --build-arg BRANCH="$(git rev-parse --abbrev-ref HEAD)" -t readiness-exporter .
ARG REVISION=unknown
ARG BRANCH=unknown
ENV PATH=/opt/readiness-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    READINESS_EXPORTER_REVISION=${REVISION} \
    READINESS_EXPORTER_BRANCH=${BRANCH}
WORKDIR /etc/readiness-exporter
# The store: owned by the exporter's user, so a named volume created from it is too.
VOLUME ["/etc/readiness-exporter/data"]
USER 10145:10145
EXPOSE 10145
# No curl in the slim image: ask /-/healthy with the Python that is there. It answers as long as
# the event loop runs, so a wedged exporter turns the container unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:10145/-/healthy', timeout=4).status != 200)"]
# SIGTERM stops it cleanly (engine first, then the HTTP server); SIGHUP reloads the config.
# Exec form: the exporter is PID 1 and gets both signals itself, with no shell in between.
STOPSIGNAL SIGTERM
ENTRYPOINT ["readiness-exporter"]
CMD ["--config.file=/etc/readiness-exporter/config.yaml"]

# syntax=docker/dockerfile:1
#
# transfer-operator image: builder -> scanner -> runtime.
#
#   docker build -t transfer-operator:dev .                           # with the scan (needs network)
#   docker build -t transfer-operator:dev --build-arg SKIP_SCAN=true .   # without it
#
# Base images are pinned by tag. Pin them by digest too where you build for production
# (`python:3.11-slim@sha256:...`, from `docker buildx imagetools inspect python:3.11-slim`):
# the digest could not be looked up where this file was written (no image registry there).
# BuildKit is required (the default builder since Docker 23) for the RUN --mount lines.

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------- builder
# Builds the project's wheel and a wheel of every dependency into /wheels.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN pip wheel --wheel-dir /wheels .

# --------------------------------------------------------------------------- scanner
# An SBOM (CycloneDX JSON) of exactly what the runtime installs, and a vulnerability scan
# of it (pip-audit, PyPI advisory data): a known vulnerability fails the build. Both need
# network; `--build-arg SKIP_SCAN=true` skips them (offline builds), leaving a note instead.
# Accept a reviewed advisory with e.g. `--build-arg PIP_AUDIT_ARGS="--ignore-vuln GHSA-..."`.
FROM ${PYTHON_IMAGE} AS scanner
ARG SKIP_SCAN=false
ARG PIP_AUDIT_ARGS=""
ARG PIP_AUDIT_VERSION=2.10.1
ARG CYCLONEDX_BOM_VERSION=7.5.0
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# pip-audit --strict: a package the advisory service cannot be asked about fails the build
# instead of passing unaudited. Audited: every installed distribution except the project
# itself (not on PyPI) and pip/setuptools (removed from the runtime image).
# SC2086 is ignored on purpose: PIP_AUDIT_ARGS is a list of flags and must be word-split.
# hadolint ignore=SC2086
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    set -eu; \
    mkdir -p /reports; \
    if [ "${SKIP_SCAN}" = "true" ]; then \
      echo "SBOM and vulnerability scan skipped (SKIP_SCAN=true)" > /reports/SCAN-SKIPPED; \
      exit 0; \
    fi; \
    python -m venv /opt/scan; \
    /opt/scan/bin/pip install "pip-audit==${PIP_AUDIT_VERSION}" "cyclonedx-bom==${CYCLONEDX_BOM_VERSION}"; \
    python -m venv /opt/target; \
    /opt/target/bin/pip install --no-index /wheels/*.whl; \
    /opt/scan/bin/cyclonedx-py environment --output-format JSON \
      --output-file /reports/sbom.cdx.json /opt/target/bin/python; \
    /opt/target/bin/pip list --format=freeze \
      --exclude transfer-operator --exclude pip --exclude setuptools > /reports/requirements.txt; \
    audit="/opt/scan/bin/pip-audit --progress-spinner off --strict --no-deps --disable-pip"; \
    if ! $audit -r /reports/requirements.txt --format json --output /reports/pip-audit.json ${PIP_AUDIT_ARGS}; then \
      echo "pip-audit: known vulnerabilities, or packages it could not audit:" >&2; \
      $audit -r /reports/requirements.txt ${PIP_AUDIT_ARGS} >&2 || true; \
      exit 1; \
    fi

# --------------------------------------------------------------------------- runtime
# python:3.11-slim has no compilers; only the wheels from the builder are installed, and
# pip/setuptools/wheel are removed afterwards. Runs as UID/GID 1001.
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="transfer-operator" \
      org.opencontainers.image.description="Kubernetes operator (kopf) that moves files and objects between storage locations" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 1001 transfer \
    && useradd --system --uid 1001 --gid 1001 --no-create-home \
         --home-dir /nonexistent --shell /usr/sbin/nologin transfer
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index /wheels/*.whl \
    && pip uninstall --yes pip setuptools wheel
# The SBOM and scan report ship in the image (and this COPY makes the scanner stage part of
# every build of this target).
COPY --from=scanner /reports/ /usr/share/doc/transfer-operator/
USER 1001:1001
WORKDIR /tmp
# 8080: liveness (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
# Kubernetes ignores HEALTHCHECK (the chart's liveness/readiness probes hit /healthz); for
# plain `docker run` the same endpoint is available on 8080. No curl in the image, so none here.
HEALTHCHECK NONE
ENTRYPOINT ["transfer-operator", "run"]

# TwinBridge gateway image: `twinbridge serve` on 0.0.0.0:8000 as a non-root user.
#
#   docker build -t twinbridge .
#   docker run -p 8000:8000 -v $PWD/gateway.yaml:/etc/twinbridge/gateway.yaml:ro \
#     -e STA_API_KEY=… -e CURSOR_SECRET=… twinbridge
#
# The configuration is mounted at /etc/twinbridge/gateway.yaml; secrets reach it only as
# environment variables (${VAR} in the YAML), never through the image. Arguments after the
# image name replace the CMD, e.g. `--config /etc/twinbridge/gateway.yaml --workers 4`.
# The HTML map's OpenLayers build (gateway/static/vendor/) is included when
# scripts/setup-web.sh --no-browser has run before the build; without it pages show no map.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY connectors ./connectors
COPY profiles ./profiles
COPY conformance ./conformance
RUN pip install --no-cache-dir --disable-pip-version-check --prefix=/install .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_CACHE_HOME=/tmp/cache
COPY --from=build /install /usr/local
RUN groupadd --system --gid 10001 twinbridge \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin twinbridge \
    && mkdir -p /etc/twinbridge
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["twinbridge", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--config", "/etc/twinbridge/gateway.yaml"]

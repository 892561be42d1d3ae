# pyhost's container image for those who have Docker Hub's base images: the same image as
# `make image` (scripts/image.sh, which builds it from Debian's archive with mmdebstrap and
# umoci, no registry, and is what the tests run): the same user (pyhost, 10001), paths
# (/usr/local/bin/pyhost, /srv/app), health check, stop signal, ports and default command.
# It is not built by pyhost's own machines (they cannot reach a registry).
#
#   docker build -t pyhost .
#   docker run --rm -p 8000:8000 pyhost                       # serves /srv/app/app.py (hello)
#   docker run --rm -p 8000:8000 -v "$PWD/app:/srv/app:ro" pyhost
#
# The version and Python labels are build arguments here (make image reads them from the
# binary): docker build --build-arg PYHOST_VERSION=$(bin/pyhost version | sed -n 's/^pyhost //p') .
FROM golang:1.26-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules in their own layer: a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Debian 12's python3 (3.11), its static libpython linked in (scripts/with-python.sh).
RUN scripts/with-python.sh "" go build -trimpath -o /out/pyhost . && /out/pyhost version

FROM debian:bookworm-slim
# What the binary needs besides libc: Python's standard library (libpython3.11 too, for a
# LIBPYTHON=shared build), zlib, expat, CA certificates. No apt lists, no docs.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends libpython3.11-stdlib ca-certificates zlib1g libexpat1 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
    && groupadd --gid 10001 pyhost \
    && useradd --uid 10001 --gid 10001 --home-dir /srv/app --no-create-home --shell /usr/sbin/nologin pyhost
COPY --from=build /out/pyhost /usr/local/bin/pyhost
COPY deploy/image/pyhost-healthcheck /usr/local/bin/pyhost-healthcheck
COPY testdata/hello.py /srv/app/app.py
ARG PYHOST_VERSION=0.1.0-dev
ARG PYTHON_VERSION=3.11
LABEL org.opencontainers.image.title=pyhost \
      org.opencontainers.image.version=$PYHOST_VERSION \
      org.opencontainers.image.base.name=debian:bookworm \
      io.github.pyhost.python.version=$PYTHON_VERSION \
      io.github.pyhost.python.build="with the GIL" \
      io.github.pyhost.python.libpython=static \
      io.github.pyhost.healthcheck=/usr/local/bin/pyhost-healthcheck
ENV LANG=C.UTF-8 PYHOST_METRICS_LISTEN=0.0.0.0:9100
EXPOSE 8000 9100
# pyhost refuses to run apps as root (without --allow-root): a numeric non-root user, so that
# Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /srv/app
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/pyhost-healthcheck"]
ENTRYPOINT ["/usr/local/bin/pyhost"]
CMD ["serve", "/srv/app/app.py", "--listen", "0.0.0.0:8000"]

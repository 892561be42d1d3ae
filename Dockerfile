# pyhost in a container: build against Debian 12's python3 (3.11), with its static libpython
# linked in (scripts/with-python.sh), and ship the binary with Python's standard library beside
# it (libpython3.11 too, which a LIBPYTHON=shared build needs).
#
#   docker build -t pyhost .
#   docker run --rm -p 8000:8000 -v "$PWD/app:/app" pyhost serve /app/app.py --listen 0.0.0.0:8000
FROM golang:1.26-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod ./
COPY . .
RUN scripts/with-python.sh "" go build -trimpath -o /out/pyhost .

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libpython3.11 python3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/pyhost /usr/local/bin/pyhost
COPY testdata/hello.py /srv/hello.py
EXPOSE 8000
# pyhost refuses to run apps as root (without --allow-root): run as an unprivileged user.
USER nobody
ENTRYPOINT ["/usr/local/bin/pyhost"]
CMD ["serve", "/srv/hello.py", "--listen", "0.0.0.0:8000"]
